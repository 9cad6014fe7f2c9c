import type { FieldNames, PlanInput } from '../model/plan-input.js';
import { TargetRate, OBJECTIVE_PERCENTILES, Objective } from '../model/plan.js';
import { usageError } from '../core/errors.js';
import { quote } from '../core/quote.js';
import { parseLatencyMs } from '../core/latency-flag.js';

/**
 * What a sizing run sweeps besides the token counts: the sessions per token, and open-loop target rates; and the
 * latency objectives that turn a rate sweep into a capacity.
 */

/** More than a million calls a second is a typo, not a plan (a call through PKCS#11 takes microseconds at best). */
const MAX_RATE_PER_S = 1_000_000;
/** Configurations of one run: every one takes its warm-up and its window; more is a typo. */
export const MAX_CONFIGURATIONS = 256;

/** A rate that is not one: said the same way for a flag's text and a lab file's number. */
export const rateProblem = (name: string, given: string) =>
  usageError(
    `${name} must list plain decimal rates in calls per second, from 0.001 to ${MAX_RATE_PER_S} (at most 3 decimals), not ${quote(given)}`,
    'for example 50,100,200,400 (write 1000, not 1e3)',
  );

/** A list of rates such as 50,100,200 or 0.5,1: positive decimals, each once, sorted. */
function rates(name: string, values: readonly number[]): number[] {
  for (const r of values) if (!(r > 0 && r <= MAX_RATE_PER_S) || Math.abs(Math.round(r * 1000) - r * 1000) > 1e-6) throw rateProblem(name, String(r));
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (sorted.length === 0) throw usageError(`${name} is empty`, 'give at least one rate, e.g. 50,100,200');
  if (sorted.length !== values.length) throw usageError(`${name} lists a rate twice: ${quote(values.join(','))}`, 'give each rate once, e.g. 50,100,200');
  return sorted;
}

export function targetRateOf(o: Pick<PlanInput, 'rate' | 'ratePerToken'>, name: FieldNames): TargetRate | null {
  if (o.rate !== undefined && o.ratePerToken !== undefined)
    throw usageError(`${name('rate')} and ${name('ratePerToken')} both set the target rate; give one`, 'rate is for the whole configuration, rate per token is multiplied by its token count');
  if (o.rate !== undefined) return { perS: rates(name('rate'), o.rate), per: 'configuration' };
  if (o.ratePerToken !== undefined) return { perS: rates(name('ratePerToken'), o.ratePerToken), per: 'token' };
  return null;
}

export function parseObjectives(o: Pick<PlanInput, 'slo'>, name: FieldNames): Objective[] {
  return OBJECTIVE_PERCENTILES.flatMap((percentile) => {
    const value = o.slo?.[percentile];
    if (value === undefined) return [];
    const field = name(`slo.${percentile}`);
    return [{ percentile, ms: parseLatencyMs(value, field, false) }];
  });
}
