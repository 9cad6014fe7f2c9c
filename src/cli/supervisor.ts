import { spawn, type ChildProcess } from 'node:child_process';
import { ExitCode, HsmBenchError } from '../core/errors.js';
import { DEFAULT_MODULE_TIMEOUT_MS, moduleTimeoutMs } from '../pkcs11/module-probe.js';
import { lockDirectory } from '../core/directory-lock.js';
import type { MadeAtDeath } from '../result/checkpoint.js';
import type { BurnInRestart, ProcessDeath } from '../model/run-result.js';
import { promptMasked } from '../secrets/pin.js';
import { addSecret, shown } from '../core/quote.js';

/** Set by the supervisor (below) in the environment of the process it runs the command in. */
export const SUPERVISED_ENV = 'HSM_BENCH_SUPERVISED';
/** Set by the supervisor when it restarts a burn-in whose process died: the run directory to continue. */
export const RESTART_RESUME_ENV = 'HSM_BENCH_RESTART_RESUME';

/** What the command's process tells its supervisor. */
export type ChildMessage =
  /**
   * The run directory, once it is created and locked (a burn-in: with how often the supervisor may restart it; a
   * scale run: the name of its JUnit suite, which the supervisor writes from the run directory if the process dies).
   */
  | { type: 'run-dir'; dir: string; maxRestarts?: number; suite?: string }
  /** A masked prompt: the supervisor asks it (once: a restarted burn-in gets the same answer) and answers 'secret'. */
  | { type: 'prompt'; question: string }
  /**
   * A burn-in's calls made so far (those of earlier processes included) and where on its time axis it is, told ten
   * times a second while it signs (`signing`) and once when signing has ended: what a death cut from the records
   * that were not yet written.
   */
  | { type: 'calls-made'; calls: number; signingS: number; signing: boolean }
  /** A stop signal reached this process (the supervisor passes on only those that did not). */
  | { type: 'signal' }
  /**
   * A module is finalized next: if it crashes or hangs there, the command ends with this exit code. `atEnd`: the
   * command's last step, everything written; otherwise the command cannot go on.
   */
  | { type: 'finalizing'; exitCode: number; atEnd: boolean }
  /** The module finalized returned (a finalize before the command's end, after which the command goes on). */
  | { type: 'finalized' };

/** What the supervisor answers. */
/** A prompt's answer, or why there is none and the exit code it ends the command with (Ctrl-C at the prompt: 130). */
export type SupervisorMessage = { type: 'secret'; value?: string; error?: string; exitCode?: number };

/** Exit codes a command ends with on its own (its outcome): never a reason to restart it. */
const OUTCOMES: ReadonlySet<number> = new Set([ExitCode.ok, ExitCode.usage, ExitCode.setup, ExitCode.operationsFailed, ExitCode.thresholdFailed, ExitCode.interrupted]);
export const DEFAULT_MAX_RESTARTS = 10;
/** A restart waits 1 s, doubled after each one that made no progress (no new records), up to a minute. */
const BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60_000;
/** How long a stop signal may take to reach the command's process from the terminal before it is passed on. */
const SIGNAL_GRACE_MS = 500;
/**
 * How long the command's process may take to end once a stop signal was passed on and it did not say it received
 * it (its main thread held by a call that never returns), or once it was sent a third one: then it is killed.
 */
export const STOP_KILL_MS = 10_000;

/**
 * Commands that load a module the user gave (or, for a burn-in, any module) run in a process of their own under
 * this one: a module that crashes or hangs there costs that process, never the exit code, the files or (for a
 * burn-in) the night. The lab command always: its lab file may name modules.
 */
export function needsSupervisor(args: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (env[SUPERVISED_ENV] === '1') return false;
  const command = args.find((a) => !a.startsWith('-'));
  if (command === 'burn-in' || command === 'run') return true;
  const userModule = args.some((a) => a === '--module' || a.startsWith('--module=')) || Boolean(env.HSM_BENCH_MODULE);
  return userModule && (command === 'scale' || command === 'list' || command === 'keys');
}

const say = (line: string) => process.stderr.write(`hsm-bench: ${line}\n`);

