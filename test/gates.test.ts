import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigurationResult, RunResult } from '../src/model/run-result.js';
import { combineRepetitions, lowConfidence, throughputRange } from '../src/stats/repetitions.js';
import { compareRuns, hostBusyWhy, hostWarnings, judgeRatio, ratioText } from '../src/verdict/compare.js';
import { uncountedOf } from '../src/result/configuration-shortfall.js';
import { evaluateThresholds, parseThresholds } from '../src/verdict/thresholds.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';
import { tenSeconds } from './helpers/ten-seconds.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const readRun = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));

const rep = (throughputPerS: number, p99: number, operationsOk = 5000, durationS = 5): ConfigurationResult =>
  ({
    tokens: 2,
    threadsPerToken: 1,
    operationsOk,
    operationsFailed: 0,
    operationsVerified: operationsOk,
    failuresByCkr: {},
    durationS,
    throughputPerS,
    efficiency: null,
    perToken: [],
    latencyMs: { p50: p99 / 2, p90: p99 / 1.5, p99, max: p99 * 2, mean: p99 / 2 },
    timeSeries: { intervalS: 1, ok: [], failed: [] },
    recordsFile: `records/tokens-2-rep-${throughputPerS}.csv`,
    workerIssues: [],
  }) as ConfigurationResult;

describe('repetitions', () => {
  it('a configuration is its median repetition, whole, with every repetition and the spread beside it', () => {
    const c = combineRepetitions([rep(100, 9), rep(120, 7), rep(90, 12), rep(110, 8)]);
    // Four values: the lower middle one (100), so every figure shown was measured together.
    expect(c.throughputPerS).toBe(100);
    expect(c.latencyMs!.p99).toBe(9);
    expect(c.recordsFile).toBe('records/tokens-2-rep-100.csv');
    expect(c.repetitions!.map((r) => r.throughputPerS)).toEqual([100, 120, 90, 110]);
    expect(c.spread).toEqual({ throughputPerS: { min: 90, median: 100, max: 120 }, relativePct: 30 });
    expect(throughputRange(c)).toEqual({ min: 90, median: 100, max: 120 });
    expect(c.repetitions!.map((r) => r.latencyMs!.p99)).toEqual([9, 7, 12, 8]);
    expect(combineRepetitions([rep(100, 9)])).not.toHaveProperty('spread');
  });

  it("keeps each repetition's calls never checked or lost: a count beside the median is over all of them", () => {
    const c = combineRepetitions([rep(100, 9), { ...rep(120, 7), operationsUnverified: 3 }, { ...rep(90, 12), operationsLost: 2 }]);
    expect(c.throughputPerS).toBe(100);
    expect(uncountedOf(c, 'operationsUnverified')).toBe(3);
    expect(uncountedOf(c, 'operationsLost')).toBe(2);
  });

  it('latency percentiles of fewer than 1000 signatures or a window under 2 s are marked thin', () => {
    expect(lowConfidence({ operationsOk: 200, durationS: 10 })).toEqual(['200 successful calls (fewer than 1000)']);
    expect(lowConfidence({ operationsOk: 5000, durationS: 1.5 })).toEqual(['a window of 1.50 s (under 2 s)']);
    expect(lowConfidence({ operationsOk: 1000, durationS: 2 })).toEqual([]);
  });
});

