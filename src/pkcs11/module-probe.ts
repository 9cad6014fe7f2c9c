import { spawn } from 'node:child_process';
import { setupError, ExitCode, HsmBenchError } from '../core/errors.js';
import { durationMs, parseDurationNs } from '../core/duration.js';
import { packageFile } from '../core/version.js';
import { nativeProgram } from '../core/native-addon.js';
import type { ModuleInstances } from '../model/run-result.js';
import { shown } from '../core/quote.js';

/** How long a module may take to load and initialize (here) or to finalize (at the end of a command). */
export const MODULE_TIMEOUT_ENV = 'HSM_BENCH_MODULE_TIMEOUT';
export const DEFAULT_MODULE_TIMEOUT_MS = 30_000;

export const moduleTimeoutMs = (): number => {
  const value = process.env[MODULE_TIMEOUT_ENV];
  return value ? durationMs(parseDurationNs(value, MODULE_TIMEOUT_ENV, 100)) : DEFAULT_MODULE_TIMEOUT_MS;
};

/** What the probe found: how the module hands out instances, or null when it refused a call (loading it in-process names the refusal as usual). */
export interface ProbeResult {
  instances: ModuleInstances | null;
  /** What the probe cost, start to end of its process. */
  durationMs: number;
  /** 'native' (build/Release/module_probe) or 'node' (pkcs11js in a Node process, where the native probe was not built, or is stale). */
  probe: 'native' | 'node';
}

let nativeProbe: string | null | undefined;

const HINT = 'the module is faulty or its configuration is wrong: try it with its vendor tool (e.g. pkcs11-tool --module MODULE -L), and report it to the vendor';

/** The steps as a person reads them: "(a second load)" is the one that tells shared from per-load instances. */
const stepName = (step: string) =>
  step === 'dlopen' ? 'loading the library (dlopen)' : step.replace(' (a second load)', ' (called again on a second load, to learn whether loads share one instance)');

/** How the probe's process ended: its output, and how it ended (or why it could not run, or that it was cut). */
interface ProbeEnd {
  stdout: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: NodeJS.ErrnoException;
  timedOut: boolean;
  /** A stop signal this process received while the probe ran: the probe was killed, the command ends. */
  stoppedBy?: NodeJS.Signals;
}

/**
 * Runs the probe without blocking the event loop: a Ctrl-C or SIGTERM while a module hangs in C_Initialize is
 * honoured at once (the probe killed), instead of after the module timeout.
 */
function runProbe(command: string, args: string[], timeoutMs: number): Promise<ProbeEnd> {
  return new Promise((resolve) => {
    let stdout = '';
    let timedOut = false;
    let stoppedBy: NodeJS.Signals | undefined;
    // The module's own chatter on stderr is dropped: it shows again when the module is loaded in-process.
    const probe = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    probe.stdout.setEncoding('utf8');
    probe.stdout.on('data', (d: string) => {
      if (stdout.length < 1 << 20) stdout += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      probe.kill('SIGKILL');
    }, timeoutMs);
    const onStop = (signal: NodeJS.Signals) => {
      stoppedBy ??= signal;
      probe.kill('SIGKILL');
    };
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
    let error: NodeJS.ErrnoException | undefined;
    probe.on('error', (e) => (error = e));
    probe.on('close', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', onStop);
      process.off('SIGTERM', onStop);
      resolve({ stdout, code, signal, error, timedOut, stoppedBy });
    });
  });
}

/**
 * Loads and initializes the module in a short-lived process of its own before hsm-bench trusts it in-process: a
 * module that crashes (a NULL function list, a segfault in C_Initialize) or hangs there is a set-up error (exit 3)
 * naming what it did, not a dead or stuck hsm-bench. The native probe costs a few ms besides the module's own
 * initialization; the Node fallback about 0.1 s more, and it cannot tell a NULL function list from a crash in the
 * C_Initialize that follows (pkcs11js calls through the list without checking it). A stop signal meanwhile (to
 * this process, or to the probe's: a Ctrl-C reaches the whole process group) is an interruption, exit 130.
 */
export async function probeModule(path: string): Promise<ProbeResult> {
  const timeoutMs = moduleTimeoutMs();
  if (nativeProbe === undefined) nativeProbe = nativeProgram('module_probe').part;
  const probe = nativeProbe !== null ? 'native' : 'node';
  const [command, args] = nativeProbe !== null ? [nativeProbe, [path]] : [process.execPath, [packageFile('dist/src/pkcs11/module-probe-child.js'), path]];
  const startedNs = process.hrtime.bigint();
  const r = await runProbe(command, args, timeoutMs);
  const spentMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  const step =
    lines
      .filter((l) => l.startsWith('step '))
      .at(-1)
      ?.slice('step '.length) ?? 'dlopen';
  const [verdict, ...rest] = (lines.at(-1) ?? '').split(' ');
  const module = `PKCS#11 module ${shown(path)}`;
  // The user's own stop, not the module's doing: SIGINT or SIGTERM here, or on the probe alone.
  const stoppedBy = r.stoppedBy ?? (r.signal === 'SIGINT' || r.signal === 'SIGTERM' ? r.signal : undefined);
  if (stoppedBy !== undefined) {
    throw new HsmBenchError(`interrupted (${stoppedBy}) while ${module} was probed, in ${stepName(step)}; nothing was measured`, ExitCode.interrupted);
  }
  // The last line is the probe's verdict once every step returned; a process that ends without one died in its last step.
  if (verdict === 'nolist') throw setupError(`${module}: C_GetFunctionList returned no function list (CKR_OK and a NULL pointer)`, HINT);
  if (verdict === 'missing') throw setupError(`${module}: its function list has no ${rest[0]}`, HINT);
  if (verdict === 'ok') return { instances: rest[0] === 'per-load' ? 'per-load' : 'shared', durationMs: spentMs, probe };
  if (verdict === 'declined') return { instances: null, durationMs: spentMs, probe };
  if (r.timedOut) {
    throw setupError(
      `${module} did not return from ${stepName(step)} within ${Math.round(timeoutMs / 100) / 10} s`,
      `${HINT}; a module that needs longer may be given it with ${MODULE_TIMEOUT_ENV} (e.g. 2m)`,
    );
  }
  if (r.error) throw setupError(`cannot probe ${module}: ${r.error.code ?? r.error.message}`, 'check that hsm-bench is installed whole (npm ci)', r.error);
  if (r.signal) {
    const ambiguous = probe === 'node' && step === 'C_Initialize' ? ' (or C_GetFunctionList returned no function list: the native probe, npm run build:native, tells the two apart)' : '';
    throw setupError(`${module} crashed with ${r.signal} in ${stepName(step)}${ambiguous}`, HINT);
  }
  throw setupError(`${module} ended the process (exit ${r.code}) in ${stepName(step)}`, HINT);
}
