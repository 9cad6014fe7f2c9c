import { efficiencyBasisIn, efficiencyRangeOf } from './efficiency.js';
import type { ConfigurationResult, RunResult, TokenIdentity } from '../model/run-result.js';
import { capacityOf } from './capacity.js';
import { saturationOf } from './saturation.js';
import type { ConfigurationStats } from './configuration-stats.js';
import { achievedIntervalUs, correctedPercentilesMs, encodeHistogram, percentilesMs } from './latency-histogram.js';
import { percentileByInterval, type IntervalLatency } from './interval-latency.js';
import { HOST_STALL_MIN_US, keepingUp } from './keeping-up.js';
import { lowConfidence } from './repetitions.js';
import { responseOfSchedule } from './backlog-response.js';
import { stallMinUs, stallsOf } from './stalls.js';
import type { Hole } from './success-gaps.js';

/**
 * What the stages produced for one configuration: the statistics the recorder kept, where the records are, what
 * ended signers early, and the facts of the stages that ran (absent where they did not: a report recounting records).
 */
export interface Measured {
  stats: ConfigurationStats;
  recordsFile: string;
  workerIssues: ConfigurationResult['workerIssues'];
  hungSessions?: ConfigurationResult['hungSessions'];
  verificationLagS?: number;
  operationsVerifiedLate?: number;
  operationsUnverified?: number;
  operationsLost?: number;
  partial?: ConfigurationResult['partial'];
  maxEventLoopStallMs?: number;
  /** The host's longest stall within the window (src/measure/host-stall-monitor.ts), µs; absent in a recount from records. */
  hostStallUs?: number;
  /** The host's stalls within the window, µs on the run's time axis; absent in a recount from records. */
  hostStalls?: Hole[];
  /**
   * Stretches of the window, µs on the run's time axis, that the facts above (host stalls, event loop, verification
   * lag, CPU) do not cover: a segment of a burn-in was killed after its records reached the disk, before it saved them.
   */
  harnessNotKnown?: Hole[];
  /** Where on the run's time axis the facts above reach to (a burn-in's checkpoint keeps it for a resume). */
  harnessUntilUs?: number;
  /** What the CPUs did during the window; absent in a recount from records. */
  cpu?: ConfigurationResult['cpu'];
  setupS?: number;
  /** When the window opened by the host's clock, ISO with ms; absent in a recount from records. */
  windowStartedAt?: string;
}

/** The percentiles a comparison may gate on, each over the runs of intervals with calls enough for it. */
export const percentilesByInterval = (l: IntervalLatency) => ({ p50: percentileByInterval(l.intervals, 50), p90: percentileByInterval(l.intervals, 90), p99: percentileByInterval(l.intervals, 99) });

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** A token's own stalls and their time: silent while the others may have signed, which the cluster's figures hide. */
function tokenStalls(holes: readonly Hole[], minUs: number): { stalls: number; stalledS: number } {
  const long = holes.filter((h) => h.endUs - h.startUs >= minUs);
  return { stalls: long.length, stalledS: round(long.reduce((sum, h) => sum + h.endUs - h.startUs, 0) / 1e6, 3) };
}

