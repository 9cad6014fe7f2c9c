import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigurationResult, RunResult } from '../src/model/run-result.js';
import { scalePlan as planOfInput } from '../src/plan/plan.js';
import { planInputFromFlags } from '../src/plan/plan-flags.js';

/** What the command line gives, read as scale reads it. */
const scalePlan = (flags: object) => planOfInput(planInputFromFlags(flags));
import { capacityOf, judgeRate } from '../src/stats/capacity.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { callsToJudge, rateWindowS } from '../src/stats/rate-window.js';
import { summarizeConfiguration } from '../src/stats/summarize.js';
import { rateCurveChart } from '../src/report/sizing-charts.js';
import { capacityRateMark, capacityTable, rateTable, sizingAnswer } from '../src/report/sizing-tables.js';
import { orderStatisticRanks, percentileIntervalMs } from '../src/stats/percentile-interval.js';
import { latencyHistogram } from '../src/stats/latency-histogram.js';
import { planLine } from '../src/report/describe-run.js';
import { HsmBenchError } from '../src/core/errors.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';

/** A configuration at a target rate with what the sizing answer reads: calls, window, response and service p99 (its slowest call 200 ms unless told). */
const at = (
  tokens: number,
  rate: number,
  o: {
    calls?: number;
    durationS?: number;
    p99?: number;
    p99Interval?: { lowMs: number; highMs: number | null };
    serviceP99?: number;
    serviceMax?: number;
    serviceMean?: number;
    keptUp?: boolean;
    notStarted?: number;
    late?: number;
  } = {},
) =>
  ({
    tokens,
    threadsPerToken: 1,
    operationsOk: o.calls ?? 1000,
    operationsFailed: 0,
    operationsVerified: 0,
    failuresByCkr: {},
    durationS: o.durationS ?? 5,
    throughputPerS: rate,
    efficiency: null,
    perToken: [],
    latencyMs: { p50: 1, p90: 1, p99: o.serviceP99 ?? 1, max: o.serviceMax ?? 200, mean: o.serviceMean ?? 1 },
    timeSeries: { intervalS: 1, ok: [], failed: [] },
    recordsFile: 'records/x.csv',
    workerIssues: [],
    openLoop: {
      targetRatePerS: rate,
      achievedRatePerS: o.keptUp === false ? rate * 0.6 : rate,
      keptUp: o.keptUp ?? true,
      notStarted: o.notStarted ?? 0,
      responseMs: { p50: 1, p90: 2, p99: o.p99 ?? 5, p999: o.p99 ?? 5, max: 200, mean: 1 },
      ...(o.p99Interval ? { responseIntervalMs: { p99: o.p99Interval } } : {}),
      late: { operations: 0, sharePct: o.late ?? 0, lagMs: null },
    },
  }) as ConfigurationResult;

const p99 = (ms: number) => [{ percentile: 'p99' as const, ms }];
const runOf = (configurations: ConfigurationResult[], objectives: ReturnType<typeof p99>, tokenCounts: number[]) =>
  ({
    command: 'scale',
    runId: 'r',
    algorithm: { id: 'p256', displayName: 'ECDSA P-256', family: 'ec', bits: 256, curve: 'P-256' },
    tokens: [],
    startedAt: '2026-12-03T20:00:00.000Z',
    backend: { kind: 'module' },
    module: { libraryDescription: 'slow tokens', libraryVersion: '1.0' },
    configurations,
    capacity: capacityOf(configurations, objectives),
    plan: {
      tokenCounts,
      threadsPerToken: [1],
      targetRate: { perS: [], per: 'configuration' },
      objectives,
      durationS: 2,
      rateWindowMaxS: 60,
      operationsPerToken: null,
      warmupOperationsPerToken: 10,
      verify: { mode: 'none', every: 0 },
    },
  }) as unknown as RunResult;

