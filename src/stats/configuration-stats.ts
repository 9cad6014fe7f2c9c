import { recordInto } from './histogram-record.js';
import type { Histogram } from 'hdr-histogram-js';
import { CALL_TIMED_OUT_STATUS } from '../model/record-status.js';
import type { CallRecord } from '../model/record.js';
import { startOffsetHistogram } from './keeping-up.js';
import { denseLatencyHistogram } from './latency-histogram.js';
import { SuccessGaps } from './success-gaps.js';
import { IntervalLatency } from './interval-latency.js';

/** What is counted per token: completed signatures, failures, the active window and the latency distribution. */
export interface TokenStats {
  operationsOk: number;
  operationsFailed: number;
  /** Of operationsFailed, calls that never returned (CALL_TIMED_OUT): their latency is in no percentile. */
  operationsTimedOut: number;
  /**
   * The end of its last call that returned, the start of a later one that never did, or when its sessions stopped
   * trying to get it back after a failure (failingUntil): the end of its active window.
   */
  lastEndUs: number;
  latencyUs: Histogram;
  /** When its successful calls ended: its longest gap is the longest time without one. */
  successes: SuccessGaps;
  /** Outages: streaks of failures, from the first failure's start to the next success's start. */
  outages: number;
  outageUs: number;
  failingSinceUs: number | null;
  /** Failed calls in the streak still open (0 when none is). */
  failingCalls: number;
  /**
   * The streak still open lasted at least to here: a session of the token stopped trying to get it back then (it gave
   * up, or the run ended while it waited or reconnected); null when none did. No call marks that time.
   */
  failingUntilUs: number | null;
  /** When its latest successful call started. */
  lastOkStartUs: number;
}

/** What is counted per operation of a workload (--mix): its successes, failures, checks and latency. */
export interface OperationStats {
  operationsOk: number;
  operationsFailed: number;
  operationsVerified: number;
  latencyUs: Histogram;
  /** Open loop: response times (from the intended start) of this operation's successful calls. */
  responseUs: Histogram;
}

const newOperationStats = (): OperationStats => ({ operationsOk: 0, operationsFailed: 0, operationsVerified: 0, latencyUs: denseLatencyHistogram(), responseUs: denseLatencyHistogram() });

/**
 * Running totals of one configuration, fed one signature at a time. Only counters, histograms and per-second
 * buckets are kept, so memory does not grow with the number of signatures.
 */
export class ConfigurationStats {
  readonly tokens: TokenStats[];
  readonly latencyUs = denseLatencyHistogram();
  /** When any token's successful calls ended: the cluster's times without a success (every token stalled at once). */
  readonly successes = new SuccessGaps();
  /** The successful calls' latencies by when they ended: the window's own noise, for comparisons. */
  readonly latencyByInterval = new IntervalLatency();
  /** Failed calls that returned: how long a call took to fail, kept apart from the successes' service time. */
  readonly failedLatencyUs = denseLatencyHistogram();
  readonly failuresByStatus = new Map<string, number>();
  readonly okPerSecond: number[] = [];
  readonly failedPerSecond: number[] = [];
  /** By operation name (records written before operations count under ''). */
  readonly byOperation = new Map<string, OperationStats>();
  operationsOk = 0;
  operationsFailed = 0;
  operationsVerified = 0;
  /**
   * The end of the measured window (µs on the run's time axis, which starts at 0): the end of the last call that
   * returned, never a call that did not (it has no end), unless the harness measured longer (windowLastsUntil), or a
   * session tried to get its failing token back until later (failingUntil).
   */
  windowEndUs = 0;
  /**
   * Open loop (--rate): the response time of each successful call (from its intended start to its end), the calls
   * that were late (no session free at their intended start) and by how much they started late. Empty otherwise.
   */
  readonly responseUs = denseLatencyHistogram();
  readonly responseByInterval = new IntervalLatency();
  readonly lateLagUs = denseLatencyHistogram();
  /** Open loop: when each call started, µs into the window: whether the tokens kept up is judged on them (src/stats/keeping-up.ts). */
  readonly startsUs = startOffsetHistogram();
  scheduled = 0;
  late = 0;
  /** Open loop: the longest a session free for its call woke after the call's intended start (the host kept it). */
  hostStallUs = 0;

  /** Whether the workload is a mix: then its results are given per operation too. */
  readonly mixed: boolean;

  /** `operations`: the workload's, in its order (a mix's are reported so); one operation is no mix. */
  constructor(tokenCount: number, operations: readonly string[] = []) {
    this.mixed = operations.length > 1;
    if (this.mixed) for (const name of operations) this.byOperation.set(name, newOperationStats());
    this.tokens = Array.from({ length: tokenCount }, () => ({
      operationsOk: 0,
      operationsFailed: 0,
      operationsTimedOut: 0,
      lastEndUs: 0,
      latencyUs: denseLatencyHistogram(),
      successes: new SuccessGaps(),
      outages: 0,
      outageUs: 0,
      failingSinceUs: null,
      failingCalls: 0,
      failingUntilUs: null,
      lastOkStartUs: Number.NEGATIVE_INFINITY,
    }));
  }

