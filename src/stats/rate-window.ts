import type { Objective, ObjectivePercentile } from '../model/plan.js';

/** The share of calls at or under each objective's percentile. */
export const PERCENTILE_SHARE: Record<ObjectivePercentile, number> = { p50: 0.5, p90: 0.9, p99: 0.99, p999: 0.999 };

/**
 * Calls a percentile needs before it can fail a rate: ten above it (1,000 for p99, 10,000 for p99.9). With fewer, the
 * percentile is the one slowest call or two, and a single spike of the host decides the answer.
 */
export const callsToJudge = (percentile: ObjectivePercentile): number => Math.ceil(10 / (1 - PERCENTILE_SHARE[percentile]) - 1e-9);

/** The calls the strictest objective needs (0 without objectives). */
export const callsToJudgeAll = (objectives: readonly Objective[]): number => Math.max(0, ...objectives.map((o) => callsToJudge(o.percentile)));

const WINDOW_MARGIN = 1.02;

/** The longest a rate's window is extended to reach those calls by default (--max-window): a sweep of low rates stays minutes, not hours. */
export const RATE_WINDOW_CAP_S = 60;

/**
 * A rate's measured window with --duration: at least the duration asked for, and long enough for the objectives'
 * calls at that rate (a fixed duration gives the lowest rate the fewest calls), up to `maxS` (--max-window). Beyond
 * it, a miss on too few calls is not judged (src/stats/capacity.ts).
 */
export function rateWindowS(durationS: number, maxS: number, targetRatePerS: number, objectives: readonly Objective[]): number {
  // 2 % more: the calls a deadline keeps from starting and a failure or two do not leave the percentile short.
  const neededS = (callsToJudgeAll(objectives) * WINDOW_MARGIN) / targetRatePerS;
  return Math.max(durationS, Math.min(neededS, maxS));
}
