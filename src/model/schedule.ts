/**
 * An open-loop schedule (--rate): the configuration's calls arrive at a fixed rate whatever the tokens do, as
 * requests reach a signing service. Call k is intended to start k × intervalNs after the measured window opens;
 * the configuration's sessions take the calls from one counter, in order, each as soon as it is free (one queue
 * in front of all sessions, as a load balancer keeps). A call taken after its intended start by a session that
 * was busy with its previous call found no session free: it is late, and the time it waited is part of its
 * response time. Closed-loop latency (each session calls
 * again when its last call returns) hides that wait: a stalled token simply makes fewer calls (coordinated omission).
 * With a duration, the window closes at its deadline: calls of the schedule that could not start by then are not
 * made and are reported as not started (an overloaded token would otherwise keep the run going for its backlog).
 */
export interface Schedule {
  /** 1e9 / the configuration's target rate (calls per second). */
  intervalNs: number;
  /** How many calls the schedule has; null: calls until the deadline (--duration). */
  calls: number | null;
}

export function scheduleOf(targetRatePerS: number, calls: number | null): Schedule {
  return { intervalNs: 1e9 / targetRatePerS, calls };
}

/** The calls a schedule has: its count, or those intended before the deadline of a window of `durationNs`. */
export const scheduledCalls = (s: Schedule, durationNs: bigint | null): number => s.calls ?? Math.ceil(Number(durationNs ?? 0n) / s.intervalNs);

/** Call k's intended start, in ns after the window opens (native/timed-loop.c has its twin; test/native-parity.test.ts compares them). */
export const intendedOffsetNs = (s: Schedule, k: number): number => Math.round(k * s.intervalNs);
