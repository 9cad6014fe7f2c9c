import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { renderBurnInSummary } from '../src/report/burn-in-summary.js';
import { renderMarkdownReport } from '../src/report/markdown.js';
import { renderSummaryCsv, SUMMARY_COLUMNS } from '../src/report/summary-csv.js';
import { scaleTable } from '../src/report/table-model.js';
import { renderScaleTable } from '../src/report/terminal-table.js';
import { trendPoints } from '../src/report/trend.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { summarizeConfiguration } from '../src/stats/summarize.js';

const example = (name: string): RunResult => JSON.parse(readFileSync(new URL(`../fixtures/examples/${name}/run.json`, import.meta.url), 'utf8'));
const call = (startOffsetUs: number, latencyUs: number) => ({ startOffsetUs, latencyUs, operation: '', verified: null, startLagUs: null, late: null });

describe('one quantity, one number', () => {
  it("a token that worked the whole window has the configuration's rate: one token's rate is one number", () => {
    const s = new ConfigurationStats(1);
    // Its first call starts 20 ms after the barrier (a session slow to start): the window counts from the barrier.
    for (let atUs = 20_000; atUs < 2_000_000; atUs += 1000) s.add(0, call(atUs, 1000), undefined);
    const c = summarizeConfiguration({ stats: s, recordsFile: 'r.csv', workerIssues: [] }, [{ label: 't', serial: '1', slotId: '1' }], 1);
    expect(c.perToken[0]!.throughputPerS).toBe(c.throughputPerS);
  });

  it("the tokens' rates add up to the configuration's, flat out and at a target rate; a mix's operations' too", () => {
    const tokens = [0, 1, 2].map((i) => ({ label: `t${i}`, serial: String(i), slotId: String(i) }));
    // Three tokens of 1, 2 and 3 ms calls: their last calls end at different times before the window's end.
    const flat = new ConfigurationStats(3, ['sign', 'verify']);
    for (const token of [0, 1, 2]) {
      const latencyUs = 1000 * (token + 1);
      for (let k = 0, atUs = 0; atUs + latencyUs <= 1_000_000 - 700 * token; k++, atUs += latencyUs)
        flat.add(token, { ...call(atUs, latencyUs), operation: k % 3 === 0 ? 'verify' : 'sign' }, undefined);
    }
    const c = summarizeConfiguration({ stats: flat, recordsFile: 'r.csv', workerIssues: [] }, tokens, 1);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(Math.abs(sum(c.perToken.map((t) => t.throughputPerS)) - c.throughputPerS)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(sum(c.byOperation!.map((o) => o.throughputPerS)) - c.throughputPerS)).toBeLessThanOrEqual(0.02);
    // At 300/s: 100 calls a second for each token, started on schedule, each ending when it ends.
    const paced = new ConfigurationStats(3);
    for (let k = 0; k < 600; k++) paced.add(k % 3, { ...call(k * 3333, 1000 + (k % 3) * 400), startLagUs: 20, late: false }, undefined);
    const r = summarizeConfiguration({ stats: paced, recordsFile: 'r.csv', workerIssues: [] }, tokens, 1, { targetRatePerS: 300, calls: 600, interrupted: false });
    expect(r.perToken.map((t) => t.throughputPerS)).toEqual([100, 100, 100].map(() => expect.closeTo(r.throughputPerS / 3, 1)));
    expect(Math.abs(sum(r.perToken.map((t) => t.throughputPerS)) - r.throughputPerS)).toBeLessThanOrEqual(0.02);
    // A token that stopped early is rated over the time it worked, not diluted over the others' window.
    const stopped = summarizeConfiguration({ stats: flat, recordsFile: 'r.csv', workerIssues: [{ token: 2, thread: 0, message: 'lost' }] }, tokens, 1);
    expect(stopped.perToken[2]!.throughputPerS).toBeGreaterThan(c.perToken[2]!.throughputPerS);
  });

  it('prints a 1-token row with one rate, not a range of one value beside it', () => {
    const r = example('scale-p256');
    const [one] = r.configurations;
    one!.perToken[0]!.throughputPerS = one!.throughputPerS;
    const row = scaleTable(r).rows[0]!;
    const perToken = String(row[scaleTable(r).head.findIndex((h) => h.startsWith('Per token'))]);
    expect(perToken).not.toContain('–');
    expect(perToken).toBe(one!.throughputPerS.toFixed(1));
  });

  it('says beside every throughput whether the results were checked on the host', () => {
    const r = example('scale-p256');
    expect(renderScaleTable(r)).toMatch(/Throughput counts successful signatures per second, every signature checked on the host \(--verify all\); the checks share the host's CPU/);
    expect(renderMarkdownReport(r, { charts: [] })).toMatch(/ \|\n\nThroughput counts successful signatures per second, every signature checked on the host/);
    const sampled = { ...r, plan: { ...r.plan, verify: { mode: 'sample' as const, every: 100 } } };
    const [head, ...rows] = renderSummaryCsv(sampled).trim().split('\n');
    expect(head!.split(',')).toEqual(SUMMARY_COLUMNS);
    const at = SUMMARY_COLUMNS.indexOf('verify');
    for (const row of rows) expect(row.split(',')[at]).toBe('0.01');
    // And in the history of runs: trend's table and trend.csv.
    expect(trendPoints([sampled]).map((p) => p.verify)).toEqual(r.configurations.map(() => '0.01'));
    expect(renderScaleTable({ ...r, plan: { ...r.plan, verify: { mode: 'none', every: 1 } } })).toMatch(/no host check \(--verify none\)\n/);
  });

  it('counts signatures performed as the tokens do: successful ones, the failed apart', () => {
    const r = example('burn-in-resumed');
    const c = r.configurations[0]!;
    const summary = renderBurnInSummary(r, { name: '', result: r, thresholds: [] });
    const successful = c.perToken.reduce((n, t) => n + t.operationsOk, 0);
    expect(summary).toContain(`signatures performed (successful): ${successful}; failed: ${c.operationsFailed};`);
    expect(summary).toMatch(/throughput [\d.]+\/s \(successful, every signature checked on the host\)/);
    expect(renderMarkdownReport(r, { charts: [] })).toMatch(
      new RegExp(`Signatures performed \\(successful\\) \\| Failed[^\\n]*\\n[^\\n]*\\n\\| [^|]+ \\| [^|]+ \\| [^|]+ \\| ${successful} \\| ${c.operationsFailed} \\|`),
    );
  });

  it("trend gives the p99 the run's report shows, for every configuration", () => {
    const r = example('scale-p256');
    const table = scaleTable(r);
    const p99At = table.head.findIndex((h) => /p99/.test(h));
    // A time as the table shows it (3 significant digits, its unit): in ms.
    const ms = (cell: string) => {
      const [, value, unit] = /^([\d.]+) (µs|ms|s)$/.exec(cell)!;
      return Number(value) * { µs: 1e-3, ms: 1, s: 1e3 }[unit as 'µs' | 'ms' | 's'];
    };
    const points = trendPoints([r]);
    r.configurations.forEach((c, i) => {
      const point = points.find((p) => p.tokens === c.tokens)!;
      expect(Number(point.p99Ms!.toPrecision(3))).toBeCloseTo(ms(table.rows[i]![p99At]!), 6);
    });
  });
});