/** The result of one configuration, from its running totals. Efficiency is filled in across configurations. */
export function summarizeConfiguration(
  run: Measured,
  tokens: readonly Pick<TokenIdentity, 'label' | 'serial' | 'slotId'>[],
  threadsPerToken: number,
  schedule: { targetRatePerS: number; calls: number; interrupted: boolean } | null = null,
): ConfigurationResult {
  const s = run.stats;
  const durationS = s.windowEndUs / 1e6;
  // An interrupted schedule's missing calls were cut off by the interruption, not left behind by the tokens.
  const notStarted = schedule === null || schedule.interrupted ? 0 : Math.max(0, schedule.calls - s.operationsOk - s.operationsFailed);
  // Seen by the run's monitor (a stall inside a call or across the deadline too), or by a session that woke late.
  const hostStallUs = Math.max(s.hostStallUs, run.hostStallUs ?? 0);
  const kept = schedule === null ? null : keepingUp(s.startsUs, schedule.targetRatePerS, notStarted, hostStallUs);
  const achieved = kept?.achievedRatePerS ?? 0;
  // A token with a session given up inside a call had no success from its last one on: the call is recorded as timed
  // out, or, when it was still in flight at a stop, not at all (it has no outcome).
  const hungTokens = new Set((run.hungSessions ?? []).map((h) => h.token));
  // Flat out only: at a target rate the response time (from each intended start) already counts the waits.
  const corrected = schedule === null ? correctedPercentilesMs(s.latencyUs, achievedIntervalUs(s.windowEndUs, tokens.length * threadsPerToken, s.operationsOk + s.operationsFailed)) : null;
  const openLoop = kept === null ? undefined : openLoopOf(s, kept, hostStallUs, schedule!, notStarted);
  // Up to the window's end for a token that never recovered: a streak still open (stillFailingS), or a session hung.
  const failingAtEnd = s.tokens.map((t, i) => t.failingSinceUs !== null || hungTokens.has(i));
  const holesByToken = s.tokens.map((t, i) => t.successes.holes(0, s.windowEndUs, failingAtEnd[i]!));
  const minStallUs = stallMinUs(s.latencyUs.totalCount > 0 ? s.latencyUs.getValueAtPercentile(50) : 0, schedule ? (1e6 * tokens.length) / schedule.targetRatePerS : 0);
  const stalls = stallsOf(holesByToken, s.successes.holes(0, s.windowEndUs, failingAtEnd.every(Boolean)), minStallUs, run.hostStalls, run.harnessNotKnown);
  // A token lost (stopped early, or hung) was in an outage to the end; a last failed call alone is not one.
  const lostTokens = new Set([...hungTokens, ...run.workerIssues.map((w) => w.token)]);
  // One definition of a rate for the configuration, each token and each operation of a mix, so that theirs add up to
  // the configuration's. At a target rate: the successful calls at the pace the calls were started (src/stats/keeping-up.ts),
  // as the window from the first start to the last end holds one interval less than the calls, and one late start
  // would stretch it. Flat out: over the configuration's window.
  const rateOf = (ok: number) => (schedule ? (s.scheduled > 0 ? (ok / s.scheduled) * achieved : 0) : durationS > 0 ? ok / durationS : 0);
  return {
    tokens: tokens.length,
    threadsPerToken,
    operationsOk: s.operationsOk,
    operationsFailed: s.operationsFailed,
    operationsVerified: s.operationsVerified,
    failuresByCkr: Object.fromEntries([...s.failuresByStatus].sort(([, a], [, b]) => b - a)),
    durationS: round(durationS, 6),
    throughputPerS: round(rateOf(s.operationsOk), 2),
    efficiency: null,
    perToken: s.tokens.map((t, i) => {
      // A token that worked to the end is rated as the configuration is (its rates add up to the configuration's); one
      // that hung, stopped early or was failing at the end over its time in the run: from the window's start to its last
      // call that returned (or the start of one that never did), or to when its sessions stopped trying to get it back
      // (the waits and reconnects after its last call are its time too).
      const activeS = t.lastEndUs / 1e6;
      const stoppedEarly = lostTokens.has(i) || failingAtEnd[i]!;
      const throughputPerS = stoppedEarly ? (activeS > 0 ? t.operationsOk / activeS : 0) : rateOf(t.operationsOk);
      return {
        token: i,
        label: tokens[i]!.label,
        serial: tokens[i]!.serial,
        slotId: tokens[i]!.slotId,
        operationsOk: t.operationsOk,
        operationsFailed: t.operationsFailed,
        operationsTimedOut: t.operationsTimedOut,
        throughputPerS: round(throughputPerS, 2),
        latencyMs: percentilesMs(t.latencyUs),
        longestGapMs: round(t.successes.longestUs(0, s.windowEndUs, failingAtEnd[i]!) / 1000, 3),
        ...outagesOf(t, s.windowEndUs, lostTokens.has(i)),
        ...tokenStalls(holesByToken[i]!, minStallUs),
        stillFailingS: t.failingSinceUs === null ? null : round((s.windowEndUs - t.failingSinceUs) / 1e6, 3),
      };
    }),
    latencyMs: percentilesMs(s.latencyUs),
    ...(corrected ? { correctedLatencyMs: corrected } : {}),
    ...(s.failedLatencyUs.totalCount > 0 ? { failedLatencyMs: percentilesMs(s.failedLatencyUs) } : {}),
    timeSeries: { intervalS: 1, ok: s.okPerSecond, failed: s.failedPerSecond },
    latencyByIntervalMs: percentilesByInterval(s.latencyByInterval),
    recordsFile: run.recordsFile,
    ...(run.verificationLagS === undefined ? {} : { verificationLagS: round(run.verificationLagS, 3) }),
    ...(run.operationsVerifiedLate === undefined ? {} : { operationsVerifiedLate: run.operationsVerifiedLate }),
    ...(run.operationsUnverified ? { operationsUnverified: run.operationsUnverified } : {}),
    ...(run.operationsLost ? { operationsLost: run.operationsLost } : {}),
    ...(run.partial ? { partial: run.partial } : {}),
    ...(run.maxEventLoopStallMs === undefined ? {} : { maxEventLoopStallMs: round(run.maxEventLoopStallMs, 1) }),
    ...(run.setupS === undefined ? {} : { setupS: round(run.setupS, 2) }),
    ...(run.windowStartedAt === undefined ? {} : { windowStartedAt: run.windowStartedAt }),
    ...(s.latencyUs.totalCount > 0 ? { latencyHistogram: encodeHistogram(s.latencyUs) } : {}),
    workerIssues: run.workerIssues,
    ...(run.hungSessions === undefined ? {} : { hungSessions: run.hungSessions }),
    lowConfidence: lowConfidence({ operationsOk: s.operationsOk, durationS }),
    stalls,
    ...(run.cpu ? { cpu: run.cpu } : {}),
    ...(run.harnessNotKnown?.length ? { harnessNotKnown: run.harnessNotKnown.map((h) => ({ atS: round(h.startUs / 1e6, 3), durationS: round((h.endUs - h.startUs) / 1e6, 3) })) } : {}),
    // A mix (--mix): each operation's share, rate as the configuration's, and latency.
    ...(openLoop ? { openLoop } : {}),
    ...(s.mixed
      ? {
          byOperation: [...s.byOperation].map(([operation, o]) => ({
            operation,
            operationsOk: o.operationsOk,
            operationsFailed: o.operationsFailed,
            operationsVerified: o.operationsVerified,
            throughputPerS: round(rateOf(o.operationsOk), 2),
            latencyMs: percentilesMs(o.latencyUs),
            ...(openLoop ? { responseMs: percentilesMs(o.responseUs, true) } : {}),
          })),
        }
      : {}),
  };
}

