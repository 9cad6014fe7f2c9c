import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsvLine } from '../src/result/records-csv.js';
import { renderTrendCsv, renderTrendTable, TREND_COLUMNS, trendChart, trendPoints } from '../src/report/trend.js';
import type { RunResult } from '../src/model/run-result.js';
import { schemaProblems } from '../src/result/schemas.js';
import { runCli, tempDir } from './helpers/cli.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const fixture = (): RunResult => JSON.parse(readFileSync(join(FIXTURES, 'run-rsa2048', 'run.json'), 'utf8'));

/** Three nightly runs made from the fixture: dates out of order on the command line, a firmware change on the third. */
function nights(): string[] {
  const root = tempDir('nights');
  return [
    ['2026-11-03T02:00:00.000Z', 0.9, '1.1'],
    ['2026-11-01T02:00:00.000Z', 1.0, '1.0'],
    ['2026-11-02T02:00:00.000Z', 1.02, '1.0'],
  ].map(([at, factor, firmware], i) => {
    const dir = join(root, `night-${i}`);
    cpSync(join(FIXTURES, 'run-rsa2048'), dir, { recursive: true });
    const r = fixture();
    r.runId = `night-${i}`;
    r.startedAt = at as string;
    r.tokens.forEach((t) => (t.firmwareVersion = firmware as string));
    r.configurations.forEach((c) => (c.throughputPerS = Math.round(c.throughputPerS * (factor as number) * 100) / 100));
    writeFileSync(join(dir, 'run.json'), JSON.stringify(r));
    return dir;
  });
}