describe("a rate's window holds the calls its objectives' percentiles need", () => {
  it('is as long as 1,000 calls for p99 (10,000 for p99.9) take at the rate, never under --duration, up to --max-window', () => {
    expect(callsToJudge('p99')).toBe(1000);
    expect(callsToJudge('p999')).toBe(10000);
    expect(callsToJudge('p50')).toBe(20);
    // 25/s: 125 calls in 5 s; 1,020 calls (2 % spare for calls a deadline keeps from starting) take 40.8 s.
    expect(rateWindowS(5, 60, 25, p99(100))).toBeCloseTo(40.8, 5);
    expect(rateWindowS(2, 60, 16000, p99(20))).toBe(2);
    expect(rateWindowS(2, 60, 10, [{ percentile: 'p999', ms: 50 }])).toBe(60);
    expect(rateWindowS(2, 2, 25, p99(100))).toBe(2);
    expect(rateWindowS(2, 60, 25, [])).toBe(2);
  });
  it('--max-window defaults to 60 s, is never under --duration, and needs a duration sweep with an objective', () => {
    const base = { alg: 'p256', tokens: '1', warmup: '10', threadsPerToken: '1', verify: 'none', workspace: '/tmp/ws', out: 'reports' };
    expect(scalePlan({ ...base, rate: '25,50', sloP99: '100ms', duration: '5s' }).rateWindowMaxS).toBe(60);
    expect(scalePlan({ ...base, rate: '25,50', sloP99: '100ms', duration: '90s', maxWindow: '10s' }).rateWindowMaxS).toBe(90);
    expect(scalePlan({ ...base, rate: '25,50', sloP99: '100ms', signaturesPerToken: '100' }).rateWindowMaxS).toBeNull();
    expect(() => scalePlan({ ...base, rate: '25,50', duration: '5s', maxWindow: '10s' })).toThrow(HsmBenchError);
  });
  it('a scale run at a low rate measures the calls p99 needs, and says so in its plan', () => {
    const out = tempDir('rate-window');
    const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--rate', '500', '--slo-p99', '1s', '--duration', '1s', '--verify', 'none', '--warmup', '5', '--out', out], {
      HSM_BENCH_WORKSPACE: tempDir('ws'),
    });
    expect(r.status, r.stderr).toBe(0);
    const run = JSON.parse(readFileSync(join(runDirOf(r), 'run.json'), 'utf8')) as RunResult;
    const [c] = run.configurations;
    // 1 s at 500/s is 500 calls; the window grew to 1,020 calls (2.04 s).
    expect(c!.operationsOk + c!.operationsFailed + c!.openLoop!.notStarted).toBeGreaterThanOrEqual(1000);
    expect(c!.durationS).toBeGreaterThan(1.9);
    expect(run.plan.rateWindowMaxS).toBe(60);
    expect(r.stderr).toMatch(/plan: +1 s per configuration \(a rate's window longer where 1 s holds under 1000 calls, for p99, up to 60 s, --max-window\)/);
    expect(planLine(run)).toContain('up to 60 s');
    // How long the grown windows take is said before they start.
    expect(r.stderr).toMatch(/time: +the rates' windows take [\d:]+ \(h:m:s\): each long enough for its objectives' percentiles, up to --max-window/);
  }, 60_000);
});

