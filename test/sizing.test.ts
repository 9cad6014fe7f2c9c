import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scalePlan as planOfInput } from '../src/plan/plan.js';
import { flagOf, planInputFromFlags } from '../src/plan/plan-flags.js';
import { intendedOffsetNs, scheduledCalls, scheduleOf } from '../src/model/schedule.js';
import { parseObjectives as objectivesOf, targetRateOf as rateOf } from '../src/plan/sizing-plan.js';
import { plannedConfigurations } from '../src/model/plan.js';
import { HsmBenchError } from '../src/core/errors.js';
import { configurationName, configurationSlug, distinctConfigurations, sameConfiguration } from '../src/model/configuration.js';
import type { ConfigurationResult, RunResult } from '../src/model/run-result.js';
import { upgradeRunJson } from '../src/result/run-upgrade.js';
import { capacityByTokens, capacityOf, judgeRate } from '../src/stats/capacity.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { saturationOf } from '../src/stats/saturation.js';
import { summarizeConfiguration } from '../src/stats/summarize.js';
import { renderJunit } from '../src/report/junit.js';
import { renderComparisonTable } from '../src/report/verdict-tables.js';
import { compareRuns } from '../src/verdict/compare.js';
import { checkThresholdsFitPlan, evaluateThresholds, parseThresholds } from '../src/verdict/thresholds.js';

/** What the command line gives, read as scale reads it. */
const scalePlan = (flags: object) => planOfInput(planInputFromFlags(flags));
const targetRateOf = (flags: object) => rateOf(planInputFromFlags(flags), flagOf);
const parseObjectives = (flags: object) => objectivesOf(planInputFromFlags(flags), flagOf);
const parseRates = (flag: string, rate: string) => targetRateOf({ rate })!.perS;

const base = { alg: 'p256', tokens: '1,2', warmup: '10', threadsPerToken: '1', verify: 'all', workspace: '/tmp/ws', out: 'reports' };

/** A configuration as run.json holds it, with only what sizing reads filled in. */
const configuration = (tokens: number, threadsPerToken: number, throughputPerS: number, openLoop?: Partial<NonNullable<ConfigurationResult['openLoop']>>): ConfigurationResult =>
  ({
    tokens,
    threadsPerToken,
    operationsOk: 1000,
    operationsFailed: 0,
    operationsVerified: 1000,
    failuresByCkr: {},
    durationS: 5,
    throughputPerS,
    efficiency: null,
    perToken: [],
    latencyMs: { p50: 20, p90: 21, p99: 22, max: 30, mean: 20 },
    timeSeries: { intervalS: 1, ok: [], failed: [] },
    recordsFile: 'records/x.csv',
    workerIssues: [],
    ...(openLoop
      ? {
          openLoop: {
            targetRatePerS: throughputPerS,
            achievedRatePerS: throughputPerS,
            keptUp: true,
            notStarted: 0,
            responseMs: { p50: 21, p90: 22, p99: 25, p999: 27, max: 30, mean: 21 },
            late: { operations: 0, sharePct: 0, lagMs: null },
            ...openLoop,
          },
        }
      : {}),
  }) as ConfigurationResult;

const response = (p99: number) => ({ p50: p99 / 2, p90: p99 / 1.5, p99, p999: p99 * 1.2, max: p99 * 2, mean: p99 / 2 });

