import { Argument, Command, CommanderError, Option } from 'commander';
import { errorText, ExitCode, HsmBenchError, RunOutcomeExit } from '../core/errors.js';
import { ckrName, moduleFailure } from '../model/ckr.js';
import { isSecret, quote, shown } from '../core/quote.js';
import { registerKnownSecrets } from '../secrets/known-secrets.js';
import { leaveProcess } from '../measure/threads-left.js';
import { hsmBenchProgram } from './program.js';
import { writeErrorJunit } from './error-junit.js';
import { endCommand, installSupervisedSide } from './supervised.js';

const PASSPHRASE_HINT = 'hint: a passphrase is never a command-line argument: set HSM_BENCH_KEK_PASSPHRASE, or use --passphrase-env VAR or --passphrase-file FILE\n';
const PIN_HINT = 'hint: a PIN is never a command-line argument: set HSM_BENCH_PIN, or use --pin-env VAR or --pin-file FILE\n';

const program = hsmBenchProgram();
/** Commander's own parts that quote what the user typed, as this version (14) has them. */
interface CommanderQuoting {
  args: string[];
  unknownOption(flag: string): void;
  unknownCommand(): void;
  _callParseArg(target: Option | Argument, value: string, previous: unknown, invalidArgumentMessage: string): unknown;
}

/**
 * Commander quotes what the user typed in three messages (an unknown option, an unknown command, an invalid
 * value): each goes through quote() here, which never shows a secret, and an option's value after '=' is never
 * quoted at all (`--pin=…` is the usual way a PIN reaches a command line).
 */
function quoteThroughOurs(c: Command): void {
  const own = c as unknown as CommanderQuoting;
  const unknownOption = own.unknownOption.bind(c);
  own.unknownOption = (flag) => unknownOption(shown(flag.split('=')[0]!));
  const unknownCommand = own.unknownCommand.bind(c);
  own.unknownCommand = () => {
    own.args = [shown(own.args[0] ?? ''), ...own.args.slice(1)];
    unknownCommand();
  };
  const callParseArg = own._callParseArg.bind(c);
  own._callParseArg = (target, value, previous, message) =>
    callParseArg(
      target,
      value,
      previous,
      target instanceof Option
        ? message.startsWith(`error: option '${target.flags}' value`)
          ? `error: option '${target.flags}' value ${quote(value)} from env '${target.envVar}' is invalid.`
          : `error: option '${target.flags}' argument ${quote(value)} is invalid.`
        : `error: command-argument value ${quote(value)} is invalid for argument '${target.name()}'.`,
    );
}

// Every (sub)command turns its parse errors into a CommanderError that fail() maps to exit 2.
const configureAll = (c: Command): void => {
  c.exitOverride();
  quoteThroughOurs(c);
  c.commands.forEach(configureAll);
};
configureAll(program);
registerKnownSecrets(process.argv);

/** The one place where errors become exit codes and messages; a stack trace only with HSM_BENCH_DEBUG=1. */
function fail(error: unknown): ExitCode {
  if (error instanceof RunOutcomeExit) return error.exitCode;
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.ok;
    if (/'--(so-)?pin\b|'--password\b/.test(error.message)) process.stderr.write(PIN_HINT);
    if (/'--passphrase\b/.test(error.message)) process.stderr.write(PASSPHRASE_HINT);
    return ExitCode.usage;
  }
  if (error instanceof HsmBenchError) {
    const text = errorText(error);
    process.stderr.write(text);
    if (error.exitCode === ExitCode.usage || error.exitCode === ExitCode.setup || error.exitCode === ExitCode.interrupted) writeErrorJunit(text.trim());
    return error.exitCode;
  }
  const refused = moduleFailure(error);
  if (refused) {
    // A module's refusal (a mechanism, an attribute, a key size it does not do) is about the token, not a bug.
    process.stderr.write(`hsm-bench: error: the PKCS#11 module refused ${refused.method}: ${ckrName(refused.code)}\n`);
    process.stderr.write("hint: the token does not do what was asked; 'hsm-bench list --mechanisms --keys' shows what it offers\n");
    return ExitCode.setup;
  }
  const io = error as NodeJS.ErrnoException;
  if (typeof io?.code === 'string' && typeof io.syscall === 'string') {
    // A file the user named or a folder hsm-bench writes to: their disk, permissions or path, not a bug.
    process.stderr.write(`hsm-bench: error: ${io.syscall} ${shown(io.path ?? '')}: ${io.code}\nhint: check the path, its permissions and the free space\n`);
    return ExitCode.setup;
  }
  process.stderr.write(`hsm-bench: internal error: ${withoutSecrets((error as Error)?.message ?? String(error))}\n`);
  process.stderr.write(process.env.HSM_BENCH_DEBUG ? `${withoutSecrets(String((error as Error)?.stack))}\n` : 'hint: this is a bug; run again with HSM_BENCH_DEBUG=1 and report the output\n');
  return ExitCode.internal;
}

/**
 * An internal error's message was not written for the user, and may quote anything it met: it is printed only if
 * none of its words is a secret, whole; nothing in it is rewritten.
 */
const withoutSecrets = (text: string) => (text.split(/[\s'"`,:;()[\]{}=]+/).some(isSecret) ? '(not shown: it quotes a secret)' : text);

// Results go to stdout: if it cannot be written (a closed pipe, a full disk), say so on stderr instead of a trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  process.stderr.write(`hsm-bench: error: cannot write the results to standard output: ${error.code ?? error.message}\n`);
  leaveProcess(ExitCode.setup);
});

// Progress and log lines go to stderr; a reader that goes away (`2>&1 | head -1`) must not stop the run or its
// reports: what cannot be shown is dropped.
process.stderr.on('error', () => {});

installSupervisedSide();
let exitCode: ExitCode = ExitCode.ok;
try {
  await program.parseAsync(process.argv);
} catch (error) {
  exitCode = fail(error);
}
// Results, reports, tables and messages are out: only now are the modules finalized.
await endCommand(exitCode);