describe('a miss on fewer calls than its percentile needs does not decide the sizing answer', () => {
  it('the lowest rate of 4 tokens missed on 125 calls (its slowest call): not judged, the higher rates held decide, and the answer says the --duration that settles it', () => {
    const four = [at(4, 25, { calls: 125, p99: 107 }), at(4, 50), at(4, 100)];
    const run = runOf(four, p99(100), [4]);
    expect(run.capacity![0]!.capacityPerS).toBe(100);
    // 1,020 calls (2 % spare, as the grown windows have) take 40.8 s at 25/s.
    expect(run.capacity![0]!.rates[0]).toMatchObject({ held: false, thin: true, windowToJudgeS: 41, missed: [] });
    expect(run.capacity![0]!.rates[0]!.notJudged).toEqual(['p99 107 ms > 100 ms on 125 of the 1000 calls p99 needs (a 41 s window gives them)']);
    const answer = sizingAnswer(run).join('\n');
    expect(answer).toContain('Capacity within p99 ≤ 100 ms: 4 tokens 100/s.');
    expect(answer).toContain('Some rates were not judged (?)');
    expect(answer).toContain('(--max-window 41s settles it)');
  });
  it('a p99.9 is judged on 10,000 calls: a miss on 1,000 is not judged, where a p99 miss on them is', () => {
    // Met on 1,000 calls: p99 is shown, p99.9 is not (it needs 10,000).
    const met = at(1, 100, { calls: 1000, durationS: 10, p99: 40 });
    expect(judgeRate(met, [{ percentile: 'p999', ms: 50 }])).toMatchObject({ held: false, thin: true, windowToJudgeS: 102, missed: [] });
    expect(judgeRate(met, p99(50))).toMatchObject({ held: true });
    // Missed by 1 % of 1,000 calls: more than p99.9 allows in any sample (a binomial tail under one in a thousand).
    const c = at(1, 100, { calls: 1000, durationS: 10, p99: 60 });
    expect(judgeRate(c, [{ percentile: 'p999', ms: 50 }]).thin).toBeUndefined();
    expect(judgeRate(c, p99(50)).thin).toBeUndefined();
    // Missed by every one of 6 calls of 100 ms against 50 ms: certain on 6 calls; met on 6 calls: not judged.
    const slow = at(1, 2, { calls: 6, durationS: 3 });
    const allSlow = { ...slow, openLoop: { ...slow.openLoop!, responseMs: { p50: 100, p90: 100, p99: 100, max: 100, mean: 100 } } };
    expect(judgeRate(allSlow, p99(50)).thin).toBeUndefined();
    // Only its slowest call over: that is the thin sample's luck, not judged.
    expect(judgeRate(at(1, 2, { calls: 6, durationS: 3, p99: 100 }), p99(50)).thin).toBe(true);
    expect(judgeRate(at(1, 2, { calls: 6, durationS: 3, p99: 40 }), p99(50))).toMatchObject({ held: false, thin: true });
    // A tokens' shortfall is judged on any sample: it is not a percentile.
    expect(judgeRate(at(1, 100, { calls: 100, durationS: 1, p99: 60, keptUp: false }), p99(50)).thin).toBeUndefined();
  });
  it('more tokens with less capacity is said with the judged miss that shows it, and where the time went', () => {
    const run = runOf([at(2, 2000), at(2, 4000), at(4, 2000), at(4, 4000, { calls: 8000, p99: 33.151, serviceP99: 1.43, late: 7.4 })], p99(20), [2, 4]);
    const answer = sizingAnswer(run).join('\n');
    expect(answer).toContain('Capacity within p99 ≤ 20.0 ms: 2 tokens 4000/s; 4 tokens 2000/s.');
    expect(answer).toContain('4 tokens served less than 2 tokens (2000/s against 4000/s): at 4000/s, which 2 tokens held, it missed on enough calls to judge: p99 33.2 ms > 20.0 ms.');
    expect(answer).toContain('The calls themselves took at most 1.43 ms at p99 (service time): the rest went before they started (7.4 % found no session free');
    // Where the tokens themselves slowed down, that is what is said.
    const slower = runOf([at(2, 2000), at(2, 4000), at(4, 2000), at(4, 4000, { calls: 8000, p99: 33, serviceP99: 30 })], p99(20), [2, 4]);
    expect(sizingAnswer(slower).join('\n')).toContain('The calls themselves took longer on the tokens (service time)');
    // A thin miss is no reason: 4 tokens held 2000/s and missed 4000/s on 200 calls only; nothing is said of it.
    const thin = runOf([at(2, 2000), at(2, 4000), at(4, 2000), at(4, 4000, { calls: 200, durationS: 2, p99: 33 })], p99(20), [2, 4]);
    expect(thin.capacity!.find((c) => c.tokens === 4)!.capacityPerS).toBe(2000);
    expect(sizingAnswer(thin).join('\n')).not.toContain('served less');
  });
  it('no capacity at all, missed on a full sample by calls that took no longer than the objective on the tokens: where the time went is said', () => {
    const run = runOf([at(4, 25, { calls: 1020, p99: 106.4, serviceP99: 12.1, late: 0.1 }), at(4, 50)], p99(100), [4]);
    const answer = sizingAnswer(run).join('\n');
    expect(answer).toContain('4 tokens none (25/s, the lowest rate, missed: p99 106 ms > 100 ms)');
    expect(answer).toContain('4 tokens at 25/s: The calls themselves took at most 12.1 ms at p99 (service time): the rest went before they started (0.1 % found no session free');
    // Said once where fewer tokens held that rate: with the comparison.
    const below = sizingAnswer(runOf([at(2, 2000), at(4, 2000, { calls: 4000, p99: 30.9, serviceP99: 0.27, late: 18.5 })], p99(20), [2, 4])).join('\n');
    expect(below).toContain('4 tokens served less than 2 tokens (none against 2000/s)');
    expect(below.match(/The calls themselves/g)).toHaveLength(1);
  });
});