describe('failures in any repetition', () => {
  it('count in max-failures and in a comparison, not only the median repetition', () => {
    const base = readRun(join(FIXTURES, 'run-rsa2048'));
    const failing = { ...rep(90, 9), operationsFailed: 3 };
    const c = combineRepetitions([rep(100, 9), rep(110, 8), failing]);
    expect(c.operationsFailed).toBe(0);
    const run: RunResult = { ...base, configurations: [{ ...c, tokens: 1 }] };
    expect(evaluateThresholds(run, { maxFailures: 0 })).toEqual([expect.objectContaining({ name: 'max-failures', measured: '3', outcome: 'fail' })]);
    // A baseline with some failures: the candidate regresses when its failure rate is worse beyond the limit.
    const withFailures = (n: number): RunResult => ({ ...base, configurations: base.configurations.map((x) => ({ ...x, operationsFailed: n })) });
    const cmp = compareRuns(withFailures(1), withFailures(10_000), 10, false);
    expect(cmp.regressed).toBe(true);
    expect(cmp.rows[0]!.regressions.some((r) => /failures \(failure rate/.test(r))).toBe(true);
    expect(compareRuns(withFailures(10), withFailures(10), 10, false).regressed).toBe(false);
  });
});

describe('the p99 gate flat out', () => {
  it("does not pass on a closed loop's p99 where the corrected p99 is above the limit: inconclusive, with it named", () => {
    const base = readRun(join(FIXTURES, 'run-rsa2048'));
    const c = { ...base.configurations[0]!, latencyMs: { ...base.configurations[0]!.latencyMs!, p99: 5 } };
    const run = (corrected: number): RunResult => ({ ...base, configurations: [{ ...c, correctedLatencyMs: { p99: corrected } } as ConfigurationResult] });
    expect(evaluateThresholds(run(8), { maxP99Ms: 10 })[0]).toMatchObject({ outcome: 'pass' });
    expect(evaluateThresholds(run(1170), { maxP99Ms: 10 })[0]).toMatchObject({ outcome: 'inconclusive', notJudged: expect.stringMatching(/corrected p99 is 1\.17 s, above the limit/) });
    expect(evaluateThresholds(run(1170), { maxP99Ms: 10 }, true)[0]).toMatchObject({ outcome: 'pass' });
    const stated = { ...base, configurations: [{ ...c, correctedLatencyMs: { expectedIntervalMs: 0.925, p50: 0.04, p90: 0.05, p99: 1170, max: 2000 } }] };
    expect(evaluateThresholds(stated, { maxP99Ms: 10 })[0]!.notJudged).toMatch(/corrected p99 is 1\.17 s \(a session's calls 925 µs apart, as the loop achieved\), above the limit/);
  });

  it('says which p99 it judges: the service time of a closed loop flat out, the response time at a target rate', () => {
    const base = readRun(join(FIXTURES, 'run-rsa2048'));
    const c = { ...base.configurations[0]!, latencyMs: { ...base.configurations[0]!.latencyMs!, p99: 5 } };
    expect(evaluateThresholds({ ...base, configurations: [c] }, { maxP99Ms: 10 })[0]!.expected).toBe('service p99 (closed loop) ≤ 10.0 ms');
    const open = { ...c, openLoop: { responseMs: { p50: 1, p90: 2, p99: 20, max: 30, mean: 2 } } } as unknown as ConfigurationResult;
    expect(evaluateThresholds({ ...base, configurations: [open] }, { maxP99Ms: 10 })[0]).toMatchObject({ expected: 'response p99 ≤ 10.0 ms', measured: '20.0 ms' });
  });

  it('takes a unit as --slo-p99 does: 10ms, 500us, 1s; a plain number is ms', () => {
    expect(parseThresholds({ maxP99: '10ms' }).maxP99Ms).toBe(10);
    expect(parseThresholds({ maxP99: '500us' }).maxP99Ms).toBe(0.5);
    expect(parseThresholds({ maxP99: '500µs' }).maxP99Ms).toBe(0.5);
    expect(parseThresholds({ maxP99: '1s' }).maxP99Ms).toBe(1000);
    expect(parseThresholds({ maxP99: '1.5s' }).maxP99Ms).toBe(1500);
    expect(parseThresholds({ maxP99: '10' }).maxP99Ms).toBe(10);
    expect(() => parseThresholds({ maxP99: '0ms' })).toThrow(/--max-p99 must be longer than 0/);
    expect(() => parseThresholds({ maxP99: '10 minutes' })).toThrow(/--max-p99 must be a time with a unit \(us, ms, s\)/);
  });
});

describe('scaling efficiency gate', () => {
  it('judges only whole configurations: a ratio from one the run was killed in, or one with a hung token, is inconclusive', () => {
    const one = { ...rep(100, 9), tokens: 1 };
    const run = (two: ConfigurationResult) => ({ command: 'scale', plan: { repeat: 1, tokenCounts: [1, 2], threadsPerToken: [1] }, configurations: [one, two] }) as unknown as RunResult;
    const whole = { ...rep(120, 9), efficiency: 0.6 };
    expect(evaluateThresholds(run(whole), { minEfficiency: 0.8 })[0]!.outcome).toBe('fail');
    const killed = { ...whole, partial: 'killed' as const };
    expect(evaluateThresholds(run(killed), { minEfficiency: 0.8 })[0]).toMatchObject({ outcome: 'inconclusive', measured: '0.60', notJudged: 'this configuration is not whole (killed)' });
    const hung = { ...whole, hungSessions: [{ token: 1, thread: 0, stage: 'sign' }] } as unknown as ConfigurationResult;
    expect(evaluateThresholds(run(hung), { minEfficiency: 0.8 })[0]!.outcome).toBe('inconclusive');
    // Planned and never measured (the run stopped before it): its check stays, failed 'not run'.
    const cut = { ...run(whole), plan: { repeat: 1, tokenCounts: [1, 2, 4], threadsPerToken: [1] } } as unknown as RunResult;
    expect(evaluateThresholds(cut, { minEfficiency: 0.5 }).map((c) => [c.configuration?.tokens, c.measured, c.outcome])).toEqual([
      [2, '0.60', 'pass'],
      [4, 'not run', 'fail'],
    ]);
  });
});

describe('the noise rule', () => {
  // A ratio and its interval, ± `halfWidth` either side (null: noise unknown).
  const e = (ratio: number, halfWidth: number | null) => ({ ratio, low: halfWidth === null ? null : ratio - halfWidth, high: halfWidth === null ? null : ratio + halfWidth });
  it('passes or fails only on the whole 95 % interval of the ratio: across the limit it is inconclusive', () => {
    // Throughput, higher is better: 25 % worse.
    expect(judgeRatio(e(0.75, 0.05), 10, true, false)).toBe('fail');
    expect(judgeRatio(e(0.75, 0.2), 10, true, false)).toBe('inconclusive');
    // Within the limit in the middle, but a regression beyond it as likely: not shown either way.
    expect(judgeRatio(e(0.95, 0.5), 10, true, false)).toBe('inconclusive');
    expect(judgeRatio(e(1.25, 0.7), 10, true, false)).toBe('inconclusive');
    // An interval not symmetric about its ratio: its own bounds decide.
    expect(judgeRatio({ ratio: 0.85, low: 0.8, high: 0.91 }, 10, true, false)).toBe('inconclusive');
    expect(judgeRatio({ ratio: 0.85, low: 0.8, high: 0.89 }, 10, true, false)).toBe('fail');
    expect(judgeRatio(e(0.98, 0.05), 10, true, false)).toBe('pass');
    expect(judgeRatio(e(0.95, 0.5), 10, true, true)).toBe('pass');
    // Latency, lower is better: 40 % worse.
    expect(judgeRatio(e(1.4, 0.1), 10, false, false)).toBe('fail');
    expect(judgeRatio(e(1.4, 0.35), 10, false, false)).toBe('inconclusive');
    // Noise unknown (a side with fewer than 3 intervals or repetitions): never a failure, unless --strict-latency.
    expect(judgeRatio(e(0.5, null), 10, true, false)).toBe('inconclusive');
    expect(judgeRatio(e(0.5, null), 10, true, true)).toBe('fail');
    // Better is never worse, however noisy.
    expect(judgeRatio(e(1.42, null), 10, true, false)).toBe('pass');
  });

  it('says a ratio to 3 significant digits with its ± to as many places, as hyperfine does, or its bounds where they are not symmetric', () => {
    expect(ratioText(e(1.42, 0.05))).toBe('1.42 ± 0.05 ×');
    expect(ratioText({ ratio: 0.774, low: 0.402, high: 1.49 })).toBe('0.774 × (0.402–1.49)');
    expect(ratioText({ ratio: 1.42, low: 1.3, high: 1.61 })).toBe('1.42 × (1.30–1.61)');
    expect(ratioText(e(1, 0))).toBe('1.00 ± 0.00 ×');
    expect(ratioText(e(12.3, null))).toBe('12.3 × (noise unknown)');
  });

  it('a faster run, its p50 worse within its noise, is not a regression; a slower one beyond its noise is', () => {
    const base = readRun(join(FIXTURES, 'run-rsa2048'));
    // Ten seconds each: per-second throughput, and per-interval percentiles (the run's own noise).
    const configuration = (throughputPerS: number, perSecond: number[], p50: number[], p99: number[]): ConfigurationResult => ({
      ...tenSeconds(base, throughputPerS, perSecond),
      latencyMs: { p50: p50.reduce((x, y) => x + y) / p50.length, p90: 2, p99: p99.reduce((x, y) => x + y) / p99.length, max: 20, mean: 1 },
      latencyByIntervalMs: { p50, p90: [], p99 },
    });
    const run = (c: ConfigurationResult): RunResult => ({ ...base, plan: { ...base.plan, tokenCounts: [1] }, configurations: [c] });
    const baseline = run(configuration(1000, [1000, 990, 1010, 1005, 995, 1000, 1002, 998, 1001, 999], [0.6, 1.0, 0.7, 0.9, 0.8, 0.8, 0.7, 0.9, 0.6, 1.0], [4, 4.2, 3.8, 4.1, 3.9]));
    // The issue's case: throughput +42 %, p99 −60 %, p50 +24 % from a host's preemption that moves it by as much within each run.
    const faster = run(configuration(1420, [1420, 1410, 1430, 1425, 1415, 1420, 1422, 1418, 1421, 1419], [0.5, 1.5, 0.7, 1.3, 0.99, 0.99, 0.6, 1.4, 0.8, 1.12], [1.6, 1.7, 1.5, 1.6, 1.6]));
    for (const percentiles of [['p99'], ['p50', 'p99']] as const) {
      const cmp = compareRuns(baseline, faster, 10, false, false, [...percentiles]);
      expect(cmp.regressed).toBe(false);
      expect(cmp.rows[0]!.regressions).toEqual([]);
      expect(cmp.rows[0]!.throughputRatio.ratio).toBe(1.42);
      expect(cmp.rows[0]!.throughputRatio).toEqual({ ratio: 1.42, low: 1.41, high: 1.43 });
    }
    // p50 is judged only when asked, and then it is within the noise: inconclusive, not a regression.
    expect(compareRuns(baseline, faster, 10, false).rows[0]!.inconclusive).toEqual([]);
    expect(compareRuns(baseline, faster, 10, false, false, ['p50', 'p99']).rows[0]!.inconclusive).toEqual([
      expect.stringMatching(/^p50 latency \+24 % \(1\.24 (± \d\.\d+ ×|× \(\d\.\d+–\d\.\d+\))\)$/),
    ]);
    const slower = run(configuration(700, [700, 690, 710, 705, 695, 700, 702, 698, 701, 699], [0.6, 1.0, 0.7, 0.9, 0.8, 0.8, 0.7, 0.9, 0.6, 1.0], [4, 4.2, 3.8, 4.1, 3.9]));
    const cmp = compareRuns(baseline, slower, 10, false);
    expect(cmp.regressed).toBe(true);
    expect(cmp.rows[0]!.regressions).toEqual([expect.stringMatching(/^throughput -30 % \(0\.700 ± 0\.0\d\d ×\)$/)]);
    // Half the throughput, all of it in one second of ten: a ratio of 0.5 whose interval was ± 1.13 (down to -0.63).
    // On the log scale it is far from symmetric, above 0, said as its bounds, and inconclusive on them.
    const burst = run(configuration(500, [0, 0, 0, 0, 0, 0, 0, 0, 0, 5000], [0.6, 1.0, 0.7, 0.9, 0.8, 0.8, 0.7, 0.9, 0.6, 1.0], [4, 4.2, 3.8, 4.1, 3.9]));
    const noisy = compareRuns(baseline, burst, 10, false).rows[0]!;
    expect(noisy.throughputRatio.ratio).toBe(0.5);
    expect(noisy.throughputRatio.low).toBeGreaterThan(0);
    expect(noisy.throughputRatio.high! / 0.5).toBeCloseTo(0.5 / noisy.throughputRatio.low!, 1);
    expect(noisy.regressions).toEqual([]);
    expect(noisy.inconclusive).toEqual([`throughput -50 % (0.500 × (${noisy.throughputRatio.low!.toPrecision(3)}–${noisy.throughputRatio.high!.toPrecision(3)}))`]);
  });

  it('warns when the hosts differ or one was busy', () => {
    const base = readRun(join(FIXTURES, 'run-rsa2048'));
    const other: RunResult = { ...base, host: { ...base.host, cpuModel: 'Other CPU', loadAverage: [base.host.cpuCount * 2, 1, 1] } };
    const warnings = hostWarnings(base, other);
    expect(warnings.some((w) => w.startsWith('the hosts differ'))).toBe(true);
    expect(warnings.some((w) => w.startsWith("the candidate's host was busy"))).toBe(true);
    expect(hostWarnings(base, base)).toEqual([]);
  });
});

describe('gates on the command line', () => {
  it("compare: worse beyond the limit but within the repetitions' noise is inconclusive (exit 0), beyond it a regression (exit 5)", () => {
    // The 2-token configuration repeated three times in each run: its noise is between repetitions.
    const withRepetitions = (name: string, factors: number[]) => {
      const dir = join(tempDir('noise'), name);
      cpSync(join(FIXTURES, 'run-rsa2048'), dir, { recursive: true });
      const doc = readRun(dir);
      const c = doc.configurations[1]!;
      const base = readRun(join(FIXTURES, 'run-rsa2048')).configurations[1]!.throughputPerS;
      c.repetitions = factors.map((f) => ({ ...c, throughputPerS: base * f }));
      c.throughputPerS = base * factors[1]!;
      writeFileSync(join(dir, 'run.json'), JSON.stringify(doc));
      return dir;
    };
    const baseline = withRepetitions('baseline', [0.98, 1, 1.02]);
    const noisy = runCli(['compare', baseline, withRepetitions('noisy', [0.7, 0.8, 1.05])]);
    expect(noisy.status, noisy.stderr).toBe(0);
    expect(noisy.stdout).toMatch(/\[\d\] 2 tokens: inconclusive: throughput -20 % \(0\.800 × \(0\.\d+–\d\.\d+\)\)/);
    const apart = runCli(['compare', baseline, withRepetitions('apart', [0.79, 0.8, 0.81]), '--json']);
    expect(apart.status).toBe(5);
    expect(JSON.parse(apart.stdout).rows[1].regressions).toEqual([expect.stringMatching(/^throughput -20 % \(0\.800 ± 0\.0\d\d ×\)$/)]);
  });

  it('refuses, before signing: a baseline folder that is a run directory, empty paths, a percentage that is not one', () => {
    const ws = { HSM_BENCH_WORKSPACE: tempDir('ws') };
    const runDir = tempDir('a-run');
    mkdirSync(join(runDir, 'records'));
    for (const [args, message] of [
      [['--save-baseline', runDir], /is a run directory/],
      [['--save-baseline', ''], /--save-baseline is empty/],
      [['--junit', ''], /--junit is empty/],
      [['--baseline', join(FIXTURES, 'run-rsa2048'), '--max-regression', '0x10', '--force'], /--max-regression must be a percentage/],
    ] as const) {
      const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', ...args], ws);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(runCli(['compare', join(FIXTURES, 'run-rsa2048'), join(FIXTURES, 'run-rsa2048'), '--max-regression', 'Infinity']).status).toBe(2);
    expect(existsSync(join(ws.HSM_BENCH_WORKSPACE, 'tokens'))).toBe(false);
  });

  it('--max-regression without --baseline is refused, not ignored', () => {
    const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--max-regression', '5'], { HSM_BENCH_WORKSPACE: tempDir('ws') });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--max-regression applies to a comparison with --baseline/);
  });

  it("compare of single runs: each run's own per-second and per-interval noise; the same command again is no regression, a token at half speed is", () => {
    const hsm = new ExternalSoftHsm();
    hsm.initToken('single-0');
    hsm.generateKey('single-0', 'EC:prime256v1', 'gk');
    const out = tempDir('single');
    const module = buildFaultyModule();
    const run = (delayMs: number) => {
      const r = runCli(
        ['scale', '--module', module, '--alg', 'p256', '--key-label', 'gk', '--token-label', 'single-', '--tokens', '1', '--duration', '4s', '--warmup', '0', '--verify', 'none', '--out', out],
        { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', FAULTY_SIGN_DELAY_MS: String(delayMs) },
      );
      expect(r.status, r.stderr).toBe(0);
      return runDirOf(r);
    };
    const [first, again, slow] = [run(20), run(20), run(40)];
    // ~50 calls a second for 4 s: a p50 for each second, too few calls for a p99 of each part.
    const series = readRun(first).configurations[0]!.latencyByIntervalMs!;
    expect(series.p50.length).toBeGreaterThanOrEqual(3);
    expect(series.p99).toEqual([]);
    const same = runCli(['compare', first, again, '--percentiles', 'p50,p99', '--json']);
    expect(same.status, same.stdout).toBe(0);
    const row = JSON.parse(same.stdout).rows[0];
    expect(row.regressions).toEqual([]);
    expect(row.throughputRatio.low).not.toBeNull();
    expect(row.latencyRatios.p50.low).not.toBeNull();
    const slower = runCli(['compare', first, slow]);
    // On a host busy with other work (this one is shared) a run's own seconds cannot show the swings between runs:
    // the slowdown is said, not failed, unless both hosts were quiet.
    const busy = [first, slow].some((dir) => hostBusyWhy(readRun(dir)) !== null);
    expect(slower.status, slower.stdout).toBe(busy ? 0 : 5);
    expect(slower.stdout).toMatch(
      busy ? /inconclusive: throughput -\d+(\.\d)? % \(.*\): the host was busy in/ : /REGRESSION: throughput -\d+(\.\d)? % \(0\.\d{3} (± 0\.\d{3} ×|× \(0\.\d+–\d\.\d+\))\)/,
    );
  }, 120_000);

  it('the first nightly run saves the baseline (--baseline-missing warn), the next is judged against it; a slowdown to half the throughput fails (its whole interval beyond the limit, even from 3 one-second repetitions on a loaded host), a plain rerun does not', () => {
    const hsm = new ExternalSoftHsm();
    for (const label of ['gate-0', 'gate-1']) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'gk');
    }
    const out = tempDir('nightly');
    const baseline = join(out, 'baseline');
    const module = buildFaultyModule();
    // Tokens that sleep 20 ms per signature (a slow token): the host's noise barely moves them.
    const nightly = (delayMs: number, extra: string[] = []) =>
      runCli(
        [
          'scale',
          '--module',
          module,
          '--alg',
          'p256',
          '--key-label',
          'gk',
          '--token-label',
          'gate-',
          '--tokens',
          '1,2',
          '--repeat',
          '3',
          '--duration',
          '1s',
          '--warmup',
          '0',
          '--out',
          out,
          '--baseline',
          baseline,
          '--baseline-missing',
          'warn',
          ...extra,
        ],
        { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', FAULTY_SIGN_DELAY_MS: String(delayMs) },
      );
    const first = nightly(20, ['--save-baseline', baseline]);
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/the baseline .* does not exist yet/);
    expect(existsSync(join(baseline, 'run.json'))).toBe(true);
    const run = readRun(runDirOf(first));
    expect(run.plan.repeat).toBe(3);
    expect(run.configurations[1]!.repetitions).toHaveLength(3);
    expect(run.host.loadAverage).toHaveLength(3);

    const plain = nightly(20, ['--junit', join(out, 'plain.xml')]);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/against the baseline/);
    const slower = nightly(40, ['--junit', join(out, 'slower.xml')]);
    expect(slower.status).toBe(5);
    expect(slower.stdout).toMatch(/REGRESSION: throughput -\d+/);
    // Two nights of the same plan: the same test names, whatever was measured (CI keeps each one's history).
    const names = (file: string) => [...readFileSync(file, 'utf8').matchAll(/<testcase classname="([^"]*)" name="([^"]*)"/g)].map((m) => `${m[1]}/${m[2]}`);
    expect(names(join(out, 'slower.xml'))).toEqual(names(join(out, 'plain.xml')));
    expect(names(join(out, 'plain.xml'))).toContain('hsm-bench.p256/p256.tokens-2.baseline.throughput');
  }, 120_000);
});

describe('a percentile the sample does not support', () => {
  it('is neither shown as a ratio nor judged; worse beyond the limit it is said inconclusive', () => {
    const base = readRun(join(FIXTURES, 'run-rsa2048'));
    // 50 calls: no call beyond p99.
    const few = (p99: number): RunResult => ({
      ...base,
      plan: { ...base.plan, tokenCounts: [1] },
      configurations: [{ ...base.configurations[0]!, operationsOk: 50, latencyMs: { p50: 1, p90: 2, p99, max: p99, mean: 1 } }],
    });
    const same = compareRuns(few(3), few(3), 10, false).rows[0]!;
    expect(same.latencyRatios.p99).toBeUndefined();
    expect(same.inconclusive).toEqual([]);
    expect(compareRuns(few(3), few(6), 10, false).rows[0]!.inconclusive).toEqual(['p99 latency +100 %: too few calls for it (50 and 50)']);
  });
});
