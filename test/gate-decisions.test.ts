import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigurationResult, RunResult } from '../src/model/run-result.js';
import type { Objective } from '../src/model/plan.js';
import { capacityOf } from '../src/stats/capacity.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { summarizeConfiguration } from '../src/stats/summarize.js';
import { compareRuns, hostBusyWhy } from '../src/verdict/compare.js';
import { evaluateThresholds } from '../src/verdict/thresholds.js';
import { tenSeconds } from './helpers/ten-seconds.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const readRun = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));

/**
 * A schedule at `ratePerS` over `tokens` tokens (one session each, calls dealt in turn) whose call k started at
 * `startUs(k)` and took `serviceUs`, summarized as run.json has it; `hung`: a token whose session hung in warm-up.
 */
function scheduleRun(ratePerS: number, calls: number, opts: { tokens?: number; startUs?: (k: number) => number; serviceUs?: (k: number) => number; hung?: number } = {}) {
  const tokens = opts.tokens ?? 1;
  const signing = opts.hung === undefined ? tokens : tokens - 1;
  const stats = new ConfigurationStats(tokens);
  for (let k = 0; k < calls; k++) {
    const intendedUs = (k * 1e6) / ratePerS;
    const startUs = opts.startUs?.(k) ?? intendedUs;
    // Started after its time: the session was still busy (the tokens' lateness, not the host's).
    const late = startUs > intendedUs;
    stats.add(k % signing, { startOffsetUs: startUs, latencyUs: opts.serviceUs?.(k) ?? 2_000, operation: '', verified: null, startLagUs: startUs - intendedUs, late }, undefined);
  }
  const identities = Array.from({ length: tokens }, (_, i) => ({ label: `t${i}`, serial: String(i), slotId: String(i) }));
  const hung = opts.hung === undefined ? {} : { hungSessions: [{ token: opts.hung, thread: 0, inFlightS: 1.1, boundS: 1, outcome: 'timed-out' as const, stage: 'warm-up' as const }] };
  const workerIssues = opts.hung === undefined ? [] : [{ token: opts.hung, thread: 0, message: 'HUNG in warm-up' }];
  return summarizeConfiguration({ stats, recordsFile: 'r.csv', workerIssues, ...hung }, identities, 1, { targetRatePerS: ratePerS, calls, interrupted: false });
}

/** A rate sweep's run as run.json has it: its configurations, its capacity, the plan's objectives. */
const sweep = (configurations: ConfigurationResult[], objectives: Objective[] = [], tokenCounts = [configurations[0]!.tokens]) =>
  ({
    command: 'scale',
    interrupted: false,
    configurations,
    capacity: capacityOf(configurations, objectives),
    plan: { tokenCounts, threadsPerToken: [1], repeat: 1, objectives, targetRate: { perS: configurations.map((c) => c.openLoop!.targetRatePerS), per: 'run' } },
  }) as unknown as RunResult;

describe('a configuration that is not whole', () => {
  it("a token hung: the sweep's capacity is not that of its token count, and the capacity gate is not judged", () => {
    const whole = sweep([scheduleRun(20, 200, { tokens: 2 }), scheduleRun(40, 400, { tokens: 2 })]);
    expect(whole.capacity![0]).toMatchObject({ capacityPerS: 40 });
    expect(whole.capacity![0]!.notWhole).toBeUndefined();
    expect(evaluateThresholds(whole, { minCapacity: { '2': 40 } })[0]).toMatchObject({ outcome: 'pass' });
    // The review's case: the second token hung in warm-up at each rate; the first served both rates alone.
    const hung = sweep([scheduleRun(20, 200, { tokens: 2, hung: 1 }), scheduleRun(40, 400, { tokens: 2, hung: 1 })]);
    expect(hung.capacity![0]).toMatchObject({ capacityPerS: 40, notWhole: true });
    expect(hung.capacity![0]!.rates.map((r) => r.notWhole)).toEqual([true, true]);
    expect(evaluateThresholds(hung, { minCapacity: { '2': 40 } })[0]).toMatchObject({
      measured: '40/s',
      outcome: 'inconclusive',
      notJudged: 'the 2-token sweep is not whole (a token hung at 20/s; a token hung at 40/s): its capacity is that of fewer tokens',
    });
    // A hang above the rate that ended the count decides nothing.
    const above = sweep([scheduleRun(20, 200, { tokens: 2 }), scheduleRun(40, 400, { tokens: 2, startUs: (k) => k * 50_000 }), scheduleRun(80, 800, { tokens: 2, hung: 1 })]);
    expect(above.capacity![0]!.notWhole).toBeUndefined();
  });

  it('a token hung flat out: the throughput gate is not judged, as the efficiency gate is not', () => {
    const base = readRun(join(FIXTURES, 'run-rsa2048'));
    const two = base.configurations.find((c) => c.tokens === 2)!;
    const hung = { ...base, configurations: [base.configurations[0]!, { ...two, durationS: 5, hungSessions: [{ token: 1, thread: 0, inFlightS: 1.1, boundS: 1, outcome: 'timed-out' as const }] }] };
    const [throughput, efficiency] = evaluateThresholds(hung, { minThroughput: { '2': 1 }, minEfficiency: 0.1 });
    expect(throughput).toMatchObject({ name: 'min-throughput', outcome: 'inconclusive', notJudged: 'this configuration is not whole (a token hung)' });
    expect(efficiency).toMatchObject({ name: 'min-efficiency', outcome: 'inconclusive', notJudged: 'this configuration is not whole (a token hung)' });
    const whole = { ...base, configurations: [base.configurations[0]!, { ...two, durationS: 5 }] };
    expect(evaluateThresholds(whole, { minThroughput: { '2': 1 } })[0]).toMatchObject({ outcome: 'pass' });
  });
});