describe('a percentile decides a rate only where its 95 % interval lies on one side of the objective', () => {
  it('the order-statistic ranks of a p99 of 1,020 calls, and the values at them', () => {
    expect(orderStatisticRanks(1020, 0.99)).toEqual({ low: 1003, high: 1018 });
    // 300 calls: the upper rank lies past the slowest call.
    expect(orderStatisticRanks(300, 0.99).high).toBeNull();
    const h = latencyHistogram();
    for (let us = 1; us <= 1020; us++) h.recordValue(us);
    expect(percentileIntervalMs(h, 0.99)).toEqual({ lowMs: 1.003, highMs: 1.018 });
  });
  it('p99 57.3 ms (interval 49.1–73.0 ms) against 50 ms, or 41.3 ms (28.8–57.7 ms): neither ✗ nor ✓, inconclusive with the interval', () => {
    const over = judgeRate(at(2, 100, { calls: 1020, p99: 57.3, p99Interval: { lowMs: 49.1, highMs: 73 }, serviceP99: 28.9, serviceMean: 11 }), p99(50));
    expect(over).toMatchObject({ held: false, missed: [], thin: true });
    expect(over.notJudged![0]).toMatch(
      /^p99 57\.3 ms > 50\.0 ms on 1020 calls, its 95 % interval 49\.1 ms–73\.0 ms straddles the objective: inconclusive \(about \d+ calls, a \d+ s window, decide it\)$/,
    );
    const under = judgeRate(at(4, 100, { calls: 1020, p99: 41.3, p99Interval: { lowMs: 28.8, highMs: 57.7 }, serviceP99: 25.2, serviceMean: 11 }), p99(50));
    expect(under).toMatchObject({ held: false, missed: [], thin: true });
    expect(capacityRateMark(under)).toBe('?');
    // Wholly over, or wholly under: judged.
    expect(judgeRate(at(2, 100, { calls: 1020, p99: 70, p99Interval: { lowMs: 60, highMs: 80 } }), p99(50))).toMatchObject({ held: false, missed: ['p99 70.0 ms > 50.0 ms'] });
    expect(judgeRate(at(2, 100, { calls: 1020, p99: 30, p99Interval: { lowMs: 25, highMs: 40 } }), p99(50))).toMatchObject({ held: true, missed: [] });
  });
});