function restoreTerminal(): void {
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  if (process.stderr.isTTY) process.stderr.write('\u001b[?25h');
}

/** The module timeout as the command has it; a value it refuses (and says so) leaves the default here. */
function finalizeTimeoutMs(): number {
  try {
    return moduleTimeoutMs();
  } catch {
    return DEFAULT_MODULE_TIMEOUT_MS;
  }
}

/**
 * Runs `hsm-bench ARGS` in a child process and ends with its exit code. The child is in the same process group:
 * a Ctrl-C at the terminal reaches it directly, and a signal sent to this process alone is passed on (once, for
 * each one the child did not report receiving). A child that dies of anything else than its outcome — a signal,
 * an exit code that is not one of hsm-bench's — is a module that killed it: a burn-in is then continued from what
 * is on disk (its --resume), at most `maxRestarts` times with a growing wait; any other command ends with exit 3.
 * While the child finalizes a module (at the end, once its results are written), the exit code it gave is the
 * command's, whatever the module does in C_Finalize (a crash, or a hang that is cut after the module timeout).
 */
export async function supervise(script: string, args: readonly string[]): Promise<never> {
  const command = args.find((a) => !a.startsWith('-'));
  const answers = new Map<string, string>();
  const restarts: BurnInRestart[] = [];
  let runDir: string | undefined;
  let suite: string | undefined;
  let maxRestarts = DEFAULT_MAX_RESTARTS;
  let child: ChildProcess | undefined;
  /** Stop signals the child said it received (from the terminal, or passed on by this process), and those passed on. */
  let childSignals = 0;
  let forwarded = 0;
  let stopSignals = 0;
  let wake: (() => void) | undefined;
  /** The stop signal that made this process kill the child, which did not end after it (see STOP_KILL_MS). */
  let stopKilled: NodeJS.Signals | undefined;
  const alive = (c: ChildProcess | undefined): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null;
  /** The safety net: a child that answers no stop signal, or a third, within STOP_KILL_MS is killed. */
  const killIfStuck = (signal: NodeJS.Signals) =>
    setTimeout(() => {
      if (alive(child) && stopKilled === undefined && (childSignals < stopSignals || stopSignals >= 3)) {
        stopKilled = signal;
        child.kill('SIGKILL');
      }
    }, STOP_KILL_MS).unref();
  const onSignal = (signal: NodeJS.Signals) => {
    stopSignals++;
    wake?.();
    const seen = stopSignals;
    if (seen === 3) killIfStuck(signal);
    setTimeout(() => {
      // A signal passed on is reported by the child too: counted once, as the larger of the two counts.
      if (alive(child) && Math.max(childSignals, forwarded) < seen) {
        forwarded++;
        child.kill(signal);
        killIfStuck(signal);
      }
    }, SIGNAL_GRACE_MS);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let lastRecords = -1;
  let withoutProgress = 0;
  for (let resumeDir: string | undefined; ;) {
    childSignals = 0;
    forwarded = 0;
    let finalizing: { exitCode: number; atEnd: boolean } | undefined;
    let finalizeCut = false;
    let finalizeTimer: NodeJS.Timeout | undefined;
    let made: (MadeAtDeath & { atMs: number; signing: boolean }) | undefined;
    const env: NodeJS.ProcessEnv = { ...process.env, [SUPERVISED_ENV]: '1' };
    if (resumeDir !== undefined) env[RESTART_RESUME_ENV] = resumeDir;
    const running = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env });
    child = running;
    running.on('message', (m: ChildMessage) => {
      if (m?.type === 'run-dir') {
        runDir = m.dir;
        suite = m.suite;
        if (m.maxRestarts !== undefined) maxRestarts = m.maxRestarts;
      } else if (m?.type === 'calls-made') made = { calls: m.calls, signingS: m.signingS, signing: m.signing, atMs: Date.now() };
      else if (m?.type === 'signal') childSignals++;
      else if (m?.type === 'finalizing') {
        finalizing = m;
        finalizeTimer = setTimeout(() => {
          finalizeCut = true;
          running.kill('SIGKILL');
        }, finalizeTimeoutMs());
      } else if (m?.type === 'finalized') {
        finalizing = undefined;
        clearTimeout(finalizeTimer);
      } else if (m?.type === 'prompt') void answer(running, m.question, answers);
    });
    // 'close', not 'exit': it comes after the last message, so a death just after 'finalizing' is seen as one.
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => running.on('close', (c, s) => resolve([c, s])));
    clearTimeout(finalizeTimer);
    // A child that died may have left the terminal raw and the cursor hidden (the progress spinner).
    if (signal !== null) restoreTerminal();
    // Once the child said its results are written, a stop that had to kill it (in C_Finalize) costs nothing.
    if (stopKilled !== undefined && !finalizing?.atEnd) {
      return stoppedBadly(`the command did not stop within ${STOP_KILL_MS / 1000} s of ${stopKilled} (a PKCS#11 call that does not return may hold it); it was killed`, runDir, command === 'burn-in');
    }
    if (finalizing !== undefined && (finalizeCut || signal !== null)) {
      const what = finalizeCut
        ? `did not return from C_Finalize within ${finalizeTimeoutMs() / 1000} s`
        : stopKilled !== undefined
          ? `had not returned from C_Finalize ${STOP_KILL_MS / 1000} s after ${stopKilled}`
          : `crashed with ${signal} in C_Finalize`;
      if (!finalizing.atEnd) return fail(`the PKCS#11 module ${what}; the command could not go on`, 'try the module with its vendor tool and report it to its vendor');
      say(`warning: the PKCS#11 module ${what}${finalizeCut ? '; hsm-bench did not wait longer' : ''} (everything was written before)`);
      return process.exit(finalizing.exitCode);
    }
    // It ended the way every command ends (its outcome told): nothing unexpected, whatever the code.
    if (finalizing?.atEnd) return process.exit(code ?? finalizing.exitCode);
    const how = signal !== null ? `was killed by ${signal}` : `ended with exit code ${code}`;
    const diedAtMs = Date.now();
    const death = { at: new Date(diedAtMs).toISOString(), signal, exitCode: signal === null ? code : null };
    if (stopSignals > 0) {
      // Ended by the stop (its own outcome, or the signal itself before it could handle one): interrupted, as asked.
      if ((signal === null && code !== null && OUTCOMES.has(code)) || signal === 'SIGINT' || signal === 'SIGTERM') return process.exit(code ?? ExitCode.interrupted);
      // Died otherwise while it stopped (a module that crashed in the stop): recorded and said, not continued.
      const recorded = command === 'burn-in' && runDir !== undefined ? await recordDeath(runDir, death, made && { calls: made.calls, signingS: made.signingS }) : undefined;
      const onDisk = recorded !== undefined && typeof recorded !== 'string' ? ` with ${recorded.recordsOnDisk} records on disk` : '';
      return stoppedBadly(`the process running the command ${how}${signal !== null ? ' (a PKCS#11 module crashed it)' : ''} while it stopped${onDisk}`, runDir, command === 'burn-in');
    }
    if (signal === null && code !== null && OUTCOMES.has(code)) return process.exit(code);
    if (command !== 'burn-in' || runDir === undefined) {
      return fail(
        `the process running the command ${how}${signal !== null ? ': the PKCS#11 module crashed it' : ''}${runDir === undefined ? '' : `; what was measured before is in ${shown(runDir)} (hsm-bench report ${shown(runDir)})`}`,
        'try the module with its vendor tool (e.g. pkcs11-tool --module MODULE -L) and report the crash to its vendor',
        runDir !== undefined && suite !== undefined ? { run: { dir: runDir, suite }, death } : undefined,
      );
    }
    // The tokens signed on from the last word of the process until its death, if it was signing then.
    const madeAtDeath = made && { calls: made.calls, signingS: made.signingS + (made.signing ? (diedAtMs - made.atMs) / 1000 : 0) };
    const restart = await recordDeath(runDir, death, madeAtDeath);
    if (typeof restart === 'string') return fail(`the burn-in's process ${how} and cannot be continued: ${restart}`, `hsm-bench report ${shown(runDir!)} reports what is on disk`);
    restarts.push(restart);
    if (restarts.length > maxRestarts) {
      return fail(
        `the burn-in's process ${how} with ${restart.recordsOnDisk} records on disk, ${restarts.length} times; not restarting it again (--max-restarts ${maxRestarts})`,
        `the records are in ${shown(runDir!)}: hsm-bench report ${shown(runDir!)} reports them, hsm-bench burn-in --resume ${shown(runDir!)} continues`,
      );
    }
    withoutProgress = restart.recordsOnDisk > lastRecords ? 0 : withoutProgress + 1;
    lastRecords = restart.recordsOnDisk;
    const waitMs = Math.min(MAX_BACKOFF_MS, BACKOFF_MS * 2 ** withoutProgress);
    say(
      `the burn-in's process ${how}${signal !== null ? ' (a PKCS#11 module crashed it)' : ''} with ${restart.recordsOnDisk} records on disk; continuing from disk in ${waitMs / 1000} s (restart ${restarts.length} of at most ${maxRestarts})`,
    );
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, waitMs);
    });
    wake = undefined;
    // The death is in the checkpoint and run.json already (recordDeath above): the run is left to be resumed.
    if (stopSignals > 0) return stoppedBadly(`stopped while waiting to continue the burn-in, whose process ${how} with ${restart.recordsOnDisk} records on disk`, runDir, true);
    resumeDir = runDir;
  }
}

