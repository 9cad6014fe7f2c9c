import { Command, CommanderError } from 'commander';
import { ExitCode, HsmBenchError } from '../errors.js';
import { TOOL_VERSION } from '../version.js';
import { burnInCommand } from './burn-in.js';
import { compareCommand } from './compare.js';
import { keysCommand } from './keys.js';
import { listCommand } from './list.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { scaleCommand } from './scale.js';

const program = new Command('hsm-bench')
  .description('Benchmark and burn-in harness for PKCS#11 tokens and HSM clusters')
  .version(TOOL_VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .addCommand(scaleCommand())
  .addCommand(burnInCommand())
  .addCommand(listCommand())
  .addCommand(keysCommand())
  .addCommand(reportCommand())
  .addCommand(compareCommand())
  .addCommand(runCommand());
// Every (sub)command turns its parse errors into a CommanderError that fail() maps to exit 2.
const exitOverrideAll = (c: Command): void => c.commands.forEach((sub) => exitOverrideAll(sub.exitOverride()));
exitOverrideAll(program);

/** The one place where errors become exit codes and messages; a stack trace only with HSM_BENCH_DEBUG=1. */
function fail(error: unknown): never {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') process.exit(ExitCode.ok);
    if (/'--(so-)?pin'/.test(error.message)) process.stderr.write('hint: a PIN is never a command-line argument: set HSM_BENCH_PIN, or use --pin-env or --pin-file\n');
    process.exit(ExitCode.usage);
  }
  if (error instanceof HsmBenchError) {
    process.stderr.write(`hsm-bench: error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
    process.exit(error.exitCode);
  }
  process.stderr.write(`hsm-bench: internal error: ${(error as Error)?.message ?? String(error)}\n`);
  process.stderr.write(process.env.HSM_BENCH_DEBUG ? `${(error as Error)?.stack}\n` : 'hint: this is a bug; run again with HSM_BENCH_DEBUG=1 and report the output\n');
  process.exit(ExitCode.internal);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  fail(error);
}