describe('the sizing answer says "none" only from a judged miss at the lowest rate', () => {
  // The review's sizing1: 2 tokens met p99 ≤ 50 ms at 50/s on 600 calls only, and 100/s straddled it.
  const sizing1 = () =>
    runOf(
      [
        at(2, 50, { calls: 600, durationS: 12, p99: 33.3, serviceP99: 26.4, serviceMean: 11 }),
        at(2, 100, { calls: 1020, p99: 57.3, p99Interval: { lowMs: 49.1, highMs: 73 }, serviceP99: 28.9, serviceMean: 11 }),
      ],
      p99(50),
      [2],
    );
  it('a pass on too few calls is not a miss: run.json lists it under notJudged, and the answer is "not established" with what settles it', () => {
    const run = sizing1();
    const lowest = run.capacity![0]!.rates[0]!;
    expect(lowest).toMatchObject({ held: false, missed: [], thin: true, windowToJudgeS: 21 });
    expect(lowest.notJudged).toEqual(['p99 33.3 ms ≤ 50.0 ms on 600 of the 1000 calls p99 needs (a 21 s window gives them)']);
    const answer = sizingAnswer(run).join('\n');
    expect(answer).toContain(
      'Capacity within p99 ≤ 50.0 ms: 2 tokens not established (50/s not judged: p99 33.3 ms ≤ 50.0 ms on 600 of the 1000 calls p99 needs (a 21 s window gives them); --max-window 21s settles it).',
    );
    expect(answer).not.toContain('none');
    expect(answer).not.toContain('does not rest on them');
    expect(answer).toContain('an answer "not established" or "at least" waits on them');
    const table = capacityTable(run)!;
    expect(table.rows[0]!.slice(1, 3)).toEqual(['not established', 'kept up']);
  });
  it('a judged miss at the lowest rate is "none"', () => {
    const run = runOf([at(2, 50, { calls: 1020, p99: 70, p99Interval: { lowMs: 60, highMs: 80 } })], p99(50), [2]);
    expect(sizingAnswer(run).join('\n')).toContain('2 tokens none (50/s, the lowest rate, missed: p99 70.0 ms > 50.0 ms)');
    expect(capacityTable(run)!.rows[0]![1]).toBe('none');
  });
  it("a response far beyond every call's own time, the tokens mostly idle: the harness's start delay, not the tokens' capacity", () => {
    // The review's sizing2: 1 token at 500/s, response p99 54.8 ms, every call 175 µs or less.
    const run = runOf([at(1, 500, { calls: 1020, p99: 54.8, serviceP99: 0.131, serviceMax: 0.175, serviceMean: 0.079, late: 13.4 })], [{ percentile: 'p99', ms: 5 }], [1]);
    const rate = run.capacity![0]!.rates[0]!;
    expect(rate).toMatchObject({ held: false, missed: [], hostStalled: true });
    expect(rate.notJudged).toEqual(["p99 54.8 ms > 5.00 ms: the harness's start delay, not the tokens' capacity (calls 131 µs at p99, the tokens mostly idle)"]);
    const answer = sizingAnswer(run).join('\n');
    expect(answer).toContain("1 token not established (500/s not judged: p99 54.8 ms > 5.00 ms: the harness's start delay");
    expect(answer).not.toContain('the host stalled');
    expect(answer).toContain('the tokens mostly idle); a quieter host settles it)');
    // A call of the tokens as long as the response held the others up: theirs, judged.
    const own = runOf([at(1, 500, { calls: 1020, p99: 54.8, serviceP99: 0.131, serviceMax: 60, serviceMean: 0.079 })], [{ percentile: 'p99', ms: 5 }], [1]);
    expect(own.capacity![0]!.rates[0]!.missed).toEqual(['p99 54.8 ms > 5.00 ms']);
  });
});

describe('calls never started count against the rate', () => {
  const token = [{ label: 'a', serial: '1', slotId: '0' }];
  it('past capacity the response percentiles take in the backlog (each call never started at its wait when the window closed), marked as lower bounds', () => {
    const stats = new ConfigurationStats(1);
    // 100/s asked for 2 s of a token serving 50/s: 100 calls start, further and further behind; 100 never start.
    for (let k = 0; k < 100; k++) stats.add(0, { startOffsetUs: k * 20_000, latencyUs: 20_000, operation: '', verified: null, startLagUs: k * 10_000, late: k > 0 }, undefined);
    const c = summarizeConfiguration({ stats, recordsFile: 'r.csv', workerIssues: [] }, token, 1, { targetRatePerS: 100, calls: 200, interrupted: false });
    const o = c.openLoop!;
    expect(o.notStarted).toBe(100);
    // The calls that started alone: a median response of about 0.5 s. The 100 never started waited at least as long
    // as the latest start was late (0.99 s: the queue only grew): the median is about 1 s, and said to be at least that.
    expect(o.responseMs!.p50).toBeGreaterThan(980);
    expect(o.responseAtLeast).toEqual(expect.arrayContaining(['p50', 'p90', 'p99', 'mean']));
    const table = rateTable({ ...runOf([], p99(50), [1]), configurations: [c] });
    expect(table.rows[0]![3]).toMatch(/^≥ [\d.]+ (µs|ms|s)$/);
  });
  it('a schedule kept but for its last call at the deadline: the figures the started calls reach alone are exact', () => {
    const stats = new ConfigurationStats(1);
    for (let k = 0; k < 199; k++) stats.add(0, { startOffsetUs: k * 10_000 + 100, latencyUs: 2_000, operation: '', verified: null, startLagUs: 100, late: false }, undefined);
    const o = summarizeConfiguration({ stats, recordsFile: 'r.csv', workerIssues: [] }, token, 1, { targetRatePerS: 100, calls: 200, interrupted: false }).openLoop!;
    expect(o.notStarted).toBe(1);
    expect(o.responseMs!.p50).toBeCloseTo(2.1, 1);
    expect(o.responseAtLeast).not.toContain('p50');
    // Each response percentile with its 95 % order-statistic interval, in run.json.
    const iv = o.responseIntervalMs!.p50!;
    expect(iv.lowMs).toBeLessThanOrEqual(o.responseMs!.p50);
    expect(iv.highMs!).toBeGreaterThanOrEqual(o.responseMs!.p50);
    expect(o.responseIntervalMs!.p999!.highMs).toBeNull();
  });
});

