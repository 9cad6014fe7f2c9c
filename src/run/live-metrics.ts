import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import type { Histogram } from 'hdr-histogram-js';
import type { ConfigurationStats } from '../stats/configuration-stats.js';
import { SESSION_CALLING, SESSION_LOST, SESSION_RECONNECTING, type RunControl } from '../measure/control.js';
import { VERIFY_FAILED } from '../model/record-status.js';

/**
 * What a run shows while it runs, for Prometheus: read from each configuration's statistics when scraped, so the
 * signing path does no work for it. Every series is labelled by its configuration (tokens-4-sessions-2-rate-100,
 * as its records are), so a counter only grows: a sweep's later configurations add series, never reset them. A lab's
 * runs (which may name their configurations alike) add their run's name as the label `run`.
 */

/** Bucket bounds of the time histograms, in seconds: a USB token's 5 ms to a network HSM's 100 µs, and stalls. */
const BUCKETS_S = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30];

/** A configuration as the metrics see it: its statistics, its tokens and its target. */
export interface WatchedConfiguration {
  name: string;
  stats: ConfigurationStats;
  /** Per token of the configuration, in the run's order: how it is named in the token_info series. */
  tokens: { label: string; serial: string; slotId: string }[];
  sessions: number;
  targetRatePerS: number | null;
  /** Its sessions' states and reconnects, and the host check's lag (sessions are numbered token by token). */
  control: RunControl;
}

/** A token's state: the StateSet's states, each a series of its own (1 for the token's state, 0 for the others). */
const TOKEN_STATES = ['ok', 'failing', 'reconnecting', 'lost'] as const;

/** The sessions of a token: numbered token by token, as run-configuration assigns them. */
function sessionsOf(c: WatchedConfiguration, token: number): number[] {
  const perToken = c.sessions / c.tokens.length;
  return Array.from({ length: perToken }, (_, thread) => token * perToken + thread);
}

/** Lost: every session of the token ended early; reconnecting: one reopens its session; failing: its latest call failed. */
function tokenState(c: WatchedConfiguration, token: number): (typeof TOKEN_STATES)[number] {
  const states = sessionsOf(c, token).map((session) => c.control.sessionState(session));
  if (states.every((s) => s === SESSION_LOST)) return 'lost';
  if (states.includes(SESSION_RECONNECTING)) return 'reconnecting';
  return c.stats.tokens[token]!.failingSinceUs === null ? 'ok' : 'failing';
}

type Labels = Record<string, string>;
type Sample = { labels: Labels; value: number; metricName?: string };
type Kind = 'counter' | 'gauge' | 'histogram';

/** The cumulative counts of an HDR histogram of µs at each bucket bound, with its sum in seconds. */
function bucketsOf(h: Histogram, name: string, labels: Labels): Sample[] {
  const counts = new Array<number>(BUCKETS_S.length).fill(0);
  let sumS = 0;
  const values = (h as unknown as { recordedValuesIterator: { reset(): void; hasNext(): boolean; next(): { valueIteratedTo: number; countAtValueIteratedTo: number } } }).recordedValuesIterator;
  values.reset();
  while (values.hasNext()) {
    const v = values.next();
    const s = v.valueIteratedTo / 1e6;
    sumS += s * v.countAtValueIteratedTo;
    for (let i = BUCKETS_S.findIndex((b) => s <= b); i >= 0 && i < BUCKETS_S.length; i++) counts[i]! += v.countAtValueIteratedTo;
  }
  return [
    ...BUCKETS_S.map((le, i) => ({ metricName: `${name}_bucket`, labels: { ...labels, le: String(le) }, value: counts[i]! })),
    { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.totalCount },
    { metricName: `${name}_sum`, labels, value: sumS },
    { metricName: `${name}_count`, labels, value: h.totalCount },
  ];
}

export class LiveMetrics {
  readonly registry = new Registry();
  private readonly watched: (WatchedConfiguration & { run?: string })[] = [];
  private running: WatchedConfiguration | null = null;
  private readonly runs: Labels[] = [];

