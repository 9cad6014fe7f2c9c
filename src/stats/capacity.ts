import type { CapacityResult, ConfigurationResult, RateVerdict } from '../model/run-result.js';
import { latencyText } from '../core/latency-text.js';
import { percentileName, type Objective } from '../model/plan.js';
import { configurationAxes, configurationKey } from '../model/configuration.js';
import { callsToJudge, PERCENTILE_SHARE } from './rate-window.js';
import { tokensShortOf } from './tokens-short.js';
import { MIN_SCHEDULE_CALLS, MIN_SCHEDULE_S, scheduleToJudgeS } from './keeping-up.js';

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

type Measured = Pick<ConfigurationResult, 'operationsOk' | 'operationsFailed' | 'durationS' | 'openLoop'>;

/**
 * The window that would hold enough calls to judge an objective's percentile at this rate, where this one held too
 * few: a miss on it is the slowest call or two, not the rate's. Null: enough. The calls count, not the window's
 * length: a short window of many calls is judged (a stall of the host in it is judged apart, as a stall).
 */
function windowToJudgeS(c: Measured, objective: Objective): number | null {
  const o = c.openLoop!;
  const needed = callsToJudge(objective.percentile);
  if (c.operationsOk + c.operationsFailed + o.notStarted >= needed) return null;
  return Math.ceil(needed / o.targetRatePerS);
}

/**
 * Whether the calls over an objective are already too many for its percentile to be met by any sample: were only
 * its share (1 % for p99) of calls slower, seeing this many of them among so few would happen less than once in a
 * thousand (a binomial tail). The count is read from the percentiles above the objective (p50 over it: half the
 * calls, at least).
 */
function certainMiss(responseMs: NonNullable<Measured['openLoop']>['responseMs'], objective: Objective, calls: number): boolean {
  if (!responseMs || calls === 0) return false;
  const over = (['p50', 'p90', 'p99', 'max'] as const).find((p) => responseMs[p] !== undefined && responseMs[p]! > objective.ms);
  if (over === undefined) return false;
  const k = over === 'max' ? 1 : Math.ceil(calls * (1 - PERCENTILE_SHARE[over]));
  const p = 1 - PERCENTILE_SHARE[objective.percentile];
  // P(X ≥ k) for X ~ Binomial(calls, p), summed in logs.
  let logTerm = k * Math.log(p) + (calls - k) * Math.log(1 - p);
  for (let i = 0; i < k; i++) logTerm += Math.log(calls - i) - Math.log(i + 1);
  let tail = 0;
  for (let x = k; x <= calls && logTerm > -50; x++) {
    tail += Math.exp(logTerm);
    logTerm += Math.log(calls - x) - Math.log(x + 1) + Math.log(p) - Math.log(1 - p);
  }
  return tail < 0.001;
}

/** What one measurement at a target rate missed: failures and schedule first, then each objective. */
function missesOf(c: Measured, objectives: readonly Objective[]): { missed: string[]; objectiveOnly: boolean; hostStallOnly: boolean; thinWindowS: number | null } {
  const o = c.openLoop!;
  const missed: string[] = [];
  if (c.operationsFailed > 0) missed.push(`${c.operationsFailed} failed`);
  // A schedule too short to show falling behind: its shortfall is not judged, as an objective on too few calls is not.
  const scheduleThinS = !o.keptUp && o.scheduleTooShort ? scheduleToJudgeS(o.targetRatePerS) : null;
  if (!o.keptUp) {
    const calls = c.operationsOk + c.operationsFailed + o.notStarted;
    const stall = o.hostStalled
      ? `: inconclusive (the harness stalled ${latencyText(o.hostStallMs ?? 0)}; with the stall taken out the tokens kept up)`
      : scheduleThinS !== null
        ? ` on ${calls} calls in ${c.durationS.toFixed(2)} s (not judged: falling behind shows on ${MIN_SCHEDULE_CALLS} calls over ${MIN_SCHEDULE_S} s or more; a ${scheduleThinS} s window gives them)`
        : '';
    missed.push(`achieved ${fmt(o.achievedRatePerS)}/s of ${fmt(o.targetRatePerS)}/s${o.notStarted > 0 ? `, ${o.notStarted} not started` : ''}${stall}`);
  }
  const objectiveOnly = missed.length === 0;
  let hostStallOnly = c.operationsFailed === 0 && (o.keptUp || o.hostStalled === true);
  // Every objective missed on too few calls (and the schedule too short, if it missed): the window that would judge
  // them all; null once one miss is judged.
  let thinWindowS: number | null = objectiveOnly ? 0 : c.operationsFailed === 0 && scheduleThinS !== null ? scheduleThinS : null;
  // A stall of the harness delayed the calls due during it, each by the stall at most: a percentile that so many calls
  // can move (p99: 1 % of them) may be the stall's, not the tokens', as far as the stall's length reaches; a response
  // beyond the objective by more than the stall is the tokens' own.
  const stallMs = o.hostStallMs ?? 0;
  const delayedShare = (stallMs / 1000) * (o.targetRatePerS / Math.max(1, c.operationsOk + c.operationsFailed));
  for (const objective of objectives) {
    const measured = o.responseMs?.[objective.percentile];
    const stalled = delayedShare >= 1 - PERCENTILE_SHARE[objective.percentile] && measured !== undefined && measured <= objective.ms + stallMs;
    const atLeast = o.responseAtLeast?.includes(objective.percentile) ? '≥ ' : '';
    if (measured === undefined) {
      missed.push(`no ${percentileName(objective.percentile)} (no successful call)`);
      thinWindowS = null;
    } else if (measured > objective.ms) {
      const calls = c.operationsOk + c.operationsFailed + o.notStarted;
      // Too few calls to judge, unless so many of them are over the objective that no larger sample could meet it.
      const thinS = certainMiss(o.responseMs, objective, calls) ? null : windowToJudgeS(c, objective);
      const judged = stalled
        ? `: inconclusive (the harness stalled ${latencyText(stallMs)})`
        : thinS !== null
          ? ` on ${calls} calls in ${c.durationS.toFixed(1)} s (not judged: a ${thinS} s window — --duration, or --max-window where windows grow — gives ${percentileName(objective.percentile)} the ${callsToJudge(objective.percentile)} calls it needs)`
          : '';
      missed.push(`${percentileName(objective.percentile)} ${atLeast}${latencyText(measured)} > ${latencyText(objective.ms)}${judged}`);
      thinWindowS = thinWindowS === null || thinS === null ? null : Math.max(thinWindowS, thinS);
    } else {
      // Met on too few calls is no more shown than missed on them: the slowest call or two decide either way.
      const thinS = windowToJudgeS(c, objective);
      if (thinS === null) continue;
      const calls = c.operationsOk + c.operationsFailed + o.notStarted;
      missed.push(
        `${percentileName(objective.percentile)} ${latencyText(measured)} ≤ ${latencyText(objective.ms)} on ${calls} calls only (not judged: a ${thinS} s window — --duration, or --max-window where windows grow — gives it the ${callsToJudge(objective.percentile)} calls it needs)`,
      );
      thinWindowS = thinWindowS === null ? null : Math.max(thinWindowS, thinS);
      hostStallOnly = false;
      continue;
    }
    hostStallOnly &&= measured !== undefined && stalled;
  }
  hostStallOnly &&= missed.length > 0;
  return { missed, objectiveOnly, hostStallOnly, thinWindowS: missed.length > 0 ? thinWindowS : null };
}