/**
 * A token's outages: the streaks that ended, and the one open at the end when it held several failed calls, the
 * token was lost, or a session of it was still waiting or reconnecting for it when it stopped trying (failingUntilUs);
 * a token lost without a single call returning (its session never opened, a PIN refused) was out for the whole window.
 */
function outagesOf(t: ConfigurationStats['tokens'][number], windowEndUs: number, lost: boolean): { outages: number; outageS: number } {
  const neverServed = lost && t.operationsOk === 0 && t.failingSinceUs === null;
  const sinceUs = neverServed ? 0 : t.failingSinceUs;
  const open = sinceUs !== null && (t.failingCalls > 1 || lost || t.failingUntilUs !== null);
  const outageUs = t.outageUs + (open ? Math.max(0, windowEndUs - sinceUs) : 0);
  return { outages: t.outages + (open ? 1 : 0), outageS: round(outageUs / 1e6, 3) };
}

/**
 * A schedule's outcome (`notStarted`: the calls it had in the window that never started; `achievedRatePerS`: the
 * pace of their starts, src/stats/keeping-up.ts). Every call started counts, successful or not: a failure is judged
 * as a failure, not as falling behind.
 */
function openLoopOf(
  s: ConfigurationStats,
  kept: ReturnType<typeof keepingUp>,
  hostStallUs: number,
  schedule: { targetRatePerS: number; calls: number; interrupted: boolean },
  notStarted: number,
): NonNullable<ConfigurationResult['openLoop']> {
  const { targetRatePerS, interrupted } = schedule;
  // Calls never started count in the response percentiles with the wait they had reached (src/stats/backlog-response.ts).
  const { histogram: responses, ...response } = responseOfSchedule(s.responseUs, schedule, notStarted, s.windowEndUs, !kept.keptUp && !kept.hostStalled, s.lateLagUs.maxValue);
  return {
    targetRatePerS,
    achievedRatePerS: round(kept.achievedRatePerS, 2),
    keptUp: kept.keptUp,
    ...(hostStallUs >= HOST_STALL_MIN_US ? { hostStallMs: round(hostStallUs / 1000, 1) } : {}),
    ...(kept.hostStalled ? { hostStalled: true as const } : {}),
    ...(kept.tooShort ? { scheduleTooShort: true as const } : {}),
    notStarted,
    ...(interrupted ? { interrupted: true } : {}),
    ...response,
    ...(responses.totalCount > 0 ? { responseHistogram: encodeHistogram(responses) } : {}),
    responseByIntervalMs: percentilesByInterval(s.responseByInterval),
    late: {
      operations: s.late,
      sharePct: s.scheduled > 0 ? round((100 * s.late) / s.scheduled, 2) : 0,
      lagMs: percentilesMs(s.lateLagUs),
      ...(s.lateLagUs.totalCount > 0 ? { lagHistogram: encodeHistogram(s.lateLagUs) } : {}),
    },
  };
}