  /** A lab's run being run: its name labels the series of its configurations (and its run_info). */
  labRun: string | undefined;

  constructor() {
    // The process's own figures (event-loop lag, CPU, memory): where the harness's stalls show.
    collectDefaultMetrics({ register: this.registry });
    this.metric('hsm_bench_run_info', 'gauge', 'the run: its id and what it measures', () => this.runs.map((labels) => ({ labels, value: 1 })));
    const labelsOf = (c: (typeof this.watched)[number]): Labels => ({ configuration: c.name, ...(c.run === undefined ? {} : { run: c.run }) });
    const perToken = (value: (c: WatchedConfiguration, token: number) => number, extra: Labels = {}) =>
      this.watched.flatMap((c) => c.tokens.map((_, token) => ({ labels: { ...labelsOf(c), token: String(token), ...extra }, value: value(c, token) })));
    const perConfiguration = (value: (c: WatchedConfiguration) => number | null) =>
      this.watched.flatMap((c) => {
        const v = value(c);
        return v === null ? [] : [{ labels: labelsOf(c), value: v }];
      });
    this.metric('hsm_bench_token_info', 'gauge', "each token of a configuration: its index in the run's tokens, label, serial and slot", () =>
      this.watched.flatMap((c) => c.tokens.map((t, token) => ({ labels: { ...labelsOf(c), token: String(token), label: t.label, serial: t.serial, slot: t.slotId }, value: 1 }))),
    );
    this.metric('hsm_bench_calls_total', 'counter', 'calls recorded (after their host check), by token and outcome', () => [
      ...perToken((c, t) => c.stats.tokens[t]!.operationsOk, { outcome: 'ok' }),
      ...perToken((c, t) => c.stats.tokens[t]!.operationsFailed, { outcome: 'failed' }),
    ]);
    this.metric('hsm_bench_calls_timed_out_total', 'counter', 'calls that never returned (of the failed ones), by token', () => perToken((c, t) => c.stats.tokens[t]!.operationsTimedOut));
    this.metric('hsm_bench_operation_calls_total', 'counter', "a mix's calls recorded, by operation and outcome", () =>
      this.watched.flatMap((c) =>
        [...c.stats.byOperation].flatMap(([operation, o]) => [
          { labels: { ...labelsOf(c), operation, outcome: 'ok' }, value: o.operationsOk },
          { labels: { ...labelsOf(c), operation, outcome: 'failed' }, value: o.operationsFailed },
        ]),
      ),
    );
    this.metric('hsm_bench_failures_total', 'counter', 'failed calls by status (a CKR code, or a wrong result found by the host check)', () =>
      this.watched.flatMap((c) => [...c.stats.failuresByStatus].map(([status, n]) => ({ labels: { ...labelsOf(c), status }, value: n }))),
    );
    this.metric('hsm_bench_outages_total', 'counter', 'streaks of failures of a token', () => perToken((c, t) => c.stats.tokens[t]!.outages));
    this.metric('hsm_bench_token_failing', 'gauge', 'whether the latest call of a token failed (1) or succeeded (0)', () => perToken((c, t) => (c.stats.tokens[t]!.failingSinceUs === null ? 0 : 1)));
    this.metric('hsm_bench_token_state', 'gauge', 'the state of each token, a state set: 1 for its state (ok, failing, reconnecting or lost), 0 for the others', () =>
      TOKEN_STATES.flatMap((state) => perToken((c, t) => (tokenState(c, t) === state ? 1 : 0), { state })),
    );
    this.metric('hsm_bench_reconnects_total', 'counter', 'sessions of a token opened again after a failure (burn-in)', () =>
      perToken((c, t) => sessionsOf(c, t).reduce((sum, session) => sum + c.control.reconnectsOf(session), 0)),
    );
    this.metric('hsm_bench_verification_lag_seconds', 'gauge', 'how far the host check is behind: the age of the oldest batch of calls made and not yet checked and recorded', () =>
      perConfiguration((c) => c.control.checkLagS()),
    );
    this.metric('hsm_bench_host_checks_total', 'counter', 'calls whose result was checked on the host, by outcome (passed, or failed: VERIFY_FAILED)', () =>
      this.watched.flatMap((c) => {
        const failed = c.stats.failuresByStatus.get(VERIFY_FAILED) ?? 0;
        return [
          { labels: { ...labelsOf(c), outcome: 'passed' }, value: c.stats.operationsVerified - failed },
          { labels: { ...labelsOf(c), outcome: 'failed' }, value: failed },
        ];
      }),
    );
    this.metric('hsm_bench_service_time_seconds', 'histogram', 'how long each call took in the token (successful calls), by token', () =>
      this.watched.flatMap((c) => c.tokens.flatMap((_, t) => bucketsOf(c.stats.tokens[t]!.latencyUs, 'hsm_bench_service_time_seconds', { ...labelsOf(c), token: String(t) }))),
    );
    this.metric('hsm_bench_response_time_seconds', 'histogram', "at a target rate: from each successful call's intended start to its end", () =>
      this.watched.filter((c) => c.targetRatePerS !== null).flatMap((c) => bucketsOf(c.stats.responseUs, 'hsm_bench_response_time_seconds', labelsOf(c))),
    );
    this.metric('hsm_bench_target_rate_per_second', 'gauge', 'the target rate of an open-loop configuration (calls per second)', () => perConfiguration((c) => c.targetRatePerS));
    this.metric('hsm_bench_achieved_rate_per_second', 'gauge', 'calls recorded per second of the window so far', () =>
      perConfiguration((c) => (c.stats.windowEndUs > 0 ? (c.stats.operationsOk + c.stats.operationsFailed) / (c.stats.windowEndUs / 1e6) : 0)),
    );
    this.metric('hsm_bench_calls_late_total', 'counter', 'at a target rate: calls that started after their intended start (no session was free)', () =>
      perConfiguration((c) => (c.targetRatePerS === null ? null : c.stats.late)),
    );
    this.metric('hsm_bench_host_stall_seconds_max', 'gauge', 'at a target rate: the longest a free session woke after its call was due (the host held it)', () =>
      perConfiguration((c) => (c.targetRatePerS === null ? null : c.stats.hostStallUs / 1e6)),
    );
    this.metric('hsm_bench_sessions', 'gauge', 'sessions calling at once in a configuration', () => perConfiguration((c) => c.sessions));
    this.metric('hsm_bench_sessions_calling', 'gauge', 'sessions of a configuration making calls now: not reconnecting, lost or done', () =>
      perConfiguration((c) => Array.from({ length: c.sessions }, (_, session) => c.control.sessionState(session)).filter((state) => state === SESSION_CALLING).length),
    );
    this.metric('hsm_bench_configuration_running', 'gauge', 'whether a configuration is being measured now', () => perConfiguration((c) => (c === this.running ? 1 : 0)));
  }

  /** A run has its id (its directory's name): its run_info series. */
  runStarted(runId: string, workload: string): void {
    this.runs.push({ run_id: runId, workload, ...(this.labRun === undefined ? {} : { run: this.labRun }) });
  }

  /** A configuration starts: its series appear, and stay after it ends. */
  started(c: WatchedConfiguration): void {
    this.running = { ...c, ...(this.labRun === undefined ? {} : { run: this.labRun }) };
    this.watched.push(this.running);
  }

  ended(): void {
    this.running = null;
  }

  private metric(name: string, type: Kind, help: string, values: () => Sample[]): void {
    const metric = { name, help, type, aggregator: 'sum', collect: () => undefined, get: async () => ({ name, help, type, aggregator: 'sum', values: values() }) };
    this.registry.registerMetric(metric as unknown as Metric);
  }
}
