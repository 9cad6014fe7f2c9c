import { NATIVE } from '../core/native-abi.js';

/** Without recovery (scale), a session whose calls fail this many times in a row is left alone (both engines). */
export const MAX_CONSECUTIVE_FAILURES = NATIVE.maxConsecutiveFailures;

export const FAILURE_LIMIT_REACHED = `${MAX_CONSECUTIVE_FAILURES} consecutive calls failed`;

/** Why a job of the native loop gave up on its own (a NATIVE.gaveUp code), as the worker threads say it; undefined if it did not. */
export function gaveUpWords(code: number): string | undefined {
  if (code === NATIVE.gaveUp.failureLimit) return FAILURE_LIMIT_REACHED;
  if (code === NATIVE.gaveUp.outOfMemory) return 'no memory for its output buffer';
  return undefined;
}