describe('the response-vs-rate chart', () => {
  it('is drawn against the offered load (target rate): past the knee the line does not turn back', () => {
    const run = runOf([at(1, 50), at(1, 100, { keptUp: false, p99: 400 }), at(1, 200, { keptUp: false, p99: 1500 })], p99(50), [1]);
    const chart = rateCurveChart(run);
    const xs = (chart.data.datasets[0]!.data as { x: number }[]).map((p) => p.x);
    expect(xs).toEqual([50, 100, 200]);
  });
});

describe('the response-vs-rate chart draws only judged, exact points as its line', () => {
  it('a lower bound (≥) and a rate not judged are hollow points apart, not joined, and the legend says so', () => {
    const bound = at(1, 100, { keptUp: false, p99: 1528.8, notStarted: 152 });
    bound.openLoop!.responseAtLeast = ['p50', 'p99', 'mean'];
    const run = runOf([at(1, 25, { calls: 600, durationS: 24, p99: 33.3 }), at(1, 50, { calls: 1020, p99: 40 }), bound], p99(50), [1]);
    const datasets = rateCurveChart(run).data.datasets as { label: string; data: { x: number; y: number | null }[]; showLine?: boolean; backgroundColor?: string }[];
    const named = (label: string) => datasets.find((d) => d.label === label)!;
    expect(named('1 token: response p99').data).toEqual([
      { x: 25, y: null },
      { x: 50, y: 40 },
      { x: 100, y: null },
    ]);
    const lowerBound = named('1 token: response p99 ≥ (a lower bound, calls never started: hollow △, not joined)');
    expect(lowerBound.data.filter((p) => p.y !== null)).toEqual([{ x: 100, y: 1528.8 }]);
    expect(lowerBound).toMatchObject({ showLine: false, backgroundColor: '#fff' });
    const open = named('1 token: response p99, rate not judged (hollow ○, not joined)');
    expect(open.data.filter((p) => p.y !== null)).toEqual([{ x: 25, y: 33.3 }]);
    expect(open).toMatchObject({ showLine: false, backgroundColor: '#fff' });
  });
});

describe('percentiles only as far as the calls go, in the terminal and summary.csv', () => {
  it('a p99 of 6 calls is not shown: "–" in the rate table, empty in summary.csv; times carry their unit', async () => {
    const { terminalRateTable } = await import('../src/report/terminal-table.js');
    const { renderSummaryCsv, SUMMARY_COLUMNS } = await import('../src/report/summary-csv.js');
    const base = runOf([at(1, 2, { calls: 6, durationS: 3, p99: 100 }), at(1, 50)], p99(50), [1]);
    const run = { ...base, mechanism: { name: 'CKM_ECDSA_SHA256' }, plan: { ...base.plan, verify: { mode: 'all', every: 1 } } } as unknown as RunResult;
    const table = terminalRateTable(run);
    const cell = (row: number, head: string) => String(table.rows[row]![table.head.indexOf(head)]);
    expect(cell(0, 'Resp p99')).toBe('–');
    expect(cell(0, 'Svc p99')).toBe('–');
    expect(cell(1, 'Resp p99')).toBe('5.00 ms');
    const csv = renderSummaryCsv(run).trim().split('\n');
    const allRows = csv
      .slice(1)
      .map((l) => l.split(','))
      .filter((f) => f[SUMMARY_COLUMNS.indexOf('token')] === 'all');
    expect(allRows[0]![SUMMARY_COLUMNS.indexOf('serviceP99Ms')]).toBe('');
    expect(allRows[0]![SUMMARY_COLUMNS.indexOf('responseP99Ms')]).toBe('');
    expect(allRows[1]![SUMMARY_COLUMNS.indexOf('responseP99Ms')]).toBe('5');
  });
});
