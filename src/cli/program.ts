import { Command } from 'commander';
import { TOOL_VERSION } from '../core/version.js';
import { burnInCommand } from './burn-in.js';
import { compareCommand } from './compare.js';
import { keysCommand } from './keys.js';
import { listCommand } from './list.js';
import { mergeCommand } from './merge.js';
import { recordsCommand } from './records.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { scaleCommand } from './scale.js';
import { trendCommand } from './trend.js';

/** Every command and flag, defined once: the CLI parses with it, docs/reference/flags.md is generated from it. */
export function hsmBenchProgram(): Command {
  const program = new Command('hsm-bench')
    .description('Benchmark and burn-in harness for PKCS#11 tokens and HSM clusters')
    .version(TOOL_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .addCommand(scaleCommand())
    .addCommand(burnInCommand())
    .addCommand(listCommand())
    .addCommand(keysCommand())
    .addCommand(reportCommand())
    .addCommand(recordsCommand())
    .addCommand(compareCommand())
    .addCommand(mergeCommand())
    .addCommand(trendCommand())
    .addCommand(runCommand());
  // Commands added whole do not inherit it: a mistyped flag of any command says where its flags are listed.
  const helpAfterError = (command: Command, path: string) => {
    for (const sub of command.commands) {
      const named = `${path} ${sub.name()}`;
      sub.showHelpAfterError(`(run '${named} --help' for its options)`);
      helpAfterError(sub, named);
    }
  };
  helpAfterError(program, 'hsm-bench');
  return program;
}
