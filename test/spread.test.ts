import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { upgradeRunJson } from '../src/result/run-upgrade.js';
import { efficiencyRange } from '../src/result/configuration-shortfall.js';
import { efficiencyRangeOf } from '../src/stats/efficiency.js';
import { withEfficiency } from '../src/stats/summarize.js';
import { conclusions } from '../src/report/conclusions.js';
import { evaluateThresholds, parseThresholds } from '../src/verdict/thresholds.js';
import { comparisonMarkdownBody } from '../src/report/comparison.js';
import { ratioText, throughputChange } from '../src/verdict/compare.js';
import { renderSummaryCsv, SUMMARY_COLUMNS } from '../src/report/summary-csv.js';
import { efficiencyChart, throughputChart } from '../src/report/charts.js';
import { rateCurveChart } from '../src/report/sizing-charts.js';
import { scaleTable } from '../src/report/table-model.js';

/** Shipped examples measured with --repeat 3: P-256 from 9,527 to 10,935/s on one token, 10,594 to 14,369/s on four. */
const example = (name: string) => upgradeRunJson(JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'frozen', name, 'run.json'), 'utf8'))) as RunResult;
const p256 = example('scale-p256');
const rsa = example('scale-rsa2048');
const four = p256.configurations.find((c) => c.tokens === 4)!;

