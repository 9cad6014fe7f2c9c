import type { ConfigurationResult } from '../model/run-result.js';

/**
 * A token stands out when its modified z-score, 0.6745 × (rate − median) / MAD, is beyond this (Iglewicz and
 * Hoaglin's cut): a test against the tokens' own spread, which one slow token cannot drag along as it does a mean.
 */
export const OUTLIER_Z = 3.5;
/** Nor is a token named unless it is this far from the median, or further than the repetitions differ: less is noise. */
export const NOISE_FLOOR_PCT = 5;
/** Fewer tokens than this cannot tell which one is off: two tokens apart are as much the one as the other. */
export const MIN_TOKENS_FOR_OUTLIERS = 3;

export interface TokenOutlier {
  token: number;
  ratePerS: number;
  /** (rate − median) / median, %: negative for a slow token. */
  offPct: number;
}

export interface TokenSpread {
  medianPerS: number;
  /** Median absolute deviation of the tokens' rates from their median. */
  madPerS: number;
  /** How far a token must be from the median to be named, %: the noise floor, or the repetitions' spread. */
  noisePct: number;
  outliers: TokenOutlier[];
}

const medianOf = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >>> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * The tokens whose rates stand out from the others' (`rates` by token index), beyond both the tokens' spread
 * (median ± MAD) and `noisePct`; null with fewer than three tokens, where no one of them can be told apart.
 */
export function tokenSpread(rates: readonly { token: number; ratePerS: number }[], noisePct: number): TokenSpread | null {
  if (rates.length < MIN_TOKENS_FOR_OUTLIERS) return null;
  const medianPerS = medianOf(rates.map((r) => r.ratePerS));
  const madPerS = medianOf(rates.map((r) => Math.abs(r.ratePerS - medianPerS)));
  const noise = Math.max(NOISE_FLOOR_PCT, noisePct);
  const outliers = rates
    .map((r) => ({ token: r.token, ratePerS: r.ratePerS, offPct: medianPerS > 0 ? (100 * (r.ratePerS - medianPerS)) / medianPerS : 0 }))
    .filter((r) => {
      const deviation = Math.abs(r.ratePerS - medianPerS);
      // With no spread at all among the others, any deviation is beyond it: the noise floor alone decides.
      const z = madPerS > 0 ? (0.6745 * deviation) / madPerS : deviation > 0 ? Number.POSITIVE_INFINITY : 0;
      return z > OUTLIER_Z && Math.abs(r.offPct) > noise;
    })
    .sort((a, b) => a.offPct - b.offPct);
  return { medianPerS, madPerS, noisePct: noise, outliers };
}

/** The noise of a configuration's rates: how far its repetitions' throughputs differ, %, or 0 measured once. */
export const repetitionNoisePct = (c: ConfigurationResult) => c.spread?.relativePct ?? 0;

/** Each repetition's rates of the tokens, in the order of perToken (or the one measurement's, where it was not repeated). */
const rateSamples = (c: ConfigurationResult): number[][] =>
  c.repetitions?.every((x) => x.perTokenThroughputPerS) ? c.repetitions.map((x) => x.perTokenThroughputPerS!) : [c.perToken.map((t) => t.throughputPerS)];

/**
 * In how many samples — every configuration with three tokens or more that had `token`, and each of its repetitions —
 * the token stood out on the same side (`slow`: below the others); `of` counts the samples.
 */
export function standsOutIn(configurations: readonly ConfigurationResult[], token: number, slow: boolean): { in: number; of: number } {
  let count = 0;
  let of = 0;
  for (const c of configurations) {
    for (const sample of rateSamples(c)) {
      const rates = c.perToken.map((t, i) => ({ token: t.token, ratePerS: sample[i] ?? 0 })).filter((_, i) => c.perToken[i]!.operationsOk > 0);
      if (!rates.some((r) => r.token === token)) continue;
      const spread = tokenSpread(rates, repetitionNoisePct(c));
      if (spread === null) continue;
      of++;
      if (spread.outliers.some((o) => o.token === token && o.offPct < 0 === slow)) count++;
    }
  }
  return { in: count, of };
}

/** A token that stood out from the others in some of a configuration's repetitions (or its one measurement). */
export interface RepeatedOutlier extends TokenOutlier {
  /** Below the others' median (or above it) where it stood out. */
  slow: boolean;
  /** In how many of the `of` repetitions it stood out on that side. */
  in: number;
  of: number;
}

/**
 * The tokens (`tokens`: those that signed) that stood out in any repetition of a configuration, judged in each
 * repetition on its own rates, with in how many of them: one slow repetition of a token is not a slow token. Its
 * rate and distance are the median repetition's (the one the configuration shows), else the first where it stood
 * out. Null with fewer than three tokens.
 */
export function outliersOverRepetitions(c: ConfigurationResult, tokens: readonly number[]): { spread: TokenSpread; outliers: RepeatedOutlier[] } | null {
  const at = tokens.map((token) => c.perToken.findIndex((t) => t.token === token));
  const rates = (sample: readonly number[]) => tokens.map((token, k) => ({ token, ratePerS: sample[at[k]!] ?? 0 }));
  const spread = tokenSpread(rates(c.perToken.map((t) => t.throughputPerS)), repetitionNoisePct(c));
  if (spread === null) return null;
  const samples = rateSamples(c);
  const seen = new Map<string, RepeatedOutlier>();
  for (const sample of samples) {
    for (const o of tokenSpread(rates(sample), repetitionNoisePct(c))?.outliers ?? []) {
      const key = `${o.token}:${o.offPct < 0}`;
      const shown = spread.outliers.find((x) => x.token === o.token && x.offPct < 0 === o.offPct < 0) ?? o;
      const before = seen.get(key);
      seen.set(key, { ...shown, slow: o.offPct < 0, in: (before?.in ?? 0) + 1, of: samples.length });
    }
  }
  return { spread, outliers: [...seen.values()].sort((a, b) => a.offPct - b.offPct) };
}
