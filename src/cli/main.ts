import { Command, CommanderError } from 'commander';
import { ExitCode, HsmBenchError, RunOutcomeExit } from '../errors.js';
import { ckrName, moduleFailure } from '../pkcs11/ckr.js';
import { redactSecrets } from '../secrets/redact.js';
import { TOOL_VERSION } from '../version.js';
import { burnInCommand } from './burn-in.js';
import { compareCommand } from './compare.js';
import { keysCommand } from './keys.js';
import { listCommand } from './list.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { scaleCommand } from './scale.js';
import { trendCommand } from './trend.js';
import { writeErrorJunit } from './error-junit.js';
import { endCommand, installSupervisedSide } from './supervised.js';

/**
 * Option values that commander quotes back in its messages ("unknown option '--pin=…'") are cut off: whatever
 * a user typed after '=' may be a PIN or a passphrase, and error messages end up in CI logs.
 */
const redactOptionValues = (text: string) => text.replace(/(--?[\w-]+)=[^'"\s]*/g, '$1=…');

/**
 * The last guard on what a user typed coming back in a message: a quoted value that assigns a PIN, a password
 * or a secret (pin-value=…, password:…) is hidden, and a long one is cut, so that a secret pasted into the wrong
 * flag does not reach a CI log. Token labels such as 'Pico-HSM (UserPIN)' assign nothing and stay.
 */
const redactQuoted = (text: string) =>
  text.replace(/'([^'\n]*)'/g, (quoted, inner: string) => (/(pin|pass|secret)[\w-]*\s*[=:]/i.test(inner) ? "'(hidden)'" : inner.length > 60 ? `'${inner.slice(0, 40)}…'` : quoted));

const PASSPHRASE_HINT = 'hint: a passphrase is never a command-line argument: set HSM_BENCH_KEK_PASSPHRASE, or use --passphrase-env VAR or --passphrase-file FILE\n';
const PIN_HINT = 'hint: a PIN is never a command-line argument: set HSM_BENCH_PIN, or use --pin-env VAR or --pin-file FILE\n';

const program = new Command('hsm-bench')
  .description('Benchmark and burn-in harness for PKCS#11 tokens and HSM clusters')
  .version(TOOL_VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(scaleCommand())
  .addCommand(burnInCommand())
  .addCommand(listCommand())
  .addCommand(keysCommand())
  .addCommand(reportCommand())
  .addCommand(compareCommand())
  .addCommand(trendCommand())
  .addCommand(runCommand());
// Every (sub)command turns its parse errors into a CommanderError that fail() maps to exit 2, and writes its
// messages through the redaction.
const configureAll = (c: Command): void => {
  c.exitOverride().configureOutput({ writeErr: (text) => process.stderr.write(redactSecrets(redactQuoted(redactOptionValues(text)))) });
  c.commands.forEach(configureAll);
};
configureAll(program);

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
    const text = redactSecrets(redactQuoted(`hsm-bench: error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`));
    process.stderr.write(text);
    if (error.exitCode === ExitCode.usage || error.exitCode === ExitCode.setup) writeErrorJunit(text.trim());
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
    process.stderr.write(redactSecrets(`hsm-bench: error: ${io.syscall} ${io.path ?? ''}: ${io.code}\nhint: check the path, its permissions and the free space\n`));
    return ExitCode.setup;
  }
  process.stderr.write(redactSecrets(`hsm-bench: internal error: ${(error as Error)?.message ?? String(error)}\n`));
  process.stderr.write(process.env.HSM_BENCH_DEBUG ? redactSecrets(`${(error as Error)?.stack}\n`) : 'hint: this is a bug; run again with HSM_BENCH_DEBUG=1 and report the output\n');
  return ExitCode.internal;
}

// Results go to stdout: if it cannot be written (a closed pipe, a full disk), say so on stderr instead of a trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  process.stderr.write(`hsm-bench: error: cannot write the results to standard output: ${error.code ?? error.message}\n`);
  process.exit(ExitCode.setup);
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