describe('hsm-bench trend', () => {
  it('names in trend.csv how each call was made: data size, a session or key lookup per call, the chunk', () => {
    const pooled = fixture();
    const made = (runId: string, plan: Partial<RunResult['plan']>, dataSizeBytes?: number): RunResult => ({
      ...pooled,
      runId,
      plan: { ...pooled.plan, ...plan },
      configurations: pooled.configurations.map((c) => (dataSizeBytes === undefined ? c : { ...c, dataSizeBytes, mbPerS: 1 })),
    });
    // Each its own trend (trend follows one way of making calls); their files put together must still tell the rows apart.
    const csvs = [
      made('pooled', {}),
      made('session', { perCall: { session: true, findKey: false } }),
      made('key', { perCall: { session: false, findKey: true } }),
      made('parts', { dataSizesBytes: [65536], multipartChunkBytes: 4096 }, 65536),
      made('whole', { dataSizesBytes: [65536] }, 65536),
    ].map((r) =>
      renderTrendCsv(trendPoints([r]))
        .trim()
        .split('\n')
        .map(parseCsvLine),
    );
    const how = (row: string[]) => ['dataSizeBytes', 'sessionPerCall', 'findKeyPerCall', 'multipartChunkBytes'].map((k) => row[TREND_COLUMNS.indexOf(k as (typeof TREND_COLUMNS)[number])]);
    expect(csvs.map((rows) => how(rows[1]!))).toEqual([
      ['', 'false', 'false', ''],
      ['', 'true', 'false', ''],
      ['', 'false', 'true', ''],
      ['65536', 'false', 'false', '4096'],
      ['65536', 'false', 'false', ''],
    ]);
    const rowKey = (row: string[]) =>
      TREND_COLUMNS.filter((k) => !['runId', 'startedAt'].includes(k))
        .map((k) => row[TREND_COLUMNS.indexOf(k)])
        .join(',');
    const rows = csvs.flatMap((rows) => rows.slice(1).map(rowKey));
    expect(new Set(rows).size).toBe(rows.length);
    // --json gives them too, as its schema says.
    const points = trendPoints([made('session', { perCall: { session: true, findKey: false } })]);
    expect(points[0]).toMatchObject({ sessionPerCall: true, findKeyPerCall: false, multipartChunkBytes: null });
    expect(schemaProblems('trend', { schemaVersion: 4, algorithm: 'rsa2048', points })).toEqual([]);
  });

  it('orders runs by date and gives one point per run and configuration, with module and firmware', () => {
    const base = fixture();
    const later = { ...base, runId: 'later', startedAt: '2099-01-01T00:00:00.000Z' };
    const points = trendPoints([later, base]);
    expect(points.map((p) => p.runId)).toEqual([...base.configurations.map(() => base.runId), ...base.configurations.map(() => 'later')]);
    expect(points[0]!.firmware).toContain(base.tokens[0]!.firmwareVersion);
    expect(points[0]!.p99Ms).toBe(base.configurations[0]!.latencyMs!.p99);
  });

  it('says which p99 it gives (service or response time), keeps "≥" on a lower bound, and claims no spread for a run measured once', () => {
    const flat = fixture();
    const sizing = JSON.parse(readFileSync(join(FIXTURES, 'frozen', 'sizing-p256', 'run.json'), 'utf8')) as RunResult;
    // As the review's trend2: 1 token at 100/s, response p99 ≥ 1.53 s (calls never started reach it).
    const behind = sizing.configurations.find((c) => c.tokens === 1 && c.openLoop?.targetRatePerS === 16000)!;
    behind.openLoop!.responseMs = { ...behind.openLoop!.responseMs!, p99: 1528.831 };
    behind.openLoop!.responseAtLeast = ['p99', 'max', 'mean'];
    const rate = trendPoints([sizing]);
    expect(rate.find((p) => p.tokens === 1 && p.targetRatePerS === 16000)).toMatchObject({ p99Ms: 1528.831, p99Kind: 'response', p99AtLeast: true, throughputMin: null, throughputMax: null });
    const table = renderTrendTable(rate, 0);
    expect(table).toMatch(/Resp p99/);
    expect(table).toMatch(/≥ 1\.53 s/);
    expect(table).not.toMatch(/Svc p99/);
    const csv = renderTrendCsv(rate).trim().split('\n').map(parseCsvLine);
    const row = csv.find((x) => x[TREND_COLUMNS.indexOf('tokens')] === '1' && x[TREND_COLUMNS.indexOf('targetRatePerS')] === '16000')!;
    expect([row[TREND_COLUMNS.indexOf('throughputMin')], row[TREND_COLUMNS.indexOf('throughputMax')], row[TREND_COLUMNS.indexOf('p99Kind')], row[TREND_COLUMNS.indexOf('p99AtLeast')]]).toEqual([
      '',
      '',
      'response',
      'true',
    ]);
    const service = trendPoints([flat]);
    expect(service[0]).toMatchObject({ p99Kind: 'service', p99AtLeast: false });
    expect(renderTrendTable(service, 0)).toMatch(/Svc p99/);
    // The run id says when it started: no date column beside it, and the grid keeps within 100 columns.
    const stamped = trendPoints([{ ...sizing, runId: '20261203-232930-p256', startedAt: '2026-12-03T23:29:30.496Z' }]);
    const grid = renderTrendTable(stamped, 100)
      .split('\n')
      .filter((l) => /^[┌│└]/.test(l));
    expect(grid.length).toBeGreaterThan(3);
    for (const line of grid) expect([...line].length).toBeLessThanOrEqual(100);
  });
  it('draws throughput and p99 in panels of their own on a time axis as long as the runs span', () => {
    const base = fixture();
    // Two runs 8 minutes apart: the axis spans minutes, not the hours an hour-wide margin gave (1 h 40).
    const runs = [base, { ...base, runId: 'later', startedAt: new Date(Date.parse(base.startedAt) + 8 * 60_000).toISOString() }];
    const chart = trendChart(trendPoints(runs), 'trend');
    const x = (chart.options as { scales: Record<string, { min: number; max: number; stack?: string; position?: string }> }).scales;
    expect(x.x!.max - x.x!.min).toBeLessThanOrEqual(10 * 60_000);
    // Stacked panels, not two axes over one plot.
    expect(x.throughput!.stack).toBe('trend');
    expect(x.p99!.stack).toBe('trend');
    expect(x.p99!.position).toBe(x.throughput!.position);
  });
  it("draws no figure of a configuration a run stopped in, and gives the p99 of the repetition the run's report shows", () => {
    const stopped = fixture();
    stopped.runId = 'stopped';
    stopped.interrupted = true;
    stopped.configurations[1]!.partial = 'interrupted';
    const repeated = fixture();
    repeated.runId = 'repeated';
    const c = repeated.configurations[0]!;
    // The median repetition (the one shown) has p99 9; the median of the three p99s would be 12.
    c.latencyMs = { ...c.latencyMs!, p99: 9 };
    c.repetitions = [20, 9, 12].map((p99, i) => ({ ...c, throughputPerS: [90, 100, 110][i]!, latencyMs: { ...c.latencyMs!, p99 }, repetitions: undefined }) as never);
    const points = trendPoints([stopped, repeated]);
    const cut = points.find((p) => p.runId === 'stopped' && p.tokens === 2)!;
    expect(cut).toMatchObject({ measured: 'part', throughputPerS: null, p99Ms: null, operationsFailed: null });
    expect(points.find((p) => p.runId === 'repeated' && p.tokens === 1)!.p99Ms).toBe(9);
  });

  it('writes trend.csv and trend.png in a folder of its own and prints the history; refuses mixed algorithms', () => {
    const out = join(tempDir('trend'), 'out');
    const r = runCli(['trend', ...nights(), '--out', out]);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => /night-\d/.test(l));
    expect(lines.map((l) => /night-\d/.exec(l)![0])).toEqual(['night-1', 'night-1', 'night-2', 'night-2', 'night-0', 'night-0']);
    // The module, the same in every run, said once above the table; the firmware, which changed, in a column.
    expect(r.stdout).toMatch(/^module: .* \(every run\)$/m);
    expect(r.stdout).toMatch(/│ Firmware +│/);
    expect(r.stdout).not.toMatch(/│ Module +│/);
    const [head, ...rows] = readFileSync(join(out, 'trend.csv'), 'utf8').trim().split('\n').map(parseCsvLine);
    expect(head).toEqual([...TREND_COLUMNS]);
    expect(rows).toHaveLength(6);
    expect(rows[4]![TREND_COLUMNS.indexOf('firmware')]).toMatch(/1\.1/);
    expect(existsSync(join(out, 'trend.png'))).toBe(true);
    const json = runCli(['trend', ...nights(), '--out', out, '--json']);
    expect(schemaProblems('trend', JSON.parse(json.stdout))).toEqual([]);
    const mixed = runCli(['trend', join(FIXTURES, 'run-rsa2048'), join(FIXTURES, 'run-bp256'), '--out', out]);
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toMatch(/a trend follows one/);
  });

  it('refuses to draw one line through runs that make each call differently (a session per call, in parts)', () => {
    const [first, second] = nights();
    const perCall = JSON.parse(readFileSync(join(second!, 'run.json'), 'utf8')) as RunResult;
    perCall.plan.perCall = { session: true, findKey: false };
    writeFileSync(join(second!, 'run.json'), JSON.stringify(perCall));
    const r = runCli(['trend', first!, second!, '--out', join(tempDir('trend-calls'), 'out')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/the runs differ in their calls \((pooled, in one call, a session per call|a session per call, pooled, in one call)\); a trend follows one/);
  });
});
