import { describe, expect, it } from 'vitest';
import type { ConfigurationResult, RunResult } from '../src/model/run-result.js';
import { compareRuns } from '../src/verdict/compare.js';
import { renderJunit } from '../src/report/junit.js';
import { renderComparisonTable } from '../src/report/verdict-tables.js';
import { rsa2048Run, tenSeconds } from './helpers/ten-seconds.js';

const base = rsa2048Run();

/** One token for ten seconds, its per-second throughput and its per-interval p99s (the run's own noise) given. */
const run = (throughputPerS: number, perSecond: number[], p99: number[]): RunResult => {
  const c: ConfigurationResult = {
    ...tenSeconds(base, throughputPerS, perSecond),
    latencyMs: { p50: 1, p90: 2, p99: p99.reduce((x, y) => x + y) / p99.length, max: 40, mean: 1 },
    latencyByIntervalMs: { p50: [1, 1, 1, 1, 1], p90: [], p99 },
  };
  return { ...base, plan: { ...base.plan, tokenCounts: [1] }, configurations: [c] };
};
const flat = (v: number) => Array.from({ length: 10 }, (_, i) => v + (i % 2 === 0 ? 5 : -5));
// p99 down 44 % on average, but moving from 1 to 10 ms within each run: its interval reaches past +10 %.
const baseline = run(1000, flat(1000), [2, 10, 6]);
const candidate = run(1010, flat(1010), [1, 7, 2]);

describe('compare for CI', () => {
  it('says a fall as "-44.4 %", never "+-44.4 %", and a rise with its sign', () => {
    const row = compareRuns(baseline, candidate, 10, false).rows[0]!;
    expect(row.inconclusive).toEqual([expect.stringMatching(/^p99 latency -44\.4 % \(0\.556 × \([\d.]+–[\d.]+\)\)$/)]);
    const slower = compareRuns(baseline, run(600, flat(600), [4, 8, 2, 6, 5, 3, 7]), 10, false).rows[0]!;
    expect(slower.regressions).toEqual([expect.stringMatching(/^throughput -40 % /)]);
    const faster = compareRuns(run(600, flat(600), [4, 8, 2, 6, 5, 3, 7]), baseline, 10, false, false, ['p50', 'p99']).rows[0]!;
    expect(JSON.stringify(faster)).not.toMatch(/\+-/);
  });
  it("JUnit states the rule judged (the ratio's interval against --max-regression), and has no case for a percentile not judged", () => {
    const cmp = compareRuns(baseline, candidate, 10, false);
    const xml = renderJunit([{ name: 'compare-rsa2048', result: candidate, thresholds: [], comparison: cmp }]);
    const cases = [...xml.matchAll(/<testcase [^>]*name="([^"]*)"/g)].map((m) => m[1]);
    expect(cases.filter((n) => /baseline/.test(n!))).toEqual(['rsa2048.tokens-1.baseline.throughput', 'rsa2048.tokens-1.baseline.p99', 'rsa2048.tokens-1.baseline.failures']);
    expect(xml).not.toMatch(/± 10 %|\+-/);
    expect(xml).toMatch(/name="rsa2048\.tokens-1\.baseline\.throughput\.expected" value="≥ 0\.90 × the baseline's 1000\.0 sig\/s \(--max-regression 10 %\), on the ratio's 95 % interval"/);
    expect(xml).toMatch(/name="rsa2048\.tokens-1\.baseline\.p99\.expected" value="≤ 1\.10 × the baseline's 6\.00 ms \(--max-regression 10 %\), on the ratio's 95 % interval"/);
    expect(xml).toMatch(/name="rsa2048\.tokens-1\.baseline\.p99\.measured" value="3\.33 ms; -44\.4 %; 0\.\d+ × \([\d.]+–[\d.]+\)"/);
    // Asked for, p50 is a case of its own.
    const withP50 = renderJunit([{ name: 'c', result: candidate, thresholds: [], comparison: compareRuns(baseline, candidate, 10, false, false, ['p50', 'p99']) }]);
    expect(withP50).toMatch(/name="rsa2048\.tokens-1\.baseline\.p50"/);
  });
  it('prints its table as a grid within 100 columns, intervals given as bounds on both sides', () => {
    // Throughput moving by ±40 % second to second, p99 from 1 to 10 ms: both ratios said as their bounds.
    const bursty = (v: number) => Array.from({ length: 10 }, (_, i) => v * [0.6, 1.4, 0.8, 1.2, 1][i % 5]!);
    const cmp = compareRuns(
      { ...run(3652.2, bursty(3652.2), [2, 10, 6]), configurations: [1, 2].map((tokens) => ({ ...run(3652.2, bursty(3652.2), [2, 10, 6]).configurations[0]!, tokens })) },
      {
        ...run(4861.3, bursty(4861.3), [1, 7, 2]),
        configurations: [1, 2].map((tokens) => ({ ...run(4861.3, bursty(4861.3), [1, 7, 2]).configurations[0]!, tokens })),
      },
      10,
      true,
    );
    const text = renderComparisonTable(cmp, 100);
    const grid = text.split('\n').filter((l) => /^[┌│└]/.test(l));
    expect(grid.length).toBeGreaterThan(3);
    expect(grid[2]).toMatch(/│ 1 token +│ 3652\.2 +│ 4861\.3 +│ 1\.33 (± [\d.]+|\([\d.]+–[\d.]+\)) +│ 0\.\d+ \([\d.]+–[\d.]+\) +│ 0 → 0 +│/);
    for (const line of grid) expect([...line].length).toBeLessThanOrEqual(100);
  });
});