describe('falling behind', () => {
  // Tokens late by 10 % of the interval on every call: on any schedule the achieved rate reads about 90 % of the target.
  const behind = (ratePerS: number) => (k: number) => (k * 1.1e6) / ratePerS;

  it('is not judged on a schedule too short to show it (under 100 calls or 1 s): the capacity gate is inconclusive, not failed', () => {
    // The review's case: 30 calls at 1,000/s, "achieved 893.5/s of 1000/s", was a FAIL.
    for (const [rate, calls] of [
      [1000, 30],
      [1000, 500],
      [50, 60],
    ]) {
      const c = scheduleRun(rate, calls, { startUs: behind(rate) });
      expect(c.openLoop).toMatchObject({ keptUp: false, scheduleTooShort: true });
      const run = sweep([c]);
      expect(run.capacity![0]).toMatchObject({ capacityPerS: null, fellBehindAtPerS: null });
      expect(run.capacity![0]!.rates[0]).toMatchObject({ held: false, thin: true, windowToJudgeS: rate === 50 ? 2 : 1 });
      expect(run.capacity![0]!.rates[0]!.notJudged![0]).toMatch(/ \(not judged: falling behind shows on 100 calls over 1 s or more; a \d s window gives them\)$/);
      expect(evaluateThresholds(run, { minCapacity: { largest: rate } })[0]).toMatchObject({ outcome: 'inconclusive', measured: `none (no rate judged: a thin sample at ${rate}/s)` });
    }
    // 1,000 calls over 1 s: judged, and failed.
    const judged = scheduleRun(1000, 1000, { startUs: behind(1000) });
    expect(judged.openLoop!.keptUp).toBe(false);
    expect(judged.openLoop!.scheduleTooShort).toBeUndefined();
    const run = sweep([judged]);
    expect(run.capacity![0]).toMatchObject({ capacityPerS: null, fellBehindAtPerS: 1000 });
    expect(evaluateThresholds(run, { minCapacity: { largest: 1000 } })[0]).toMatchObject({ outcome: 'fail', measured: 'none (the lowest rate missed)' });
  });
});

describe('a figure missed by more than any noise explains', () => {
  it('fails on a short window; a near miss on it stays inconclusive', () => {
    const base = readRun(join(FIXTURES, 'run-rsa2048'));
    const one = { ...base.configurations[0]!, durationS: 0.001, throughputPerS: 16090 };
    const run = { ...base, plan: { ...base.plan, tokenCounts: [1] }, configurations: [one] };
    // The review's case: --min-throughput 1:1e9 against 16,090/s in 0.001 s read "inconclusive: a window of 0.001 s".
    expect(evaluateThresholds(run, { minThroughput: { '1': 1e9 } })[0]).toMatchObject({
      outcome: 'fail',
      measured: "16090.0/s; over 0.001 s, but under 1/10 of the limit: no short window's noise explains that",
    });
    expect(evaluateThresholds(run, { minThroughput: { '1': 20_000 } })[0]).toMatchObject({ outcome: 'inconclusive', measured: '16090.0/s' });
  });
});

