import type { Schedule } from './schedule.js';

/**
 * When a configuration's sessions stop: one value, carried unchanged from the run to either engine (and, as numbers,
 * to the native loop). Each engine takes a session's own share of it with sessionCalls().
 */
export interface StopSpec {
  /** Flat out (scale): calls per token, split among the token's sessions. */
  callsPerToken: number | null;
  /** Flat out (burn-in): successful calls of all sessions together; a failed call gives its place back. */
  sharedSuccesses: number | null;
  /** The measured window's length, from the start barrier: no call starts after it. */
  durationNs: bigint | null;
  /** Open loop: the calls are taken from this schedule (its count, where it has one, ends them). */
  schedule: Schedule | null;
}

/** A session's share of its token's `total` (calls, warm-up calls): split among the token's sessions, the first ones taking the remainder. */
export const sessionShare = (total: number, sessionsPerToken: number, session: number) => Math.floor(total / sessionsPerToken) + (session < total % sessionsPerToken ? 1 : 0);

/** A session's own count of calls, or null where the stop is not a count per token. */
export const sessionCalls = (stop: StopSpec, sessionsPerToken: number, session: number): number | null =>
  stop.callsPerToken === null ? null : sessionShare(stop.callsPerToken, sessionsPerToken, session);
