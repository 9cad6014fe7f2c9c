import { ObjectiveOptions } from '../model/plan-input.js';
import { TargetRate, OBJECTIVE_PERCENTILES, ObjectivePercentile, Objective } from '../model/plan.js';
import { usageError } from '../core/errors.js';
import { parseDurationNs, durationMs } from '../core/duration.js';
import { quote } from '../core/quote.js';

/**
 * What a sizing run sweeps besides the token counts: the sessions per token, and open-loop target rates; and the
 * latency objectives that turn a rate sweep into a capacity.
 */

/** More than a million calls a second is a typo, not a plan (a call through PKCS#11 takes microseconds at best). */
const MAX_RATE_PER_S = 1_000_000;
/** Configurations of one run: every one takes its warm-up and its window; more is a typo. */
export const MAX_CONFIGURATIONS = 256;

/** A list of rates such as 50,100,200 or 0.5,1: positive decimals, each once, sorted. */
export function parseRates(flag: string, value: string): number[] {
  const rates = value.split(',').map((v) => {
    const t = v.trim();
    if (!/^\d{1,7}(\.\d{1,3})?$/.test(t) || Number(t) <= 0 || Number(t) > MAX_RATE_PER_S) {
      throw usageError(
        `${flag} must list plain decimal rates in calls per second, from 0.001 to ${MAX_RATE_PER_S} (at most 3 decimals), not ${quote(t)}`,
        `for example ${flag} 50,100,200,400 (write 1000, not 1e3)`,
      );
    }
    return Number(t);
  });
  const sorted = [...new Set(rates)].sort((a, b) => a - b);
  if (sorted.length !== rates.length) throw usageError(`${flag} lists a rate twice: ${quote(value)}`, `give each rate once, e.g. ${flag} 50,100,200`);
  return sorted;
}

export function targetRateOf(o: { rate?: string; ratePerToken?: string }): TargetRate | null {
  if (o.rate !== undefined && o.ratePerToken !== undefined)
    throw usageError('--rate and --rate-per-token both set the target rate; give one', '--rate is for the whole configuration, --rate-per-token is multiplied by its token count');
  if (o.rate !== undefined) return { perS: parseRates('--rate', o.rate), per: 'configuration' };
  if (o.ratePerToken !== undefined) return { perS: parseRates('--rate-per-token', o.ratePerToken), per: 'token' };
  return null;
}

const OBJECTIVE_FLAGS: Record<ObjectivePercentile, keyof ObjectiveOptions> = { p50: 'sloP50', p90: 'sloP90', p99: 'sloP99', p999: 'sloP999' };
const objectiveFlag = (p: ObjectivePercentile) => `--slo-${p}`;

export function parseObjectives(o: ObjectiveOptions): Objective[] {
  return OBJECTIVE_PERCENTILES.flatMap((percentile) => {
    const value = o[OBJECTIVE_FLAGS[percentile]];
    if (value === undefined) return [];
    const ms = durationMs(parseDurationNs(value, objectiveFlag(percentile), 0));
    if (!(ms > 0)) throw usageError(`${objectiveFlag(percentile)} must be longer than 0`, `for example ${objectiveFlag(percentile)} 50ms`);
    return [{ percentile, ms }];
  });
}
