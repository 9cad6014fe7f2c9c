import type { ConfigurationResult, Range } from '../model/run-result.js';

/**
 * Below these, a configuration's latency percentiles are too thin to fail a gate on: a p99 of 200 signatures rests
 * on its two slowest, and a window under 2 s is mostly start-up and scheduling noise.
 */
export const MIN_LATENCY_SAMPLES = 1000;
export const MIN_WINDOW_S = 2;
const WINDOW_SLACK_S = 0.05;

/**
 * Whether a window is too short to measure on: under MIN_WINDOW_S, less the jitter of its own end (the window runs
 * from the start barrier to the last call's end: --duration 2s gives 1.99–2.01 s, and is enough).
 */
export const windowTooShort = (durationS: number) => durationS < MIN_WINDOW_S - WINDOW_SLACK_S;

/** Why a configuration's latency percentiles are too thin to fail a gate on; empty when they are not. */
export function lowConfidence(c: Pick<ConfigurationResult, 'operationsOk' | 'durationS'>): string[] {
  const reasons: string[] = [];
  if (c.operationsOk < MIN_LATENCY_SAMPLES) reasons.push(`${c.operationsOk} successful calls (fewer than ${MIN_LATENCY_SAMPLES})`);
  if (windowTooShort(c.durationS)) reasons.push(`a window of ${c.durationS.toFixed(2)} s (under ${MIN_WINDOW_S} s)`);
  return reasons;
}

const rangeOf = (values: number[]): Range => {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor((sorted.length - 1) / 2)]!, max: sorted[sorted.length - 1]! };
};

/** A configuration's throughput as a range: its repetitions' when it was repeated, else the one value. */
export const throughputRange = (c: ConfigurationResult): Range => c.spread?.throughputPerS ?? { min: c.throughputPerS, median: c.throughputPerS, max: c.throughputPerS };

/** A latency percentile as a range over the repetitions, or null where there were no successful signatures. */
export function latencyRange(c: ConfigurationResult, p: 'p50' | 'p99'): Range | null {
  const values = (c.repetitions ?? [c]).map((r) => r.latencyMs?.[p]).filter((v): v is number => v !== undefined);
  return values.length === 0 ? null : rangeOf(values);
}

/**
 * One configuration measured R times (interleaved with the others) becomes its median repetition — the one whose
 * throughput is the median, or the lower of the two middle ones (at a target rate: by response-time p99), so every
 * figure of it was really measured together
 * — with every repetition's key figures and the throughput's spread beside it.
 */
/** One repetition as a configuration lists it: its own counts (calls never checked or lost too), window and records. */
export const repetitionOf = (r: ConfigurationResult) => ({
  throughputPerS: r.throughputPerS,
  durationS: r.durationS,
  operationsOk: r.operationsOk,
  operationsFailed: r.operationsFailed,
  operationsVerified: r.operationsVerified,
  ...(r.operationsUnverified ? { operationsUnverified: r.operationsUnverified } : {}),
  ...(r.operationsLost ? { operationsLost: r.operationsLost } : {}),
  latencyMs: r.latencyMs,
  perTokenThroughputPerS: r.perToken.map((t) => t.throughputPerS),
  recordsFile: r.recordsFile,
  workerIssues: r.workerIssues,
  ...(r.hungSessions && r.hungSessions.length > 0 ? { hungSessions: r.hungSessions } : {}),
  ...(r.openLoop ? { openLoop: r.openLoop } : {}),
  ...(r.partial ? { partial: r.partial } : {}),
  // Each repetition's stalls, not only the median one's: whether the same tokens stall every time.
  ...(r.stalls ? { stalls: r.stalls } : {}),
});

export function combineRepetitions(reps: readonly ConfigurationResult[]): ConfigurationResult {
  if (reps.length === 1) return reps[0]!;
  // A repetition cut short by an interruption is listed, but is the one shown only when no repetition is whole.
  const whole = reps.some((r) => r.partial === undefined) ? reps.filter((r) => r.partial === undefined) : reps;
  const throughput = rangeOf(whole.map((r) => r.throughputPerS));
  // At a target rate every repetition serves the same rate: the one shown is the median by response-time p99
  // (the upper of the two middle ones), and each repetition is judged on its own (src/stats/capacity.ts).
  const p99 = (r: ConfigurationResult) => r.openLoop?.responseMs?.p99 ?? Number.POSITIVE_INFINITY;
  const byTail = [...whole].sort((a, b) => p99(a) - p99(b));
  const median = whole[0]!.openLoop ? byTail[Math.floor(byTail.length / 2)]! : whole.find((r) => r.throughputPerS === throughput.median)!;
  const partial = reps.find((r) => r.partial !== undefined)?.partial;
  return {
    ...median,
    ...(partial ? { partial } : {}),
    repetitions: reps.map(repetitionOf),
    spread: { throughputPerS: throughput, relativePct: throughput.median > 0 ? Math.round(((throughput.max - throughput.min) / throughput.median) * 1000) / 10 : 0 },
  };
}

/** Failed signatures of a configuration over all its repetitions: a gate must see a failure in any of them. */
export const failuresOf = (c: ConfigurationResult) => (c.repetitions ?? [c]).reduce((n, r) => n + r.operationsFailed, 0);

/** Signatures made (successful or failed) by a configuration over all its repetitions. */
export const operationsMadeOf = (c: ConfigurationResult) => (c.repetitions ?? [c]).reduce((n, r) => n + r.operationsOk + r.operationsFailed, 0);