describe('sizing plan', () => {
  it('parses rate lists, sorted, each once, within bounds', () => {
    expect(parseRates('--rate', '400,50,100')).toEqual([50, 100, 400]);
    expect(parseRates('--rate', '0.5,1.25')).toEqual([0.5, 1.25]);
    for (const bad of ['0', '-5', 'abc', '1e3', '2000000', '', '100,,200']) expect(() => parseRates('--rate', bad), bad).toThrow(HsmBenchError);
    expect(() => parseRates('--rate', '100,100')).toThrow(/twice/);
    expect(() => targetRateOf({ rate: '100', ratePerToken: '50' })).toThrow(/give one/);
    expect(targetRateOf({ ratePerToken: '50,100' })).toEqual({ perS: [50, 100], per: 'token' });
    expect(targetRateOf({})).toBeNull();
  });
  it('parses objectives as durations, p99.9 included, refusing zero', () => {
    expect(parseObjectives({ sloP99: '50ms', sloP999: '0.25s' })).toEqual([
      { percentile: 'p99', ms: 50 },
      { percentile: 'p999', ms: 250 },
    ]);
    expect(parseObjectives({ sloP50: '1.5ms' })).toEqual([{ percentile: 'p50', ms: 1.5 }]);
    expect(() => parseObjectives({ sloP99: '0ms' })).toThrow(/longer than 0/);
    expect(() => parseObjectives({ sloP99: '50' })).toThrow(/unit/);
    // A token's call lasts from tens of µs: an objective in µs, as --max-p99 takes it.
    expect(parseObjectives({ sloP99: '500us', sloP90: '250µs' })).toEqual([
      { percentile: 'p90', ms: 0.25 },
      { percentile: 'p99', ms: 0.5 },
    ]);
  });
  it('plans configurations over tokens × sessions × rates × data sizes, per-token rates multiplied', () => {
    expect(plannedConfigurations([1, 2], [1, 4], null, null)).toEqual([
      { tokens: 1, threadsPerToken: 1, targetRatePerS: null, dataSizeBytes: null },
      { tokens: 1, threadsPerToken: 4, targetRatePerS: null, dataSizeBytes: null },
      { tokens: 2, threadsPerToken: 1, targetRatePerS: null, dataSizeBytes: null },
      { tokens: 2, threadsPerToken: 4, targetRatePerS: null, dataSizeBytes: null },
    ]);
    expect(plannedConfigurations([1, 4], [1], { perS: [50, 100], per: 'token' }, null).map((c) => c.targetRatePerS)).toEqual([50, 100, 200, 400]);
    expect(plannedConfigurations([1, 4], [1], { perS: [50, 100], per: 'configuration' }, null).map((c) => c.targetRatePerS)).toEqual([50, 100, 50, 100]);
    expect(plannedConfigurations([1, 2], [1], null, [32, 1024]).map((c) => `${c.tokens}/${c.dataSizeBytes}`)).toEqual(['1/32', '1/1024', '2/32', '2/1024']);
  });
  it('scale takes a sessions list and rates; an objective or a capacity gate without a rate is a usage error', () => {
    const plan = scalePlan({ ...base, threadsPerToken: '4,1,2', rate: '100,50', sloP99: '50ms' });
    expect(plan.threadsPerToken).toEqual([1, 2, 4]);
    expect(plan.targetRate).toEqual({ perS: [50, 100], per: 'configuration' });
    expect(plan.objectives).toEqual([{ percentile: 'p99', ms: 50 }]);
    expect(() => scalePlan({ ...base, sloP99: '50ms' })).toThrow(/no --rate was given/);
    expect(() => scalePlan({ ...base, threadsPerToken: '1,1' })).toThrow(/twice/);
    expect(() => scalePlan({ ...base, threadsPerToken: '1,65' })).toThrow(/from 1 to 64/);
    // Closed loop, each thread needs a call; at a target rate the schedule hands them out.
    expect(() => scalePlan({ ...base, threadsPerToken: '8', signaturesPerToken: '4' })).toThrow(/smaller than --threads-per-token/);
    expect(scalePlan({ ...base, threadsPerToken: '8', signaturesPerToken: '4', rate: '10' }).threadsPerToken).toEqual([8]);
    expect(() => scalePlan({ ...base, tokens: '1,2,3,4,5,6,7,8', threadsPerToken: '1,2,3,4,5,6', rate: '1,2,3,4,5,6' })).toThrow(/more than 256/);
    const fits = (flags: Parameters<typeof parseThresholds>[0], extra: Partial<typeof base> & { rate?: string } = {}) =>
      checkThresholdsFitPlan(parseThresholds(flags), scalePlan({ ...base, ...extra }));
    expect(() => fits({ minCapacity: '400' })).toThrow(/needs a rate sweep/);
    expect(() => fits({ minThroughput: '400' }, { rate: '100' })).toThrow(/run flat out/);
    expect(() => fits({ minCapacity: '8:400' }, { rate: '100' })).toThrow(/names 8 tokens/);
    expect(() => fits({ minEfficiency: '0.8' }, { rate: '100' })).toThrow(/judges configurations run flat out/);
    expect(() => fits({ minCapacity: '2:150' }, { rate: '50,100' })).toThrow(/above the highest rate swept for them \(100\/s\)/);
    expect(() => fits({ minCapacity: '2:150' }, { ratePerToken: '50,100' } as never)).not.toThrow();
    expect(() => parseThresholds({ minCapacity: '1:60,1:50' })).toThrow(/names 1 token twice/);
    expect(() => fits({ minCapacity: '2:100' }, { rate: '100' })).not.toThrow();
  });
  it('intended starts are k intervals after the window opens; a duration holds the calls intended before it', () => {
    const s = scheduleOf(300, null);
    expect(intendedOffsetNs(s, 0)).toBe(0);
    expect(intendedOffsetNs(s, 3)).toBe(10_000_000);
    expect(intendedOffsetNs(s, 1)).toBe(3_333_333);
    expect(scheduledCalls(s, 1_000_000_000n)).toBe(300);
    expect(scheduledCalls(scheduleOf(3, 7), null)).toBe(7);
  });
});

