import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { payloadFields } from '../src/model/configuration.js';
import { renderBurnInSummary } from '../src/report/burn-in-summary.js';
import { renderJunit } from '../src/report/junit.js';
import { renderMarkdownReport } from '../src/report/markdown.js';
import { renderScaleTable } from '../src/report/terminal-table.js';
import { renderTrendCsv, renderTrendTable, trendPoints } from '../src/report/trend.js';

/** MB/s wherever a throughput is shown for calls handed a data size (--data-size): scale, burn-in, JUnit and trend. */
const example = (name: string): RunResult => JSON.parse(readFileSync(new URL(`../fixtures/examples/${name}/run.json`, import.meta.url), 'utf8'));

/** The resumed burn-in example as if each call had been handed 32 bytes: 0.00032 MB/s at 10 calls/s. */
function burnInWithData(): RunResult {
  const r = example('burn-in-resumed');
  return {
    ...r,
    plan: { ...r.plan, dataSizesBytes: [32] },
    configurations: r.configurations.map((c) => ({ ...c, dataSizeBytes: 32, mbPerS: 0.00032 })),
  };
}

describe('MB/s with --data-size, never rounded away', () => {
  it('run.json keeps a small rate to 3 significant digits, a large one to the thousandth', () => {
    expect(payloadFields(32, null, 10).mbPerS).toBe(0.00032);
    expect(payloadFields(65536, null, 1234.5).mbPerS).toBe(80.904);
  });

  it('a burn-in says it in the terminal, report.md and JUnit; 3 significant digits, not 0.0', () => {
    const r = burnInWithData();
    expect(renderBurnInSummary(r, { name: '', result: r, thresholds: [] })).toMatch(/throughput [\d.]+\/s, 0\.000320 MB\/s \(successful/);
    expect(renderMarkdownReport(r, { charts: [] })).toMatch(/\| [\d.]+\/s, 0\.000320 MB\/s \|/);
    expect(renderJunit([{ name: 'b', result: r, thresholds: [] }])).toMatch(/[\d.]+ sig\/s, 0\.000320 MB\/s with/);
  });

  it('a scale table shows 3 significant digits', () => {
    const r = example('scale-data-size');
    const small = { ...r, configurations: r.configurations.map((c) => ({ ...c, mbPerS: 0.0123 })) };
    expect(renderScaleTable(small)).toContain('0.0123');
  });

  it('trend: a column and a CSV field where the runs were handed a data size; none otherwise', () => {
    const r = example('scale-data-size');
    const points = trendPoints([r]);
    expect(points.map((p) => p.mbPerS)).toEqual(r.configurations.map((c) => c.mbPerS));
    expect(renderTrendTable(points)).toMatch(/MB\/s/);
    const [head, first] = renderTrendCsv(points).split('\n');
    expect(first!.split(',')[head!.split(',').indexOf('mbPerS')]).toBe(String(r.configurations[0]!.mbPerS));
    const plain = trendPoints([example('scale-p256')]);
    expect(plain.every((p) => p.mbPerS === undefined)).toBe(true);
    expect(renderTrendTable(plain)).not.toMatch(/MB\/s/);
  });
});