/** Asks a prompt of the child once; a restarted burn-in gets the answer given before (kept in memory only). */
async function answer(child: ChildProcess, question: string, answers: Map<string, string>): Promise<void> {
  let reply: SupervisorMessage;
  try {
    if (!answers.has(question)) {
      const typed = await promptMasked(question);
      // Known to this process's messages too: none of them may quote it.
      addSecret(typed);
      answers.set(question, typed);
    }
    reply = { type: 'secret', value: answers.get(question)! };
  } catch (error) {
    reply = { type: 'secret', error: (error as Error).message, exitCode: error instanceof HsmBenchError ? error.exitCode : undefined };
  }
  if (child.connected) child.send(reply);
}

/**
 * Takes the dead process's run directory (its lock is stale now; the next child takes it as its parent's), counts
 * the records on disk and adds the death to the checkpoint and run.json. When that cannot be done, why (the run
 * is then left as it is, resumable by hand).
 */
async function recordDeath(runDir: string, death: ProcessDeath, made: MadeAtDeath | undefined): Promise<BurnInRestart | string> {
  const { appendRestart } = await import('../result/checkpoint.js');
  try {
    lockDirectory(runDir, 'the burn-in', 'it is being resumed by another hsm-bench');
    return appendRestart(runDir, death, made);
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * A stop that did not end the way a command ends (its process killed, or died while it stopped, or stopped between
 * a death and a restart): said, in the JUnit file if one was asked for, with the way on, and exit 130.
 */
async function stoppedBadly(what: string, runDir: string | undefined, burnIn: boolean): Promise<never> {
  const where = runDir === undefined ? '' : `; run.json and the records in ${shown(runDir)} are as last written`;
  const hint =
    runDir === undefined ? 'run the command again' : `hsm-bench report ${shown(runDir)} reports what is on disk${burnIn ? `; hsm-bench burn-in --resume ${shown(runDir)} continues it` : ''}`;
  const text = `hsm-bench: interrupted: ${what}${where}\nhint: ${hint}\n`;
  process.stderr.write(text);
  const { writeErrorJunit } = await import('./error-junit.js');
  writeErrorJunit(text.trim());
  return process.exit(ExitCode.interrupted);
}

/**
 * The supervisor's own error: on stderr, in the JUnit file if one was asked for, and exit 3 (a module's doing). A run
 * whose process died (`crashed`) leaves the JUnit of its plan, measured or not, rather than the error alone.
 */
async function fail(message: string, hint: string, crashed?: { run: { dir: string; suite: string }; death: ProcessDeath }): Promise<never> {
  const text = `hsm-bench: error: ${message}\nhint: ${hint}\n`;
  process.stderr.write(text);
  const { writeCrashedRunJunit, writeErrorJunit } = await import('./error-junit.js');
  if (crashed) await writeCrashedRunJunit(crashed.run, crashed.death, text.trim());
  else writeErrorJunit(text.trim());
  return process.exit(ExitCode.setup);
}