/**
 * Scaling efficiency = throughput(N) / (N × throughput(1)), against the 1-token configuration with as many sessions
 * per token and the same data size; flat-out configurations only (at a target rate the throughput is the rate asked for).
 */
export function withEfficiency(configurations: ConfigurationResult[]): ConfigurationResult[] {
  return configurations.map((c) => {
    const single = efficiencyBasisIn(configurations, c);
    const efficiency = single && single.throughputPerS > 0 ? round(c.throughputPerS / (c.tokens * single.throughputPerS), 3) : null;
    const { efficiencyRange: _old, ...rest } = c;
    // With --repeat, the range its repetitions allow, round by round; the 1-token basis is 1 however it spreads.
    const range = efficiency === null || single === c ? null : efficiencyRangeOf(c, single!, efficiency);
    return { ...rest, efficiency, ...(range ? { efficiencyRange: { min: round(range.min, 3), median: range.median, max: round(range.max, 3) } } : {}) };
  });
}

/**
 * What run.json derives from its configurations, wherever they come from (a run, or `report` counting a killed run's
 * records): efficiency, a rate sweep's capacity, a sessions sweep's knee.
 */
export function runFigures(
  command: RunResult['command'],
  plan: Pick<RunResult['plan'], 'targetRate' | 'objectives'>,
  configurations: ConfigurationResult[],
): Pick<RunResult, 'configurations' | 'capacity' | 'saturation'> {
  const measured = withEfficiency(configurations);
  // A sweep's answer; a burn-in at one rate is judged by its own figures (served, response, late), not a capacity.
  const capacity = plan.targetRate && command === 'scale' ? capacityOf(measured, plan.objectives ?? []) : [];
  const saturation = saturationOf(measured);
  return { configurations: measured, ...(capacity.length > 0 ? { capacity } : {}), ...(saturation.length > 0 ? { saturation } : {}) };
}
