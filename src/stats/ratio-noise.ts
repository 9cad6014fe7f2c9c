/**
 * How sure a ratio of two measured figures is, from the noise the measurements carry: each figure's samples (a
 * run's per-interval values, or its repetitions) give the standard error of its mean; the ratio's interval
 * propagates both relative errors on the log scale, at 95 % with Student's t. A ratio's interval is not symmetric
 * (1.42 may be 1.30–1.61), and never reaches 0: a ratio ± the same width either side went below 0 for large noise.
 */

/** A mean estimated from samples: the standard error relative to the mean, and its degrees of freedom. */
export interface MeanNoise {
  mean: number;
  relativeSe: number;
  df: number;
}

/** A ratio candidate / baseline and its 95 % interval, from `low` to `high` (both above 0). */
export interface RatioInterval {
  ratio: number;
  low: number;
  high: number;
}

/** The fewest samples a side needs for its noise to be estimated at all. */
export const MIN_NOISE_SAMPLES = 3;

/** The noise of the mean of `values`; null with fewer than MIN_NOISE_SAMPLES, or a mean that is not positive. */
export function meanNoise(values: readonly number[]): MeanNoise | null {
  const n = values.length;
  if (n < MIN_NOISE_SAMPLES) return null;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (!(mean > 0)) return null;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, relativeSe: Math.sqrt(variance / n) / mean, df: n - 1 };
}

/** Two-sided 95 % quantiles of Student's t by degrees of freedom (1–30), then 1.96 in the limit. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045,
  2.042,
];

export function t95(df: number): number {
  if (df < 1) return Number.POSITIVE_INFINITY;
  if (df <= T95.length) return T95[Math.floor(df) - 1]!;
  // Past 30: the normal quantile plus the first correction term of the t distribution.
  return 1.96 + 2.4 / df;
}

/**
 * `ratio` (a figure of the candidate over the baseline's) with its 95 % interval, from the two means' relative
 * standard errors: the log of a ratio is the difference of the logs, whose standard error is (to first order) the
 * root of the relative errors' squares; degrees of freedom by Welch–Satterthwaite, so a side of three repetitions
 * widens it as it should.
 */
export function ratioInterval(ratio: number, baseline: MeanNoise, candidate: MeanNoise): RatioInterval {
  const [a, b] = [baseline.relativeSe ** 2, candidate.relativeSe ** 2];
  const sum = a + b;
  const df = sum === 0 ? Number.POSITIVE_INFINITY : sum ** 2 / (a ** 2 / baseline.df + b ** 2 / candidate.df);
  const logHalfWidth = t95(df) * Math.sqrt(sum);
  return { ratio, low: ratio * Math.exp(-logHalfWidth), high: ratio * Math.exp(logHalfWidth) };
}

/**
 * Contiguous batches of a series, each averaged: successive seconds of a run are not independent (a host busy for a
 * while slows several), and the means of longer batches are nearly so (the batch-means method).
 */
export function batchMeans(values: readonly number[], maxBatches: number): number[] {
  const batches = Math.min(maxBatches, values.length);
  const out: number[] = [];
  for (let i = 0; i < batches; i++) {
    const part = values.slice(Math.floor((i * values.length) / batches), Math.floor(((i + 1) * values.length) / batches));
    out.push(part.reduce((s, v) => s + v, 0) / part.length);
  }
  return out;
}