describe('configurations of a sweep', () => {
  it('are named, matched and ordered by tokens, sessions and rate', () => {
    const open = configuration(2, 4, 400, {});
    expect(configurationName(open)).toBe('2 tokens × 4 sessions at 400/s');
    expect(configurationSlug(open)).toBe('tokens-2-sessions-4-rate-400');
    expect(configurationSlug(configuration(1, 1, 10))).toBe('tokens-1');
    expect(configurationSlug(configuration(1, 1, 12.5, {}))).toBe('tokens-1-rate-12.5');
    expect(sameConfiguration(open, configuration(2, 4, 400, {}))).toBe(true);
    expect(sameConfiguration(open, configuration(2, 4, 400))).toBe(false);
    expect(sameConfiguration(open, configuration(2, 2, 400, {}))).toBe(false);
    const order = distinctConfigurations([configuration(2, 1, 9), configuration(1, 2, 200, {}), configuration(1, 2, 100, {}), configuration(1, 1, 5), configuration(1, 2, 100, {})]);
    expect(order.map(configurationName)).toEqual(['1 token', '1 token × 2 sessions at 100/s', '1 token × 2 sessions at 200/s', '2 tokens']);
  });
});

describe('open-loop statistics', () => {
  it('achieved rate is the calls served over the span of their starts; response runs from the intended start; late calls counted', () => {
    const stats = new ConfigurationStats(1);
    // 100 calls at 100/s, each started on time but for ten late by 30 ms, each taking 5 ms of service.
    for (let k = 0; k < 100; k++) {
      const late = k >= 50 && k < 60;
      const lagUs = late ? 30_000 : 50;
      stats.add(0, { startOffsetUs: k * 10_000 + lagUs, latencyUs: 5_000, operation: '', verified: null, startLagUs: lagUs, late }, undefined);
    }
    const c = summarizeConfiguration({ stats, recordsFile: 'r.csv', workerIssues: [] }, [{ label: 'a', serial: '1', slotId: '0' }], 1, { targetRatePerS: 100, calls: 100, interrupted: false });
    const o = c.openLoop!;
    expect(o.achievedRatePerS).toBeCloseTo(100, 0);
    expect(o.keptUp).toBe(true);
    expect(o.notStarted).toBe(0);
    expect(o.late.operations).toBe(10);
    expect(o.late.sharePct).toBe(10);
    expect(o.late.lagMs!.p50).toBeCloseTo(30, 0);
    expect(o.responseMs!.p50).toBeCloseTo(5.05, 1);
    expect(o.responseMs!.p99).toBeCloseTo(35, 0);
    // Service time alone hides the wait.
    expect(c.latencyMs!.p99).toBeCloseTo(5, 0);
  });
  it('a schedule the tokens could not keep: achieved is what they served, and calls not started are counted', () => {
    const stats = new ConfigurationStats(1);
    // 100/s asked for 1 s, a token serving 50/s: 50 calls, starting further and further behind.
    for (let k = 0; k < 50; k++) stats.add(0, { startOffsetUs: k * 20_000, latencyUs: 20_000, operation: '', verified: null, startLagUs: k * 10_000, late: k > 0 }, undefined);
    const o = summarizeConfiguration({ stats, recordsFile: 'r.csv', workerIssues: [] }, [{ label: 'a', serial: '1', slotId: '0' }], 1, {
      targetRatePerS: 100,
      calls: 100,
      interrupted: false,
    }).openLoop!;
    expect(o.achievedRatePerS).toBeCloseTo(50, -1);
    expect(o.keptUp).toBe(false);
    expect(o.notStarted).toBe(50);
    expect(judgeRate(configuration(1, 1, 100, o), []).missed).toEqual(['achieved 50.5/s of 100/s, 50 not started']);
    // Cut short by an interruption, the calls never made are not the tokens' doing: the rate is not judged.
    const cut = summarizeConfiguration({ stats, recordsFile: 'r.csv', workerIssues: [] }, [{ label: 'a', serial: '1', slotId: '0' }], 1, {
      targetRatePerS: 100,
      calls: 100,
      interrupted: true,
    }).openLoop!;
    expect(cut).toMatchObject({ notStarted: 0, interrupted: true });
    expect(judgeRate(configuration(1, 1, 100, cut), [])).toMatchObject({ held: false, interrupted: true, missed: ['interrupted: not measured'] });
  });
});

