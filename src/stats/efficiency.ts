import { dataSizeOf } from '../model/configuration.js';
import type { ConfigurationResult, Range } from '../model/run-result.js';

/**
 * The 1-token configuration a configuration's scaling efficiency is measured against: as many sessions per token,
 * the same data size, flat out (at a target rate the throughput is the rate asked for); undefined where there is none.
 * The efficiency, its range and every sentence about it take this one basis.
 */
export const efficiencyBasisIn = (configurations: readonly ConfigurationResult[], c: ConfigurationResult): ConfigurationResult | undefined =>
  c.openLoop === undefined ? configurations.find((x) => x.tokens === 1 && x.threadsPerToken === c.threadsPerToken && x.openLoop === undefined && dataSizeOf(x) === dataSizeOf(c)) : undefined;

type Repeated = Pick<ConfigurationResult, 'tokens' | 'throughputPerS' | 'repetitions' | 'spread' | 'partial'>;

/** Each repetition's throughput in the order measured (round by round), null for one cut short. */
const throughputs = (c: Repeated) => (c.repetitions ?? [c]).map((x) => (x.partial === undefined ? x.throughputPerS : null));
/** The throughputs a configuration's spread allows where its repetitions are not listed: its extremes, in no round. */
const extremes = (c: Repeated) => (c.spread ? [c.spread.throughputPerS.min, c.spread.throughputPerS.max] : [c.throughputPerS]);

/**
 * The scaling efficiencies a configuration's repetitions allow against its 1-token basis's, around `efficiency` (the
 * one shown). Repetitions are interleaved (round k measures every configuration once), so round k of the two is a
 * pair measured in the same spell of the host: the range is over those pairs' ratios. The unpaired extremes (its
 * slowest over the basis's fastest) set moments that never met against each other and can pass 1. Where the
 * rounds cannot be paired (one side measured once, or its repetitions not listed), every figure of one side stands
 * against every figure of the other. Null without repetitions on either side.
 */
export function efficiencyRangeOf(c: Repeated, basis: Repeated, efficiency: number): Range | null {
  if (c.spread === undefined && basis.spread === undefined) return null;
  const rounds = c.repetitions !== undefined && basis.repetitions !== undefined;
  const [own, theirs] = rounds ? [throughputs(c), throughputs(basis)] : [c, basis].map((x) => (x.repetitions ? throughputs(x) : extremes(x)));
  const pairs =
    !rounds || own!.length === 1 || theirs!.length === 1
      ? own.flatMap((x) => theirs.map((y) => [x, y] as const))
      : own.slice(0, Math.min(own.length, theirs.length)).map((x, k) => [x, theirs[k]!] as const);
  const ratios = pairs.filter((p): p is readonly [number, number] => p[0] !== null && p[1] !== null && p[1] > 0).map(([x, y]) => x / (c.tokens * y));
  if (ratios.length === 0) return null;
  // The efficiency shown is the median repetition over the basis's median one: a figure the data allow, so inside.
  return { min: Math.min(efficiency, ...ratios), median: efficiency, max: Math.max(efficiency, ...ratios) };
}

/** Without repetitions, an efficiency this far above 1 is beyond a shared host's run-to-run noise. */
export const ABOVE_LINEAR_MARGIN = 0.1;

/**
 * Whether an efficiency is above 1 beyond the noise. Identical tokens do not scale better than linearly: such a
 * figure says the 1-token basis was slowed (a stall in its window, a basis not settled, a cold start), not that the
 * tokens were. With repetitions, every efficiency they allow must pass 1; without, it must pass 1 by the margin.
 */
export const aboveLinear = (efficiency: number, range: Range | null) => (range ? range.min > 1 : efficiency > 1 + ABOVE_LINEAR_MARGIN);
