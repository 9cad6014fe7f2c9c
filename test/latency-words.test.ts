import { describe, expect, it } from 'vitest';
import { MEAN_RESOLUTION_MS, RECORD_RESOLUTION_MS, latencyRangeText, latencyText, percentileSupported } from '../src/core/latency-text.js';
import { renderMarkdownReport } from '../src/report/markdown.js';
import { closedLoopNote, latencyLine, percentileCell } from '../src/report/latency-cells.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { correctedPercentilesMs, latencyHistogram, percentilesMs } from '../src/stats/latency-histogram.js';
import { summarizeConfiguration } from '../src/stats/summarize.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRunJson } from '../src/result/run-directory.js';
import { evaluateThresholds } from '../src/verdict/thresholds.js';
import { judgeRate } from '../src/stats/capacity.js';
import { renderScaleTable } from '../src/report/terminal-table.js';
import { renderTrendTable, trendPoints } from '../src/report/trend.js';

const call = (startOffsetUs: number, latencyUs: number) => ({ startOffsetUs, latencyUs, operation: '', verified: null, startLagUs: null, late: null });
const summary = (s: ConfigurationStats) => summarizeConfiguration({ stats: s, recordsFile: 'r.csv', workerIssues: [] }, [{ label: 't', serial: '1', slotId: '1' }], 1);

