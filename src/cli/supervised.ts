import { ExitCode, HsmBenchError } from '../core/errors.js';
import { leaveProcess, threadsLeftInModule } from '../measure/threads-left.js';
import { finalizeOpenModules, type Pkcs11Module } from '../pkcs11/module.js';
import { usePrompt } from '../secrets/pin.js';
import { RESTART_RESUME_ENV, SUPERVISED_ENV, type ChildMessage, type SupervisorMessage } from './supervisor.js';

export const isSupervised = (): boolean => process.env[SUPERVISED_ENV] === '1' && typeof process.send === 'function';

/** The run directory a restarted burn-in continues, as its supervisor set it. */
export const restartResumeDir = (): string | undefined => (isSupervised() ? process.env[RESTART_RESUME_ENV] : undefined);

/** Sends a message and waits until it has left: one sent just before a crash in the module must still arrive. */
export function tellSupervisor(message: ChildMessage): Promise<void> {
  if (!isSupervised() || !process.connected) return Promise.resolve();
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

/** A masked prompt asked by the supervisor on its terminal, so that a restarted burn-in does not ask again. */
function askSupervisor(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: SupervisorMessage) => {
      if (m?.type !== 'secret') return;
      process.off('message', onMessage);
      if (m.value !== undefined) resolve(m.value);
      else reject(new HsmBenchError(m.error ?? 'no answer to the prompt', (m.exitCode as ExitCode | undefined) ?? ExitCode.setup));
    };
    process.on('message', onMessage);
    void tellSupervisor({ type: 'prompt', question });
  });
}

/**
 * Makes this process the supervised side: prompts go through the supervisor, stop signals are reported (where
 * nothing else handles them, they end the command as they would have), and a supervisor that disappears stops
 * the command as SIGTERM would, leaving its files consistent.
 */
export function installSupervisedSide(): void {
  if (!isSupervised()) return;
  usePrompt(askSupervisor);
  const onStop = (signal: NodeJS.Signals) => () => {
    void tellSupervisor({ type: 'signal' });
    // Only this listener: the command has no stop of its own here, and the signal ends it as it would have.
    if (process.listenerCount(signal) === 1) process.exit(ExitCode.interrupted);
  };
  process.on('SIGINT', onStop('SIGINT'));
  process.on('SIGTERM', onStop('SIGTERM'));
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/**
 * Finalizes a module before the command ends, where another program needs its tokens or a fresh view of them is
 * needed. Under a supervisor, a module that crashes or hangs there ends the command with exit 3 (a set-up error:
 * the module's), named, instead of killing or holding it.
 */
export async function finalizeNow(mod: Pkcs11Module): Promise<void> {
  await tellSupervisor({ type: 'finalizing', exitCode: ExitCode.setup, atEnd: false });
  mod.close();
  await tellSupervisor({ type: 'finalized' });
}

/**
 * The end of every command: its output is out (stdout drained), the supervisor is told the exit code, then the
 * modules are finalized (the last PKCS#11 calls; none while a thread is left inside one), then the process exits
 * with that code. Under a supervisor a
 * module that crashes or hangs in C_Finalize costs nothing: the supervisor exits with the code it was told.
 */
export async function endCommand(exitCode: number): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  await tellSupervisor({ type: 'finalizing', exitCode, atEnd: true });
  // A thread left inside a module (a call that never returned) may hold what C_Finalize waits for: no finalizing
  // then. Nor when the supervisor was killed: nothing would bound a C_Finalize that hangs, and the process would
  // hold the run directory's lock for ever; the system closes the module's sessions as the process leaves.
  const supervisorGone = isSupervised() && !process.connected;
  if (threadsLeftInModule() === 0 && !supervisorGone) finalizeOpenModules();
  return leaveProcess(exitCode);
}
