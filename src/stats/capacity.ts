import type { CapacityResult, ConfigurationResult, PercentileIntervalMs, RateVerdict } from '../model/run-result.js';
import { latencyText } from '../core/latency-text.js';
import { percentileName, type Objective } from '../model/plan.js';
import { configurationAxes, configurationKey } from '../model/configuration.js';
import { callsToJudge, PERCENTILE_SHARE, rateWindowS } from './rate-window.js';
import { tokensShortOf } from './tokens-short.js';
import { MIN_SCHEDULE_CALLS, MIN_SCHEDULE_S, scheduleToJudgeS } from './keeping-up.js';

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

type Measured = Pick<ConfigurationResult, 'operationsOk' | 'operationsFailed' | 'durationS' | 'latencyMs' | 'openLoop'>;

/**
 * The window that would hold enough calls to judge an objective's percentile at this rate, where this one held too
 * few: a miss on it is the slowest call or two, not the rate's. Null: enough. The calls count, not the window's
 * length: a short window of many calls is judged (a stall of the host in it is judged apart, as a stall).
 */
function windowToJudgeS(c: Measured, objective: Objective): number | null {
  const o = c.openLoop!;
  const needed = callsToJudge(objective.percentile);
  if (c.operationsOk + c.operationsFailed + o.notStarted >= needed) return null;
  return Math.ceil(rateWindowS(0, Number.POSITIVE_INFINITY, o.targetRatePerS, [objective]));
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

/** What one measurement at a target rate missed on a sample that decides it, and what it left undecided. */
interface Judged {
  missed: string[];
  notJudged: string[];
  /** Something left undecided for want of calls (thin, or an interval straddling an objective). */
  thin: boolean;
  /** Something left undecided because the host kept calls from starting on time. */
  hostStalled: boolean;
  /** The window (s) that would decide what the sample left open; -1 where it cannot be told. */
  windowS: number;
}

/**
 * Calls that would put an objective outside a percentile's 95 % interval: its half-width shrinks as 1/√n, so the
 * calls grow with (half-width / distance from the objective)². Null where the distance is nil or the interval open.
 */
function callsToDecide(calls: number, measuredMs: number, interval: PercentileIntervalMs, objectiveMs: number): number | null {
  const distance = Math.abs(measuredMs - objectiveMs);
  const halfWidth = measuredMs > objectiveMs ? measuredMs - interval.lowMs : interval.highMs === null ? null : interval.highMs - measuredMs;
  if (distance === 0 || halfWidth === null) return null;
  return Math.ceil(calls * (halfWidth / distance) ** 2);
}

/**
 * The sessions were busy under half the time, and no call took as long as the response percentile (nor a tenth of it
 * at p99): no call of the tokens held the others up that long, so the response time went in starting the calls,
 * which is hsm-bench's start delay, not a queue for the tokens.
 */
function harnessDelayed(c: Measured, sessions: number, measuredMs: number): boolean {
  const service = c.latencyMs;
  if (!service || !c.openLoop!.keptUp) return false;
  const busyShare = (c.openLoop!.targetRatePerS * service.mean) / 1000 / Math.max(1, sessions);
  return busyShare < 0.5 && measuredMs > service.max && measuredMs > 10 * service.p99;
}

function missesOf(c: Measured, sessions: number, objectives: readonly Objective[]): Judged {
  const o = c.openLoop!;
  const j: Judged = { missed: [], notJudged: [], thin: false, hostStalled: false, windowS: 0 };
  const open = (words: string, windowS: number | null, cause: 'thin' | 'host') => {
    j.notJudged.push(words);
    if (cause === 'thin') j.thin = true;
    else j.hostStalled = true;
    j.windowS = windowS === null || j.windowS < 0 ? -1 : Math.max(j.windowS, windowS);
  };
  if (c.operationsFailed > 0) j.missed.push(`${c.operationsFailed} failed`);
  if (!o.keptUp) {
    const words = `achieved ${fmt(o.achievedRatePerS)}/s of ${fmt(o.targetRatePerS)}/s${o.notStarted > 0 ? `, ${o.notStarted} not started` : ''}`;
    if (o.hostStalled) open(`${words}: inconclusive (the harness stalled ${latencyText(o.hostStallMs ?? 0)}; with the stall taken out the tokens kept up)`, null, 'host');
    else if (o.scheduleTooShort) {
      // A schedule too short to show falling behind: its shortfall is not judged, as an objective on too few calls is not.
      const windowS = scheduleToJudgeS(o.targetRatePerS);
      const calls = c.operationsOk + c.operationsFailed + o.notStarted;
      open(
        `${words} on ${calls} calls in ${c.durationS.toFixed(2)} s (not judged: falling behind shows on ${MIN_SCHEDULE_CALLS} calls over ${MIN_SCHEDULE_S} s or more; a ${windowS} s window gives them)`,
        windowS,
        'thin',
      );
    } else j.missed.push(words);
  }
  // A stall of the harness delayed the calls due during it, each by the stall at most: a percentile that so many calls
  // can move (p99: 1 % of them) may be the stall's, not the tokens', as far as the stall's length reaches; a response
  // beyond the objective by more than the stall is the tokens' own.
  const stallMs = o.hostStallMs ?? 0;
  const calls = c.operationsOk + c.operationsFailed + o.notStarted;
  const delayedShare = (stallMs / 1000) * (o.targetRatePerS / Math.max(1, c.operationsOk + c.operationsFailed));
  for (const objective of objectives) {
    const name = percentileName(objective.percentile);
    const measured = o.responseMs?.[objective.percentile];
    if (measured === undefined) {
      j.missed.push(`no ${name} (no successful call)`);
      continue;
    }
    const over = measured > objective.ms;
    const atLeast = o.responseAtLeast?.includes(objective.percentile) ? '≥ ' : '';
    const figure = `${name} ${atLeast}${latencyText(measured)} ${over ? '>' : '≤'} ${latencyText(objective.ms)}`;
    const surelyOver = over && certainMiss(o.responseMs, objective, calls);
    const thinS = windowToJudgeS(c, objective);
    const interval = o.responseIntervalMs?.[objective.percentile];
    if (over && delayedShare >= 1 - PERCENTILE_SHARE[objective.percentile] && measured <= objective.ms + stallMs) {
      open(`${figure}: inconclusive (the harness stalled ${latencyText(stallMs)})`, null, 'host');
    } else if (over && harnessDelayed(c, sessions, measured)) {
      open(`${figure}: the harness's start delay, not the tokens' capacity (calls ${latencyText(c.latencyMs!.p99)} at p99, the tokens mostly idle)`, null, 'host');
    } else if (thinS !== null && !surelyOver) {
      // Met or missed on too few calls: the slowest call or two decide either way.
      open(`${figure} on ${calls} of the ${callsToJudge(objective.percentile)} calls ${name} needs (a ${thinS} s window gives them)`, thinS, 'thin');
    } else if (interval !== undefined && !surelyOver && interval.lowMs <= objective.ms && (interval.highMs === null || interval.highMs > objective.ms)) {
      const more = callsToDecide(calls, measured, interval, objective.ms);
      const windowS = more === null ? null : Math.ceil(more / o.targetRatePerS);
      const range = `${latencyText(interval.lowMs)}–${interval.highMs === null ? 'past the slowest call' : latencyText(interval.highMs)}`;
      open(
        `${figure} on ${calls} calls, its 95 % interval ${range} straddles the objective: inconclusive (${windowS === null ? 'a longer window decides it' : `about ${more} calls, a ${windowS} s window, decide it`})`,
        windowS,
        'thin',
      );
    } else if (over) j.missed.push(figure);
  }
  return j;
}

/**
 * Whether a configuration run at a target rate met the objectives on its response time, and why not. With --repeat,
 * every repetition is judged: the rate holds only if each one held. What a sample could not decide (too few calls
 * for a percentile, an interval straddling the objective, the host's stall or start delay) is not judged: neither
 * held nor missed, with the window that would decide it.
 */
export function judgeRate(c: ConfigurationResult, objectives: readonly Objective[]): RateVerdict {
  const o = c.openLoop!;
  const verdict = { targetRatePerS: o.targetRatePerS, achievedRatePerS: o.achievedRatePerS };
  if (o.interrupted) return { ...verdict, held: false, missed: ['interrupted: not measured'], interrupted: true };
  // A repetition the run was interrupted in is not judged; the whole ones are.
  const reps: Measured[] = c.repetitions?.every((r) => r.openLoop) ? (c.repetitions as Measured[]).filter((r) => !r.openLoop!.interrupted) : [c];
  const judged = reps.map((r) => ({ r, ...missesOf(r, c.tokens * c.threadsPerToken, objectives) }));
  const words = (j: (typeof judged)[number], list: string[]) => (reps.length > 1 ? list.map((m) => `repetition ${(c.repetitions as Measured[]).indexOf(j.r) + 1}: ${m}`) : list);
  const missed = judged.flatMap((j) => words(j, j.missed));
  const notJudged = judged.flatMap((j) => words(j, j.notJudged));
  const undecided = missed.length === 0 && notJudged.length > 0;
  const windowS = Math.max(0, ...judged.map((j) => j.windowS));
  const knownWindow = judged.every((j) => j.windowS >= 0) && windowS > 0;
  // A token that hung or stopped left the rate to the others: what it shows is theirs, not the configuration's.
  const short = tokensShortOf(c);
  const notWhole = short.hungTokens.length + short.stoppedTokens.length > 0;
  return {
    ...verdict,
    held: missed.length === 0 && notJudged.length === 0,
    missed,
    ...(notJudged.length > 0 ? { notJudged } : {}),
    ...(undecided && judged.some((j) => j.thin) ? { thin: true, ...(knownWindow ? { windowToJudgeS: windowS } : {}) } : {}),
    ...(undecided && judged.some((j) => j.hostStalled) ? { hostStalled: true } : {}),
    ...(notWhole ? { notWhole } : {}),
  };
}

/**
 * Per token count and sessions per token, the capacity: the highest rate of the sweep that held, counting up from
 * the lowest and stopping at the first that did not (a rate that held above one that failed is luck, not capacity).
 * A rate the data could not judge (notJudged: a thin sample, an interval straddling an objective, the harness's stall
 * or start delay) is never a pass, and does not stop the count either: it failed nothing, and a higher rate that held on a full
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
    const firstMissed = rates.findIndex((r) => r.missed.length > 0);
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