describe('the spread of repetitions where decisions are made', () => {
  it('an efficiency from repetitions is a range over the rounds: each repetition over the same round of its 1-token basis', () => {
    // Rounds are interleaved: 1, 2, 4 tokens, then again. Four tokens 12,334 / 10,594 / 14,369/s against one token's
    // 10,935 / 9,527 / 9,954/s in the same rounds: 0.282, 0.278, 0.361 (the unpaired extremes gave 0.242–0.377).
    const range = efficiencyRange(p256, four)!;
    expect(range.min).toBeCloseTo(10594.35 / (4 * 9527.37), 4);
    expect(range.max).toBeCloseTo(14368.65 / (4 * 9953.67), 4);
    expect(range.median).toBe(four.efficiency);
    // run.json carries it, as the reports show it.
    expect(withEfficiency(p256.configurations).find((c) => c.tokens === 4)!.efficiencyRange).toEqual({ min: 0.278, median: 0.31, max: 0.361 });
    // One measurement each: no range to give.
    const once = { ...p256, configurations: p256.configurations.map(({ spread: _s, repetitions: _r, ...c }) => c) } as RunResult;
    expect(efficiencyRange(once, once.configurations[2]!)).toBeNull();
  });
  it('paired rounds never allow an efficiency the unpaired extremes invent (above 1 from a slow basis round)', () => {
    // gate1 of the review: one token 2,401 / 3,652 / 4,066/s, two tokens 2,690 / 4,989 / 3,815/s, round by round.
    const rep = (throughputPerS: number) => ({ throughputPerS, partial: undefined });
    const one = {
      tokens: 1,
      throughputPerS: 3652.18,
      repetitions: [2400.85, 3652.18, 4065.86].map(rep),
      spread: { throughputPerS: { min: 2400.85, median: 3652.18, max: 4065.86 }, relativePct: 45.6 },
    };
    const two = {
      tokens: 2,
      throughputPerS: 3814.93,
      repetitions: [2690.13, 4989.19, 3814.93].map(rep),
      spread: { throughputPerS: { min: 2690.13, median: 3814.93, max: 4989.19 }, relativePct: 60.3 },
    };
    const range = efficiencyRangeOf(two as never, one as never, 0.522)!;
    expect(range.min).toBeCloseTo(3814.93 / (2 * 4065.86), 3); // 0.469, not 0.33
    expect(range.max).toBeCloseTo(4989.19 / (2 * 3652.18), 3); // 0.683, not 1.04
  });
  it('the scaling conclusion gives the factor and the efficiency with the ranges the repetitions allow', () => {
    const text = conclusions(p256).join(' ');
    expect(text).toMatch(/Scaling is poor: 4 tokens reached 12334\.4 signatures\/s, 1\.24× one token \(1\.11–1\.44× over the repetitions\) \(efficiency 0\.31, 0\.28–0\.36\)\./);
  });
  // The RSA-2048 example (2 s windows, long enough to gate): four tokens 1,096.92–1,341.27/s, one 739.08–945.76/s.
  it('--min-efficiency is inconclusive where the repetitions fall on both sides of the limit, and says the range', () => {
    const gate = (min: string, strict = false) => evaluateThresholds(rsa, parseThresholds({ minEfficiency: min }), strict).filter((c) => c.configuration?.tokens === 4)[0]!;
    // 0.35–0.39 round by round around a median of 0.38: 0.37 is inside the range.
    expect(gate('0.37')).toMatchObject({ outcome: 'inconclusive', measured: '0.38 (0.35–0.39)' });
    expect(gate('0.37').notJudged).toMatch(/the repetitions range from 0\.35 to 0\.39, across the limit/);
    expect(gate('0.34').outcome).toBe('pass');
    expect(gate('0.4').outcome).toBe('fail');
    // --strict-latency judges the median, as before.
    expect(gate('0.37', true).outcome).toBe('pass');
  });
  it('--min-throughput is inconclusive where the repetitions straddle it, and shows the range', () => {
    const gate = (min: string) => evaluateThresholds(rsa, parseThresholds({ minThroughput: min }))[0]!;
    expect(gate('1200')).toMatchObject({ outcome: 'inconclusive', measured: '1329.4/s (1096.9–1341.3)' });
    expect(gate('1000').outcome).toBe('pass');
    expect(gate('1400').outcome).toBe('fail');
  });
  it('--max-p99 is inconclusive where the repetitions p99s fall on both sides of the limit', () => {
    // Four tokens: the median repetition (by throughput) had p99 12.359 ms, the others 13.215 and 19.679 ms.
    const gate = (max: string) => evaluateThresholds(rsa, parseThresholds({ maxP99: max })).find((c) => c.configuration?.tokens === 4)!;
    expect(gate('15')).toMatchObject({ outcome: 'inconclusive', measured: '12.4 ms (12.4–19.7 ms)' });
    expect(gate('15').notJudged).toMatch(/range from 12.4 ms to 19.7 ms, across the limit/);
    expect(gate('20').outcome).toBe('pass');
    expect(gate('10').outcome).toBe('fail');
    expect(evaluateThresholds(rsa, parseThresholds({ maxP99: '15' }), true).find((c) => c.configuration?.tokens === 4)!.outcome).toBe('pass');
  });
  it("a speed ratio of two repeated runs carries its 95 % interval from the repetitions' noise, as compare gives it", () => {
    const body = comparisonMarkdownBody([rsa, p256], ['RSA-2048', 'ECDSA P-256']);
    // 1 token: 9953.67 / 866.77 = 11.48, its interval from the three repetitions of each side.
    const e = throughputChange(rsa.configurations[0]!, p256.configurations[0]!);
    expect(e.low).not.toBeNull();
    expect(body).toContain(`| 1 token | 866.8 | 9953.7 | ${ratioText(e)} |`);
    expect(ratioText(e)).toMatch(/^11\.5 (± [\d.]+ ×|× \([\d.]+–[\d.]+\))$/);
    expect(body).toMatch(
      /ECDSA P-256 is 9\.28× as fast as RSA-2048 \(median over the configurations both ran\): beyond the noise \(the ratio's 95 % interval clear of 1\) faster in 3 of 3 configurations\./,
    );
  });
  it('the scaling table gives the efficiency with the range its repetitions allow', () => {
    const row = scaleTable(rsa).rows.find((x) => String(x[0]).startsWith('4 tokens'))!;
    expect(row[row.length - 1]).toBe('0.38 (0.35–0.39)');
  });
  it('summary.csv gives the repetitions and the ranges of throughput, efficiency and p99', () => {
    const [head, ...rows] = renderSummaryCsv(p256).trim().split('\n');
    expect(head!.split(',')).toEqual(SUMMARY_COLUMNS);
    const all = rows.map((row) => row.split(',')).filter((row) => row[SUMMARY_COLUMNS.indexOf('token')] === 'all' && row[SUMMARY_COLUMNS.indexOf('configurationTokens')] === '4')[0]!;
    const col = (name: string) => all[SUMMARY_COLUMNS.indexOf(name)];
    expect(col('repetitions')).toBe('3');
    expect(col('throughputMinPerS')).toBe('10594.35');
    expect(col('throughputMaxPerS')).toBe('14368.65');
    expect(Number(col('efficiencyMin'))).toBeCloseTo(0.278, 3);
    expect(Number(col('efficiencyMax'))).toBeCloseTo(0.361, 3);
    const p99s = four.repetitions!.map((x) => x.latencyMs!.p99);
    expect(Number(col('p99MinMs'))).toBe(Math.min(...p99s));
    expect(Number(col('p99MaxMs'))).toBe(Math.max(...p99s));
  });
  it('the throughput, efficiency and response charts draw the range of the repetitions', () => {
    const bars = (datasets: { label?: string; data: unknown[] }[]) => datasets.filter((d) => /range/.test(d.label ?? ''));
    const throughput = bars(throughputChart(p256, new Map(), '').data.datasets as never);
    expect(throughput).toHaveLength(1);
    // A vertical bar per token count (min, max, then a gap).
    expect(throughput[0]!.data).toContainEqual({ x: 2, y: 10594.35 });
    expect(throughput[0]!.data).toContainEqual({ x: 2, y: 14368.65 });
    expect(bars(efficiencyChart(p256).data.datasets as never)[0]!.data).toContainEqual({ x: 2, y: efficiencyRange(p256, four)!.min });
    const sizing = example('sizing-p256');
    expect(bars(rateCurveChart(sizing).data.datasets as never)).toHaveLength(0);
    // A rate measured twice: its response p99s (4.96 and 9.5 ms) drawn as a bar at the target rate.
    const c = sizing.configurations[0]!;
    const repeated = {
      ...sizing,
      configurations: [{ ...c, repetitions: [c, { ...c, openLoop: { ...c.openLoop!, responseMs: { ...c.openLoop!.responseMs!, p99: 9.5 } } }] }, ...sizing.configurations.slice(1)],
    } as RunResult;
    expect(bars(rateCurveChart(repeated).data.datasets as never)[0]!.data).toEqual([
      { x: 1000, y: c.openLoop!.responseMs!.p99 },
      { x: 1000, y: 9.5 },
      { x: 1000, y: null },
    ]);
  });
});