  /** `failure` is the CKR name (or VERIFY_FAILED) of a failed call, undefined for a good one. */
  add(token: number, r: Pick<CallRecord, 'startOffsetUs' | 'latencyUs' | 'operation' | 'verified' | 'startLagUs' | 'late'>, failure: string | undefined): void {
    const { startOffsetUs, latencyUs, operation } = r;
    const checked = r.verified !== null;
    const t = this.tokens[token]!;
    let op = this.byOperation.get(operation);
    if (op === undefined) {
      op = newOperationStats();
      this.byOperation.set(operation, op);
    }
    if (r.startLagUs !== null) {
      this.scheduled++;
      recordInto(this.startsUs, Math.max(0, Math.round(startOffsetUs)));
      if (failure === undefined) {
        const responseUs = Math.max(1, Math.round(r.startLagUs + latencyUs));
        recordInto(this.responseUs, responseUs);
        this.responseByInterval.add(startOffsetUs + latencyUs, responseUs);
        recordInto(op.responseUs, responseUs);
      }
      if (r.late) {
        this.late++;
        recordInto(this.lateLagUs, Math.max(1, Math.round(r.startLagUs)));
      } else this.hostStallUs = Math.max(this.hostStallUs, r.startLagUs);
    }
    if (checked) {
      this.operationsVerified++;
      op.operationsVerified++;
    }
    // A call that never returned has a start and no end: it counts where it started, and stretches no window.
    const returned = failure !== CALL_TIMED_OUT_STATUS;
    const endUs = returned ? startOffsetUs + latencyUs : startOffsetUs;
    t.lastEndUs = Math.max(t.lastEndUs, endUs);
    this.windowEndUs = Math.max(this.windowEndUs, endUs);
    this.countInSecond(Math.floor(endUs / 1e6), failure === undefined);
    if (failure === undefined) {
      // Records of a token's threads arrive batch by batch, not in time order: a success that started before the
      // streak of failures (another thread's) does not end it, so an outage is never negative.
      if (t.failingSinceUs !== null && startOffsetUs >= t.failingSinceUs) {
        t.outages++;
        t.outageUs += startOffsetUs - t.failingSinceUs;
        t.failingSinceUs = null;
        t.failingCalls = 0;
        t.failingUntilUs = null;
      }
      t.lastOkStartUs = Math.max(t.lastOkStartUs, startOffsetUs);
      t.operationsOk++;
      this.operationsOk++;
      // Latency percentiles describe signatures that were made; failures are counted by status instead.
      recordInto(t.latencyUs, Math.max(1, Math.round(latencyUs)));
      recordInto(this.latencyUs, Math.max(1, Math.round(latencyUs)));
      this.latencyByInterval.add(endUs, latencyUs);
      op.operationsOk++;
      recordInto(op.latencyUs, Math.max(1, Math.round(latencyUs)));
      t.successes.add(endUs);
      this.successes.add(endUs);
    } else {
      // A failure recorded after a later success of another session (a call that never returned is recorded only
      // when it is given up) did not leave the token failing: the other sessions served on. It opens no streak.
      if (startOffsetUs > t.lastOkStartUs) {
        t.failingSinceUs = Math.min(t.failingSinceUs ?? startOffsetUs, startOffsetUs);
        t.failingCalls++;
      }
      t.operationsFailed++;
      if (!returned) t.operationsTimedOut++;
      else recordInto(this.failedLatencyUs, Math.max(1, Math.round(latencyUs)));
      this.operationsFailed++;
      op.operationsFailed++;
      this.failuresByStatus.set(failure, (this.failuresByStatus.get(failure) ?? 0) + 1);
    }
  }

  /**
   * The harness measured until `endUs` though no call returned near then: every session left was hung until the
   * deadline or a stop (src/run/run-configuration.ts). The window and its time series reach it.
   */
  windowLastsUntil(endUs: number): void {
    this.windowEndUs = Math.max(this.windowEndUs, endUs);
    while (this.okPerSecond.length < Math.ceil(endUs / 1e6)) this.grow();
  }

  /**
   * A session of `token` stopped trying to get its failing token back at `endUs` (it gave up, or the run ended while
   * it waited out its back-off or reconnected): the token failed to then, though its last record ended earlier. That
   * time is the token's (its outage, its active time) and the window's. Called once every record is counted; a
   * streak that another session's success ended meanwhile is over, and one that began after `endUs` is not this one.
   */
  failingUntil(token: number, endUs: number): void {
    const t = this.tokens[token]!;
    if (t.failingSinceUs === null || endUs < t.failingSinceUs) return;
    t.failingUntilUs = Math.max(t.failingUntilUs ?? endUs, endUs);
    t.lastEndUs = Math.max(t.lastEndUs, endUs);
    this.windowLastsUntil(endUs);
  }

  /** Counts a call in second `second` of the window: by when it ended, or for a call that never returned, when it started. */
  private countInSecond(second: number, ok: boolean): void {
    while (this.okPerSecond.length <= second) this.grow();
    if (ok) this.okPerSecond[second]!++;
    else this.failedPerSecond[second]!++;
  }

  private grow(): void {
    this.okPerSecond.push(0);
    this.failedPerSecond.push(0);
  }
}