/**
 * Whether a configuration run at a target rate met the objectives on its response time, and why not. With --repeat,
 * every repetition is judged: the rate holds only if each one held. A rate missed only by objectives on too few
 * calls for their percentiles (src/stats/rate-window.ts) is thin: not judged, with the window that would judge it.
 */
export function judgeRate(c: ConfigurationResult, objectives: readonly Objective[]): RateVerdict {
  const o = c.openLoop!;
  const verdict = { targetRatePerS: o.targetRatePerS, achievedRatePerS: o.achievedRatePerS };
  if (o.interrupted) return { ...verdict, held: false, missed: ['interrupted: not measured'], interrupted: true };
  // A repetition the run was interrupted in is not judged; the whole ones are.
  const reps: Measured[] = c.repetitions?.every((r) => r.openLoop) ? (c.repetitions as Measured[]).filter((r) => !r.openLoop!.interrupted) : [c];
  const judged = reps.map((r) => ({ r, ...missesOf(r, objectives) })).filter((j) => j.missed.length > 0);
  const missed = judged.flatMap((j) => (reps.length > 1 ? j.missed.map((m) => `repetition ${(c.repetitions as Measured[]).indexOf(j.r) + 1}: ${m}`) : j.missed));
  const thin = judged.length > 0 && judged.every((j) => j.thinWindowS !== null);
  const hostStalled = judged.length > 0 && judged.every((j) => j.hostStallOnly);
  const windowToJudge = thin ? Math.max(...judged.map((j) => j.thinWindowS!)) : 0;
  // A token that hung or stopped left the rate to the others: what it shows is theirs, not the configuration's.
  const short = tokensShortOf(c);
  const notWhole = short.hungTokens.length + short.stoppedTokens.length > 0;
  return {
    ...verdict,
    held: missed.length === 0,
    missed,
    ...(thin ? { thin, windowToJudgeS: windowToJudge } : {}),
    ...(hostStalled ? { hostStalled } : {}),
    ...(notWhole ? { notWhole } : {}),
  };
}

/**
 * Per token count and sessions per token, the capacity: the highest rate of the sweep that held, counting up from
 * the lowest and stopping at the first that did not (a rate that held above one that failed is luck, not capacity).
 * A rate the data could not judge (missed only on a thin sample, or only as far as a stall of the harness reaches)
 * is never a pass, and does not stop the count either: it failed nothing, and a higher rate that held on a full
 * sample shows the tokens serve less load within the objectives too, so an unresolved rate never lowers a capacity
 * (nor makes more tokens read less capacity than fewer). A miss beyond what the stall explains is judged.
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
    const behind = group.filter((c) => !c.openLoop!.keptUp && !c.openLoop!.hostStalled && !c.openLoop!.scheduleTooShort && !c.openLoop!.interrupted).map((c) => c.openLoop!.targetRatePerS);
    // The rates that decided the capacity (those counted, and the one that ended the count): one measured with fewer
    // tokens than the configuration names makes it no capacity of that many tokens.
    const notWhole = (firstMissed === -1 ? rates : rates.slice(0, firstMissed + 1)).some((r) => r.notWhole === true);
    return {
      tokens: group[0]!.tokens,
      threadsPerToken: group[0]!.threadsPerToken,
      capacityPerS: held.length > 0 ? held[held.length - 1]!.targetRatePerS : null,
      fellBehindAtPerS: behind.length > 0 ? Math.min(...behind) : null,
      ...(notWhole ? { notWhole } : {}),
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