describe('latency in words and numbers', () => {
  it('scales to µs, ms or s with 3 significant digits, never 0.05 with its unit elsewhere', () => {
    expect(latencyText(0.05)).toBe('50.0 µs');
    expect(latencyText(0.0404)).toBe('40.4 µs');
    expect(latencyText(0.8)).toBe('800 µs');
    expect(latencyText(0.9996)).toBe('1.00 ms');
    expect(latencyText(1.72)).toBe('1.72 ms');
    expect(latencyText(24.46)).toBe('24.5 ms');
    expect(latencyText(124.397)).toBe('124 ms');
    expect(latencyText(999.7)).toBe('1.00 s');
    expect(latencyText(2124)).toBe('2.12 s');
    expect(latencyText(3_600_000)).toBe('3600 s');
    expect(latencyText(0)).toBe('0 µs');
    expect(latencyRangeText(12.359, 19.679)).toBe('12.4–19.7 ms');
    expect(latencyRangeText(0.8, 1.2)).toBe('800 µs–1.20 ms');
    expect(latencyText(null)).toBe('–');
  });

  it('shows no digit the records do not hold: whole µs for a percentile, one digit more for a mean', () => {
    // Records hold whole µs: 12, 12 and 13 µs have a mean of 12.33 µs, kept and shown to 0.1 µs.
    const h = latencyHistogram();
    for (const us of [12, 12, 13]) h.recordValue(us);
    const l = percentilesMs(h)!;
    expect(l.mean).toBe(0.0123);
    expect(latencyText(l.mean, MEAN_RESOLUTION_MS)).toBe('12.3 µs');
    expect(percentileCell(l, 'p50', 3)).toBe('12 µs');
    expect(latencyLine(l, 3)).toBe('p50 12 µs, max 13 µs (n = 3)');
    // A mean of 5.678 µs is 5.7 µs, not 5.68; of 1.2345 ms, 1.23 ms (3 figures, coarser than the resolution).
    expect(latencyText(0.005678, MEAN_RESOLUTION_MS)).toBe('5.7 µs');
    expect(latencyText(1.2345, MEAN_RESOLUTION_MS)).toBe('1.23 ms');
    expect(latencyText(0.0404, RECORD_RESOLUTION_MS)).toBe('40 µs');
    // A report's mean service time, from a hand-built configuration: 12.3 µs, never "12.0" from a mean cut to 1 µs.
    const r = readRunJson(new URL('../fixtures/run-rsa2048/', import.meta.url).pathname);
    r.configurations[0]!.latencyMs = { ...l };
    expect(renderMarkdownReport(r, { charts: [] })).toMatch(/\| 1 token \| 100 \| 12 µs \| 13 µs \| 13 µs \| 13 µs \| 12\.3 µs \|/);
  });

  it('shows a percentile only where a call lies beyond it, and says n', () => {
    // 125 calls: p99 has 1.25 calls beyond it, p99.9 none (it would be the slowest call).
    expect(percentileSupported(99, 125)).toBe(true);
    expect(percentileSupported(99.9, 125)).toBe(false);
    expect(percentileSupported(99.99, 10_000)).toBe(true);
    expect(percentileSupported(90, 9)).toBe(false);
    const l = { p50: 0.8, p90: 1.2, p99: 107, max: 110, mean: 2.6 };
    expect(percentileCell(l, 'p99', 50)).toBe('–');
    expect(percentileCell(l, 'p99', 125)).toBe('107 ms');
    expect(latencyLine(l, 50)).toBe('p50 800 µs, p90 1.20 ms, max 110 ms (n = 50)');
    expect(latencyLine(l, 1250)).toBe('p50 800 µs, p90 1.20 ms, p99 107 ms, max 110 ms (n = 1,250)');
  });

  it('flat out, the correction for coordinated omission adds back the calls a stall held back', () => {
    const h = latencyHistogram();
    // 1,000 calls of 1 ms and one of 100 ms: a session on schedule (every 1 ms) would have waited 99, 98 … 2 ms more.
    for (let i = 0; i < 1000; i++) h.recordValue(1000);
    h.recordValue(100_000);
    const k = correctedPercentilesMs(h, 1000)!;
    expect(k.expectedIntervalMs).toBe(1);
    // 1,000 + 99 values, 100 of them from 2 to 100 ms: the corrected p99 is ~90 ms, where the service time's is 1 ms.
    expect(k.p99).toBeGreaterThan(80);
    expect(k.max).toBe(100);
    expect(closedLoopNote({ correctedLatencyMs: k, operationsOk: 1001 })).toMatch(/understates the tail .* p99 (8|9)\d\.\d ms, max 100 ms; --rate measures response times/);
    expect(closedLoopNote({ openLoop: {} as never, correctedLatencyMs: undefined, operationsOk: 1 })).toBeNull();
  });

  it("assumes the interval between a session's calls the loop achieved, not the median service time", () => {
    // One session: 2,000 calls of 40 µs, one every 1 ms (the session checked and recorded between them), and one of
    // 10 ms. On schedule every 1 ms, the slow call held back 9 calls: 0.45 % of them, below the p99. Taking the 40 µs
    // median as the interval would model a 25× overload and add 249 calls of up to 10 ms: a p99 of milliseconds.
    const s = new ConfigurationStats(1);
    for (let i = 0; i < 2000; i++) s.add(0, call(i * 1000, 40), undefined);
    s.add(0, call(2_000_000, 10_000), undefined);
    const c = summary(s);
    expect(c.correctedLatencyMs!.expectedIntervalMs).toBeCloseTo(2010 / 2001, 2);
    expect(c.correctedLatencyMs!.p99).toBe(0.04);
    expect(c.correctedLatencyMs!.max).toBe(10);
    expect(closedLoopNote(c)).toMatch(/assuming a session's calls 1\.00 ms apart, as they were on average\) it is p99 40\.0 µs, max 10\.0 ms/);
  });

  it("failed calls' times are kept apart from the successes' service time, not dropped; a call that never returned has none", () => {
    const s = new ConfigurationStats(1);
    for (let i = 0; i < 100; i++) s.add(0, call(i * 1000, 900), undefined);
    // Two fast failures (the token refused at once) and a call that never returned.
    s.add(0, call(100_000, 20), 'CKR_DEVICE_ERROR');
    s.add(0, call(101_000, 40), 'CKR_DEVICE_ERROR');
    s.add(0, call(102_000, 10_000_000), 'CALL_TIMED_OUT');
    const c = summary(s);
    expect(c.latencyMs!.p50).toBe(0.9);
    expect(c.latencyMs!.max).toBe(0.9);
    expect(c.failedLatencyMs).toMatchObject({ max: 0.04 });
    expect(c.correctedLatencyMs).not.toBeUndefined();
  });
});

describe('the percentile chart', () => {
  it('draws a percentile only where a call lies beyond it: 100 calls reach p99, never p99.99', async () => {
    const { digestConfiguration } = await import('../src/report/records-digest.js');
    const fixture = new URL('../fixtures/run-rsa2048/', import.meta.url).pathname;
    const { curve } = await digestConfiguration(fixture, { recordsFile: 'records/tokens-1.csv', operationsOk: 0, operationsFailed: 0 });
    const percentiles = curve.map((p) => p.percentile);
    expect(percentiles).toContain(99);
    expect(percentiles).not.toContain(99.5);
    expect(percentiles).not.toContain(99.99);
    expect(percentiles.at(-1)).toBe(100);
  });
});

describe('the correction for coordinated omission, counted from the buckets', () => {
  it("agrees with HdrHistogram's own copy, and takes milliseconds where the copy takes minutes", () => {
    const h = latencyHistogram();
    for (let i = 0; i < 20000; i++) h.recordValue(1000 + (i % 50));
    for (let i = 0; i < 30; i++) h.recordValue(20000 + i * 3000);
    const copy = h.copyCorrectedForCoordinatedOmission(h.getValueAtPercentile(50));
    const k = correctedPercentilesMs(h, h.getValueAtPercentile(50))!;
    for (const p of [50, 90, 99] as const) expect(k[`p${p}`]).toBeCloseTo(copy.getValueAtPercentile(p) / 1000, 0);
    // A million 40 µs calls and stalls up to 2 s: 50,000 values a stall for the copy.
    const long = latencyHistogram();
    for (let i = 0; i < 1000; i++) long.recordValue(40);
    long.recordValueWithCount(40, 1_000_000);
    for (let i = 0; i < 2000; i++) long.recordValue(40 + i * 1000);
    const started = Date.now();
    expect(correctedPercentilesMs(long, 40)!.max).toBeGreaterThan(1990);
    // A bound on the behaviour, not a speed: the copy takes over a minute here.
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe('report.md', () => {
  it('names the service time, shows n, scales units, and gives failed calls their own table', async () => {
    const { readFileSync } = await import('node:fs');
    const { renderMarkdownReport } = await import('../src/report/markdown.js');
    const r = JSON.parse(readFileSync(new URL('../fixtures/run-rsa2048/run.json', import.meta.url), 'utf8'));
    const c = r.configurations[0];
    c.latencyMs = { p50: 0.05, p90: 0.06, p99: 4, max: 9, mean: 0.1 };
    c.correctedLatencyMs = { expectedIntervalMs: 0.05, p50: 0.05, p90: 2, p99: 8, max: 9 };
    c.operationsFailed = 3;
    c.failedLatencyMs = { p50: 0.02, p90: 0.03, p99: 0.04, max: 0.04, mean: 0.03 };
    const md = renderMarkdownReport(r, { charts: [] });
    expect(md).toContain('## Service time (successful signatures)');
    expect(md).toMatch(/understate the tail/);
    // 100 calls: p99 has one call beyond it; "0.05" is 50 µs (records hold whole µs: no "50.0").
    expect(md).toMatch(/\| 1 token \| 100 \| 50 µs \| 60 µs \| 4\.00 ms \| 9\.00 ms \| 100 µs \| 8\.00 ms \|/);
    expect(md).toMatch(/Time to fail[\s\S]*\| 1 token \| 3 \| 20 µs \| – \| 40 µs \|/);
    expect(md).not.toMatch(/\| 0\.05\d* \|/);
  });
});

describe('every time a verdict, an answer or a table gives is scaled by latencyText', () => {
  const FROZEN = new URL('../fixtures/frozen/', import.meta.url).pathname;
  const flatOut = () => readRunJson(join(FROZEN, 'scale-p256'));
  const sizing = () => readRunJson(join(FROZEN, 'sizing-p256'));
  const scaled = /^(≤ )?(\d+ µs|\d+(\.\d+)? (µs|ms|s))/;

  it('--max-p99: the limit and the measured p99, with its repetitions’ range, in µs/ms/s', () => {
    const r = flatOut();
    const checks = evaluateThresholds(r, { maxP99Ms: 0.05 });
    expect(checks.length).toBe(r.configurations.length);
    expect(checks[0]!.expected).toBe('service p99 (closed loop) ≤ 50.0 µs');
    for (const [i, c] of checks.entries()) {
      const p99s = r.configurations[i]!.repetitions!.map((x) => x.latencyMs!.p99);
      expect(c.measured).toBe(`${latencyText(r.configurations[i]!.latencyMs!.p99)} (${latencyRangeText(Math.min(...p99s), Math.max(...p99s))})`);
      expect(c.measured).toMatch(scaled);
      if (c.notJudged) expect(c.notJudged).not.toMatch(/\d\.\d{3} ms/);
    }
  });

  it('the sizing answer, the plan and a rate’s misses: objectives and measured times scaled', () => {
    const r = sizing();
    r.plan.objectives = [{ percentile: 'p99', ms: 0.5 }];
    const c = r.configurations.find((x) => x.openLoop && (x.openLoop.responseMs?.p99 ?? 0) > 0.5 && x.operationsOk > 1000)!;
    const missed = judgeRate(c, r.plan.objectives).missed.find((m) => m.startsWith('p99'))!;
    expect(missed).toMatch(new RegExp(`^p99 (≥ )?${latencyText(c.openLoop!.responseMs!.p99).replace('.', '\\.')} > 500 µs`));
    const text = renderScaleTable(r);
    expect(text).toContain('p99 ≤ 500 µs');
    expect(text).not.toMatch(/\b0\.5 ms\b/);
  });

  it('trend: the p99 column scaled, no header in ms over bare decimals', () => {
    const points = trendPoints([flatOut()]);
    const text = renderTrendTable(points, 0);
    expect(text).not.toContain('(ms)');
    for (const p of points) expect(text).toContain(latencyText(p.p99Ms));
  });

  it('no time is formatted by hand with " ms" in the renderers, the verdicts or the statistics', () => {
    const root = new URL('../src/', import.meta.url).pathname;
    const offenders = ['report', 'cli', 'verdict', 'stats'].flatMap((dir) =>
      readdirSync(join(root, dir))
        .filter((f) => f.endsWith('.ts'))
        .flatMap((f) =>
          readFileSync(join(root, dir, f), 'utf8')
            .split('\n')
            .map((line, i) => ({ where: `${dir}/${f}:${i + 1}`, line }))
            // A value followed by " ms" in a template, or toFixed beside a unit: latencyText says it.
            .filter(({ line }) => !/^\s*(\*|\/\/|\/\*)/.test(line) && /(\}\s?ms\b|toFixed\(\d\)\s*\}?\s*ms\b)/.test(line)),
        ),
    );
    expect(offenders).toEqual([]);
  });
});