describe('--strict-latency and a percentile the sample does not have', () => {
  const objectives: Objective[] = [{ percentile: 'p99', ms: 1 }];

  it('a p99 of 80 calls is their slowest call: --max-p99 does not judge it, even with --strict-latency', () => {
    const base = readRun(join(FIXTURES, 'run-rsa2048'));
    const c = (operationsOk: number) => ({ ...base.configurations[0]!, operationsOk, latencyMs: { ...base.configurations[0]!.latencyMs!, p99: 50 } });
    const run = (operationsOk: number) => ({ ...base, plan: { ...base.plan, tokenCounts: [1] }, configurations: [c(operationsOk)] });
    expect(evaluateThresholds(run(80), { maxP99Ms: 10 }, true)[0]).toMatchObject({
      outcome: 'inconclusive',
      notJudged: 'no p99 in 80 calls: it is their slowest call (not judged, even with --strict-latency)',
    });
    expect(evaluateThresholds(run(200), { maxP99Ms: 10 }, true)[0]).toMatchObject({ outcome: 'fail' });
  });

  it('a rate missed only on such a p99: the capacity gate is inconclusive with --strict-latency; on 120 calls it fails', () => {
    // 80 calls at 40/s (2 s), served in 0.5 ms, against p99 ≤ 1 ms.
    // The slowest two calls at 2 ms: of 80 or 120 calls, the p99 is one of them.
    const slowest = (calls: number) => (k: number) => (k >= calls - 2 ? 2_000 : 500);
    const few = sweep([scheduleRun(40, 80, { serviceUs: slowest(80) })], objectives);
    expect(few.capacity![0]!.rates[0]).toMatchObject({ held: false, thin: true });
    expect(evaluateThresholds(few, { minCapacity: { largest: 40 } }, true)[0]).toMatchObject({ outcome: 'inconclusive' });
    expect(evaluateThresholds(few, { minCapacity: { largest: 40 } }, true)[0]!.notJudged).toMatch(/too small to tell its percentile from its slowest call/);
    // The review's case: 40/s missed on 80 calls, 80/s met on 160 (too few for p99, which --strict-latency takes as
    // they are): the capacity reads 80/s, not judged for the 40/s below it — it was "none", FAIL.
    const two = sweep([scheduleRun(40, 80, { serviceUs: slowest(80) }), scheduleRun(80, 160, { serviceUs: () => 500 })], objectives);
    expect(two.capacity![0]!.rates.map((r) => [r.held, r.thin])).toEqual([
      [false, true],
      [false, true],
    ]);
    expect(evaluateThresholds(two, { minCapacity: { largest: 80 } }, true)[0]).toMatchObject({ outcome: 'inconclusive', measured: '80/s' });
    const more = sweep([scheduleRun(60, 120, { serviceUs: slowest(120) })], objectives);
    expect(more.capacity![0]!.rates[0]).toMatchObject({ held: false, thin: true });
    expect(evaluateThresholds(more, { minCapacity: { largest: 60 } }, true)[0]).toMatchObject({ outcome: 'fail' });
    expect(evaluateThresholds(more, { minCapacity: { largest: 60 } })[0]).toMatchObject({ outcome: 'inconclusive', measured: 'none (no rate judged: a thin sample at 60/s)' });
  });
});

describe('a comparison on a busy host', () => {
  const base = readRun(join(FIXTURES, 'run-rsa2048'));
  const configuration = (throughputPerS: number, perSecond: number[], repetitions?: number[]): ConfigurationResult => ({
    ...tenSeconds(base, throughputPerS, perSecond),
    ...(repetitions ? { repetitions: repetitions.map((t) => ({ ...base.configurations[0]!, throughputPerS: t })) } : {}),
  });
  const quiet = { ...base.host, loadAverage: [0.2, 0.2, 0.2] };
  const run = (c: ConfigurationResult, host = quiet): RunResult => ({ ...base, host, plan: { ...base.plan, tokenCounts: [1] }, configurations: [c] });
  const steady = (v: number) => Array.from({ length: 10 }, (_, i) => v + (i % 2 ? 5 : -5));

  it('is no regression without --repeat: inconclusive, the host named; repeated on both sides, or on quiet hosts, it is', () => {
    const [baseline, slower] = [configuration(1000, steady(1000)), configuration(500, steady(500))];
    expect(compareRuns(run(baseline), run(slower), 10, false).regressed).toBe(true);
    // The review's case: load 17 on 2 cores in both runs.
    const busy = { ...quiet, loadAverage: [17.35, 12, 9] };
    const cmp = compareRuns(run(baseline, busy), run(slower, busy), 10, false);
    expect(cmp.regressed).toBe(false);
    expect(cmp.rows[0]!.regressions).toEqual([]);
    expect(cmp.rows[0]!.inconclusive).toEqual([
      expect.stringMatching(
        /^throughput -50 % \(.*\): the host was busy in the baseline \(load average 17\.35 on 2 cores before the run\) and the candidate \(load average 17\.35 on 2 cores before the run\): repeat with --repeat or on a quiet host$/,
      ),
    ]);
    // One side busy is enough.
    expect(compareRuns(run(baseline), run(slower, busy), 10, false).regressed).toBe(false);
    // Repeated on both sides: the repetitions measure the swings between runs, and the regression stands.
    const [a, b] = [configuration(1000, steady(1000), [1000, 990, 1010]), configuration(500, steady(500), [500, 495, 505])];
    expect(compareRuns(run(a, busy), run(b, busy), 10, false).regressed).toBe(true);
    // A pass stays a pass.
    expect(compareRuns(run(baseline, busy), run(configuration(1000, steady(1000)), busy), 10, false).rows[0]!.inconclusive).toEqual([]);
  });

  it('a host is busy when loaded before signing, or when other processes took half its CPU time in a window', () => {
    expect(hostBusyWhy(run(configuration(1000, steady(1000))))).toBeNull();
    const cpu = { processUserS: 0.3, processSystemS: 0.1, hostCpuS: 2, hostUserPct: 90, hostSystemPct: 10, loadAverage1m: 0.2 };
    expect(hostBusyWhy(run({ ...configuration(1000, steady(1000)), cpu }))).toBe('other processes took 80 % of its CPU time in a window');
    expect(hostBusyWhy(run({ ...configuration(1000, steady(1000)), cpu: { ...cpu, processUserS: 1.5 } }))).toBeNull();
  });
});
