import type { Histogram } from 'hdr-histogram-js';
import type { PercentileIntervalMs } from '../model/run-result.js';

/** z for a two-sided 95 % interval. */
const Z95 = 1.96;

/**
 * The ranks (1-based, in a sample of n sorted) that bound a percentile with 95 % confidence, whatever the
 * distribution: the count of calls under the true percentile is Binomial(n, share), so the rank of the percentile
 * lies within n·share ± 1.96·√(n·share·(1−share)). High null: the interval reaches past the slowest call.
 */
export function orderStatisticRanks(n: number, share: number): { low: number; high: number | null } {
  const spread = Z95 * Math.sqrt(n * share * (1 - share));
  const low = Math.max(1, Math.floor(n * share - spread));
  const high = Math.ceil(n * share + spread) + 1;
  return { low, high: high > n ? null : high };
}

/** A percentile's 95 % interval from a histogram of µs: the values at its order-statistic ranks, in ms. */
export function percentileIntervalMs(h: Histogram, share: number): PercentileIntervalMs | null {
  const n = h.totalCount;
  if (n === 0) return null;
  const ranks = orderStatisticRanks(n, share);
  // The value at rank k: the midpoint of its count keeps float rounding from reading the next rank.
  const at = (rank: number) => Math.round(Math.min(h.getValueAtPercentile((100 * (rank - 0.5)) / n), h.maxValue)) / 1000;
  return { lowMs: at(ranks.low), highMs: ranks.high === null ? null : at(ranks.high) };
}
