import { runExitHooks } from '../core/exit-hooks.js';
import { nativeLoop } from './native-engine.js';

/**
 * Threads left inside the module: a call that never returned was abandoned (src/measure/call-watchdog.ts), and its
 * thread cannot be joined or stopped. While one is there, the module is not finalized nor its sessions closed (a
 * module may wait on the lock that thread holds, or free what it uses), and the process cannot end the usual way:
 * Node's exit waits for every worker thread and joins the native loop's threads, forever (measured: process.exit
 * and process.reallyExit both hang with a worker stuck in a native call), and C's exit() would run the module's
 * destructors under the thread. So the process ends with _exit, once its files are written.
 */
let left = 0;

export function noteThreadLeftInModule(): void {
  left++;
}

export const threadsLeftInModule = () => left;

/** Ends the process with `code`: the usual way, or at once (leaveNow) while threads are left inside the module. */
export function leaveProcess(code: number): never {
  return left === 0 ? process.exit(code) : leaveNow(code);
}

/**
 * Ends the process at once, whatever its threads are doing, inside the module or not: nothing of Node's or the
 * module's teardown runs but the exit hooks (records held in memory are written). Through the native loop's _exit (stdout and stderr are written synchronously to files,
 * pipes and terminals on Linux, so nothing written is lost); where the native loop was not built, by SIGKILL (exit
 * status 137, the only way out left).
 */
export function leaveNow(code: number): never {
  runExitHooks();
  const native = nativeLoop();
  if (native !== null) native.exitNow(code);
  process.kill(process.pid, 'SIGKILL');
  // Not reached: the signal has ended the process.
  return process.exit(code);
}
