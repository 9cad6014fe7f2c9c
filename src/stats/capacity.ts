import type { CapacityResult, ConfigurationResult, RateVerdict } from '../model/run-result.js';
import { percentileName, type Objective, type ObjectivePercentile } from '../model/plan.js';
import { configurationAxes, configurationKey } from '../model/configuration.js';
import { lowConfidence } from './repetitions.js';
import { stallSeconds } from './keeping-up.js';

/** The share of calls at or under each objective's percentile. */
const PERCENTILE_SHARE: Record<ObjectivePercentile, number> = { p50: 0.5, p90: 0.9, p99: 0.99, p999: 0.999 };

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

type Measured = Pick<ConfigurationResult, 'operationsOk' | 'operationsFailed' | 'durationS' | 'openLoop'>;

/** What one measurement at a target rate missed: failures and schedule first, then each objective. */
function missesOf(c: Measured, objectives: readonly Objective[]): { missed: string[]; objectiveOnly: boolean; hostStallOnly: boolean } {
  const o = c.openLoop!;
  const missed: string[] = [];
  if (c.operationsFailed > 0) missed.push(`${c.operationsFailed} failed`);
  if (!o.keptUp) {
    const stall = o.hostStalled ? ` while the host stalled ${stallSeconds(o.hostStallMs ?? 0)} s (not judged: with the stall taken out the tokens kept up)` : '';
    missed.push(`achieved ${fmt(o.achievedRatePerS)}/s of ${fmt(o.targetRatePerS)}/s${o.notStarted > 0 ? `, ${o.notStarted} not started` : ''}${stall}`);
  }
  const objectiveOnly = missed.length === 0;
  let hostStallOnly = c.operationsFailed === 0 && (o.keptUp || o.hostStalled === true);
  // A stall of the host delayed at least the calls due during it: a percentile that so many calls can move (p99: 1 %
  // of them) may be the stall's, not the tokens'.
  const delayedShare = ((o.hostStallMs ?? 0) / 1000) * (o.targetRatePerS / Math.max(1, c.operationsOk + c.operationsFailed));
  for (const objective of objectives) {
    const measured = o.responseMs?.[objective.percentile];
    const stalled = delayedShare >= 1 - PERCENTILE_SHARE[objective.percentile];
    if (measured === undefined) missed.push(`no ${percentileName(objective.percentile)} (no successful call)`);
    else if (measured > objective.ms)
      missed.push(`${percentileName(objective.percentile)} ${measured} ms > ${objective.ms} ms${stalled ? ` while the host stalled ${stallSeconds(o.hostStallMs ?? 0)} s (not judged)` : ''}`);
    else continue;
    hostStallOnly &&= measured !== undefined && stalled;
  }
  hostStallOnly &&= missed.length > 0;
  return { missed, objectiveOnly, hostStallOnly };
}

/**
 * Whether a configuration run at a target rate met the objectives on its response time, and why not. With --repeat,
 * every repetition is judged: the rate holds only if each one held.
 */
export function judgeRate(c: ConfigurationResult, objectives: readonly Objective[]): RateVerdict {
  const o = c.openLoop!;
  const verdict = { targetRatePerS: o.targetRatePerS, achievedRatePerS: o.achievedRatePerS };
  if (o.interrupted) return { ...verdict, held: false, missed: ['interrupted: not measured'], interrupted: true };
  // A repetition the run was interrupted in is not judged; the whole ones are.
  const reps: Measured[] = c.repetitions?.every((r) => r.openLoop) ? (c.repetitions as Measured[]).filter((r) => !r.openLoop!.interrupted) : [c];
  const judged = reps.map((r) => ({ r, ...missesOf(r, objectives) })).filter((j) => j.missed.length > 0);
  const missed = judged.flatMap((j) => (reps.length > 1 ? j.missed.map((m) => `repetition ${(c.repetitions as Measured[]).indexOf(j.r) + 1}: ${m}`) : j.missed));
  const thin = judged.length > 0 && judged.every((j) => j.objectiveOnly && lowConfidence(j.r).length > 0);
  const hostStalled = judged.length > 0 && judged.every((j) => j.hostStallOnly);
  return { ...verdict, held: missed.length === 0, missed, ...(thin ? { thin } : {}), ...(hostStalled ? { hostStalled } : {}) };
}

/**
 * Per token count and sessions per token, the capacity: the highest rate of the sweep that held, counting up from
 * the lowest and stopping at the first that did not (a rate that held above one that failed is luck, not capacity).
 * A rate the data could not judge (missed only on a thin sample or while the host stalled) does not stop the count:
 * it failed nothing, and a higher rate that held says more than it.
 */
export function capacityOf(configurations: readonly ConfigurationResult[], objectives: readonly Objective[]): CapacityResult[] {
  const groups = new Map<string, ConfigurationResult[]>();
  for (const c of configurations.filter((x) => x.openLoop !== undefined)) {
    const key = configurationKey(configurationAxes(c.tokens, c.threadsPerToken, null));
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()].map((group) => {
    const rates = [...group].sort((a, b) => a.openLoop!.targetRatePerS - b.openLoop!.targetRatePerS).map((c) => judgeRate(c, objectives));
    const firstMissed = rates.findIndex((r) => !r.held && !r.thin && !r.hostStalled);
    const held = (firstMissed === -1 ? rates : rates.slice(0, firstMissed)).filter((r) => r.held);
    const behind = group.filter((c) => !c.openLoop!.keptUp && !c.openLoop!.hostStalled && !c.openLoop!.interrupted).map((c) => c.openLoop!.targetRatePerS);
    return {
      tokens: group[0]!.tokens,
      threadsPerToken: group[0]!.threadsPerToken,
      capacityPerS: held.length > 0 ? held[held.length - 1]!.targetRatePerS : null,
      fellBehindAtPerS: behind.length > 0 ? Math.min(...behind) : null,
      rates,
    };
  });
}

/** The sizing answer per token count: its best capacity over the sessions per token swept. */
export function capacityByTokens(capacity: readonly CapacityResult[]): Map<number, CapacityResult> {
  const best = new Map<number, CapacityResult>();
  for (const c of capacity) {
    const seen = best.get(c.tokens);
    if (seen === undefined || (c.capacityPerS ?? -1) > (seen.capacityPerS ?? -1)) best.set(c.tokens, c);
  }
  return best;
}