describe('capacity at an objective', () => {
  const sweep = (tokens: number, threads: number, points: [number, number, boolean?][]) =>
    points.map(([rate, p99, keptUp = true]) => configuration(tokens, threads, rate, { targetRatePerS: rate, achievedRatePerS: keptUp ? rate : rate * 0.7, keptUp, responseMs: response(p99) }));
  const objectives = [{ percentile: 'p99' as const, ms: 50 }];

  it('is the highest rate held counting up, stopping at the first that missed', () => {
    const [c] = capacityOf(
      sweep(1, 1, [
        [200, 30],
        [50, 10],
        [100, 20],
        [400, 120, false],
        // Held above a miss: luck, not capacity.
        [800, 40],
      ]),
      objectives,
    );
    expect(c!.capacityPerS).toBe(200);
    expect(c!.fellBehindAtPerS).toBe(400);
    expect(c!.rates.map((r) => r.held)).toEqual([true, true, true, false, true]);
    expect(c!.rates[3]!.missed).toEqual(['achieved 280/s of 400/s', 'p99 120 ms > 50.0 ms']);
  });
  it('is null when the lowest rate misses; failures miss; p99.9 is judged when asked for', () => {
    expect(capacityOf(sweep(2, 1, [[100, 60]]), objectives)[0]!.capacityPerS).toBeNull();
    const failing = { ...sweep(1, 1, [[100, 10]])[0]!, operationsFailed: 3 };
    expect(judgeRate(failing, objectives)).toMatchObject({ held: false, missed: ['3 failed'] });
    // p99.9 on 10,000 calls (fewer are not judged: test/sizing-answer.test.ts).
    expect(judgeRate({ ...sweep(1, 1, [[100, 40]])[0]!, operationsOk: 10_000 }, [{ percentile: 'p999', ms: 45 }]).missed).toEqual(['p99.9 48.0 ms > 45.0 ms']);
  });
  it('with --repeat every repetition is judged; a miss on thin percentiles is indicative, inconclusive as a gate', () => {
    const [held, missed] = sweep(1, 1, [
      [100, 10],
      [200, 60],
    ]);
    const repeated = { ...held!, repetitions: [held!, { ...held!, openLoop: { ...held!.openLoop!, responseMs: response(70) } }] } as ConfigurationResult;
    expect(judgeRate(repeated, objectives)).toMatchObject({ held: false, missed: ['repetition 2: p99 70.0 ms > 50.0 ms'] });
    // 1000 calls over 5 s: enough to fail on. 200 calls in 1 s: not.
    expect(judgeRate(missed!, objectives).thin).toBeUndefined();
    const thin = { ...missed!, operationsOk: 200, durationS: 1 };
    expect(judgeRate(thin, objectives)).toMatchObject({ held: false, thin: true });
    const run = (c: ConfigurationResult) => ({ configurations: [held!, c], capacity: capacityOf([held!, c], objectives), plan: { tokenCounts: [1], threadsPerToken: [1] } }) as unknown as RunResult;
    expect(evaluateThresholds(run(thin), parseThresholds({ minCapacity: '200' }))[0]!.outcome).toBe('inconclusive');
    expect(evaluateThresholds(run(thin), parseThresholds({ minCapacity: '200' }), true)[0]!.outcome).toBe('fail');
    expect(evaluateThresholds(run(missed!), parseThresholds({ minCapacity: '200' }))[0]!.outcome).toBe('fail');
    // A thin miss below does not excuse a rate up to the gate that fell behind: the tokens could not serve it.
    const behind = { ...sweep(1, 1, [[300, 10, false]])[0]!, operationsOk: 200, durationS: 1 };
    const three = { configurations: [held!, thin, behind], capacity: capacityOf([held!, thin, behind], objectives), plan: { tokenCounts: [1], threadsPerToken: [1] } } as unknown as RunResult;
    expect(evaluateThresholds(three, parseThresholds({ minCapacity: '300' }))[0]!.outcome).toBe('fail');
    expect(evaluateThresholds(three, parseThresholds({ minCapacity: '200' }))[0]!.outcome).toBe('inconclusive');
    // Interrupted (not measured) up to the gate: inconclusive, not failed.
    const cut = configuration(1, 1, 200, { interrupted: true, keptUp: false });
    const interrupted = { configurations: [held!, cut], capacity: capacityOf([held!, cut], objectives), plan: { tokenCounts: [1], threadsPerToken: [1] } } as unknown as RunResult;
    expect(interrupted.capacity![0]).toMatchObject({ capacityPerS: 100, fellBehindAtPerS: null });
    expect(evaluateThresholds(interrupted, parseThresholds({ minCapacity: '200' }), true)[0]!.outcome).toBe('inconclusive');
  });
  it('counts failed calls as started: failures are failures, not falling behind', () => {
    const stats = new ConfigurationStats(1);
    for (let k = 0; k < 100; k++)
      stats.add(0, { startOffsetUs: k * 10_000, latencyUs: 2_000, operation: '', verified: null, startLagUs: 30, late: false }, k % 20 === 0 ? 'CKR_DEVICE_ERROR' : undefined);
    const c = summarizeConfiguration({ stats, recordsFile: 'r.csv', workerIssues: [] }, [{ label: 'a', serial: '1', slotId: '0' }], 1, { targetRatePerS: 100, calls: 100, interrupted: false });
    expect(c.openLoop!.keptUp).toBe(true);
    expect(c.openLoop!.achievedRatePerS).toBeCloseTo(100, 0);
    expect(c.throughputPerS).toBeCloseTo(95, 0);
    expect(judgeRate(c, []).missed).toEqual(['5 failed']);
  });
  it('per token count is the best over the sessions swept, and gates --min-capacity', () => {
    const capacity = capacityOf(
      [
        ...sweep(4, 1, [
          [100, 10],
          [200, 90],
        ]),
        ...sweep(4, 2, [
          [100, 10],
          [200, 30],
        ]),
      ],
      objectives,
    );
    expect(capacityByTokens(capacity).get(4)).toMatchObject({ threadsPerToken: 2, capacityPerS: 200 });
    const run = { configurations: [configuration(4, 2, 200, {})], capacity, plan: { tokenCounts: [4], threadsPerToken: [1, 2] } } as unknown as RunResult;
    const [pass] = evaluateThresholds(run, parseThresholds({ minCapacity: '200' }));
    expect(pass).toMatchObject({ name: 'min-capacity', outcome: 'pass', measured: '200/s (2 sessions per token)' });
    expect(evaluateThresholds(run, parseThresholds({ minCapacity: '4:250' }))[0]!.outcome).toBe('fail');
  });
});

