import { SaturationResult } from '../model/run-result.js';
import type { ConfigurationResult } from '../model/run-result.js';

/**
 * A token that serves k calls at once gains throughput with every session up to k and nothing after: the fewest
 * sessions that reach 90 % of the best is k, and is robust to the few percent of noise a loaded host adds to the
 * flat part (a "largest gain" rule would chase that noise).
 */
export const KNEE_SHARE = 0.9;

/**
 * Per token count with at least two sessions counts measured flat out, the knee of throughput over sessions. A
 * configuration the run stopped in (partial) is no point of the curve: the answer rests on whole measurements.
 */
export function saturationOf(configurations: readonly ConfigurationResult[]): SaturationResult[] {
  // Per token count and data size: only the sessions differ within a group.
  const byTokens = new Map<string, ConfigurationResult[]>();
  for (const c of configurations.filter((x) => x.openLoop === undefined && x.partial === undefined)) {
    const key = `${c.tokens}/${c.dataSizeBytes ?? ''}`;
    byTokens.set(key, [...(byTokens.get(key) ?? []), c]);
  }
  return [...byTokens.values()]
    .filter((group) => group.length > 1)
    .map((group) => {
      const sorted = [...group].sort((a, b) => a.threadsPerToken - b.threadsPerToken);
      const best = sorted.reduce((a, b) => (b.throughputPerS > a.throughputPerS ? b : a));
      const knee = sorted.find((c) => c.throughputPerS >= KNEE_SHARE * best.throughputPerS)!;
      return {
        tokens: knee.tokens,
        kneeThreadsPerToken: knee.threadsPerToken,
        kneeThroughputPerS: knee.throughputPerS,
        bestThreadsPerToken: best.threadsPerToken,
        bestThroughputPerS: best.throughputPerS,
      };
    });
}