describe('the knee of a sessions sweep', () => {
  it('is the fewest sessions reaching 90 % of the best, robust to noise on the flat part', () => {
    // A token serving 4 calls at once, 20 ms each: 50/s per session up to 4, then flat (with noise).
    const [s] = saturationOf([configuration(1, 1, 50), configuration(1, 2, 99), configuration(1, 4, 196), configuration(1, 8, 203), configuration(1, 16, 199)]);
    expect(s).toEqual({ tokens: 1, kneeThreadsPerToken: 4, kneeThroughputPerS: 196, bestThreadsPerToken: 8, bestThroughputPerS: 203 });
    // One sessions count is no sweep; configurations at a target rate are not flat out.
    expect(saturationOf([configuration(2, 1, 50), configuration(2, 2, 90, {})])).toEqual([]);
  });
});

describe('run.json version 3', () => {
  it('is read as the current version: one sessions count becomes a list', () => {
    const up = upgradeRunJson({ schemaVersion: 3, plan: { threadsPerToken: 2, tokenCounts: [1] }, configurations: [] });
    expect(up).toMatchObject({ schemaVersion: 5, plan: { threadsPerToken: [2], tokenCounts: [1] } });
    expect(upgradeRunJson({ schemaVersion: 2, plan: { threadsPerToken: 1, signaturesPerToken: 5 }, configurations: [] })).toMatchObject({
      schemaVersion: 5,
      plan: { threadsPerToken: [1], operationsPerToken: 5 },
    });
  });
});

describe('a rate sweep against its baseline', () => {
  const fixture = JSON.parse(readFileSync(new URL('../fixtures/run-rsa2048/run.json', import.meta.url), 'utf8')) as RunResult;
  const objectives = [{ percentile: 'p99' as const, ms: 50 }];
  /** The fixture run as a rate sweep of 1 token at 100 and 200/s with these p99s and whether it kept up. */
  const sweepRun = (points: [number, number, boolean][]): RunResult => {
    const configurations = points.map(([rate, p99, keptUp]) => configuration(1, 1, rate, { targetRatePerS: rate, achievedRatePerS: keptUp ? rate : rate * 0.7, keptUp, responseMs: response(p99) }));
    return {
      ...fixture,
      plan: { ...fixture.plan, tokenCounts: [1], targetRate: { perS: [100, 200], per: 'configuration' }, objectives },
      configurations,
      capacity: capacityOf(configurations, objectives),
    };
  };
  const baseline = sweepRun([
    [100, 10, true],
    [200, 48, true],
  ]);

  it('a capacity that fell only by a miss on too few calls for its percentile is inconclusive, not a regression', () => {
    const candidate = sweepRun([
      [100, 10, true],
      [200, 90, true],
    ]);
    // 200/s missed p99 on 125 calls: the slowest calls (the p90 met it), not the rate's p99.
    const slowest = candidate.configurations[1]!;
    candidate.configurations[1] = { ...slowest, operationsOk: 125, openLoop: { ...slowest.openLoop!, responseMs: { ...response(90), p90: 40 } } };
    candidate.capacity = capacityOf(candidate.configurations, objectives);
    const thin = compareRuns(baseline, candidate, 10, false);
    expect(thin.capacity![0]).toMatchObject({ outcome: 'inconclusive', missed: [expect.stringMatching(/^at 200\/s: p99 90.0 ms > 50.0 ms on 125 of the 1000 calls p99 needs/)] });
    expect(thin.regressed).toBe(false);
  });
  it('a capacity that fell is a regression; one that fell by an objective missed within --max-regression is inconclusive', () => {
    const same = compareRuns(baseline, baseline, 10, false);
    expect(same.capacity).toEqual([{ tokens: 1, threadsPerToken: 1, baselinePerS: 200, candidatePerS: 200, outcome: 'pass', missed: [] }]);
    expect(same.rows.flatMap((r) => r.regressions)).toEqual([]);
    expect(same.regressed).toBe(false);
    const behind = compareRuns(
      baseline,
      sweepRun([
        [100, 10, true],
        [200, 30, false],
      ]),
      10,
      false,
    );
    expect(behind.capacity![0]).toMatchObject({ candidatePerS: 100, outcome: 'fail', missed: ['at 200/s: achieved 140/s of 200/s'] });
    expect(renderJunit([{ name: 'nightly', result: baseline, thresholds: [], comparison: behind }])).toMatch(/name="rsa2048\.tokens-1\.baseline\.capacity"[^>]*>\s*<failure/);
    expect(behind.regressed).toBe(true);
    expect(renderComparisonTable(behind)).toContain('capacity with 1 token: 200/s → 100/s: REGRESSION (at 200/s: achieved 140/s of 200/s)');
    // p99 52 ms against 50 ms (48 ms in the baseline): 4 % over the objective, within 10 %.
    const near = compareRuns(
      baseline,
      sweepRun([
        [100, 10, true],
        [200, 52, true],
      ]),
      10,
      false,
    );
    expect(near.capacity![0]!.outcome).toBe('inconclusive');
    expect(near.regressed).toBe(false);
    // Lost at a lower rate than the baseline's capacity: that rate, and why, is the reason.
    const lower = compareRuns(
      baseline,
      sweepRun([
        [100, 500, true],
        [200, 40, true],
      ]),
      10,
      false,
    );
    expect(lower.capacity![0]).toMatchObject({ candidatePerS: null, outcome: 'fail', missed: ['at 100/s: p99 500 ms > 50.0 ms'] });
  });
});
