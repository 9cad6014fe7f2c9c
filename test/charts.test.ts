import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChartConfiguration } from 'chart.js';
import { availabilityChart, configurationColor, configurationPanels, efficiencyChart, FAILED, latencyChart, PALETTE, perTokenChart, throughputChart, timeSeriesChart } from '../src/report/charts.js';
import { readRunJson } from '../src/result/run-directory.js';
import { trendChart, trendPoints } from '../src/report/trend.js';
import { comparisonChart } from '../src/report/comparison.js';
import { rateCurveChart } from '../src/report/sizing-charts.js';
import { readReference } from '../src/result/reference.js';
import type { RunResult } from '../src/model/run-result.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const example = (name: string) => readRunJson(join(FIXTURES, 'examples', name));
type Dataset = { label: string; data: ({ x: number; y: number | null } | number)[]; borderColor?: string; backgroundColor?: string | string[]; yAxisID?: string };
const datasetsOf = (c: ChartConfiguration) => c.data.datasets as unknown as Dataset[];
const scalesOf = (c: ChartConfiguration) => (c.options as { scales: Record<string, { type?: string }> }).scales;

describe('charts that do not mislead', () => {
  it('draws throughput on log-log axes, where the ideal scaling is a straight line and is not called measured', () => {
    // 870 to 1300 sig/s: under the 50× that made the y axis logarithmic before, so the ideal line was a curve.
    const run = readRunJson(join(FIXTURES, 'run-rsa2048'));
    const chart = throughputChart(run, new Map(), '');
    expect(scalesOf(chart).y!.type).toBe('logarithmic');
    const ideal = datasetsOf(chart).filter((d) => /ideal/.test(d.label));
    expect(ideal.length).toBeGreaterThan(0);
    for (const d of ideal) {
      expect(d.label).not.toMatch(/measured/);
      // Straight on log-log axes: log(y) grows by the same step per doubling of the tokens (x is log2 of the count).
      const points = d.data as { x: number; y: number }[];
      const slopes = points.slice(1).map((p, i) => (Math.log2(p.y) - Math.log2(points[i]!.y)) / (p.x - points[i]!.x));
      for (const s of slopes) expect(s).toBeCloseTo(1, 9);
    }
  });

  it('draws failures on the axis of the calls served, with their count and share, not on an axis of their own', () => {
    const run = example('burn-in-resumed');
    const chart = timeSeriesChart(run);
    expect(Object.keys(scalesOf(chart))).not.toContain('failures');
    const failed = datasetsOf(chart).filter((d) => d.borderColor === FAILED);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.yAxisID).toBeUndefined();
    expect(failed[0]!.label).toMatch(new RegExp(`${run.configurations[0]!.operationsFailed} in all, [\\d.< ]+ % of calls`));
  });

  it('draws availability as horizontal bars with their values, red only for a token that had an outage', () => {
    const run = example('burn-in-resumed');
    const chart = availabilityChart(run);
    expect((chart.options as { indexAxis?: string }).indexAxis).toBe('y');
    const c = run.configurations[0]!;
    const colors = datasetsOf(chart)[0]!.backgroundColor as string[];
    c.perToken.forEach((t, i) => {
      const outage = t.outageS + (t.stillFailingS ?? 0) > 0;
      expect(colors[i] === FAILED, t.label).toBe(outage);
      expect(chart.data.labels![i]).toMatch(/: \d+(\.\d+)? %/);
    });
    expect(colors).toContain(FAILED);
    expect(colors.some((x) => x !== FAILED)).toBe(true);
  });

  it('draws per-token throughput as horizontal bars (long token names read in full)', () => {
    expect((perTokenChart(example('scale-rsa2048')).options as { indexAxis?: string }).indexAxis).toBe('y');
  });

  it('gives a colour one meaning in a report: no red among the series, a configuration its colour in every chart', () => {
    for (const color of PALETTE) expect(color.toLowerCase()).not.toMatch(/^#(c6|d6)2[0-9a-f]28$/);
    const run = example('scale-rsa2048');
    const colorOf = (c: ChartConfiguration) => new Map(datasetsOf(c).map((d) => [d.label, d.borderColor]));
    const latency = colorOf(
      latencyChart(
        run,
        run.configurations.map(() => []),
      ),
    );
    const overTime = colorOf(timeSeriesChart(run));
    for (const [label, color] of latency) expect(overTime.get(label.replace(/ \((mean|n = ).*$/, '')) ?? overTime.get(label), label).toBe(color);
    const largest = latency.get([...latency.keys()].pop()!);
    expect(datasetsOf(perTokenChart(run))[0]!.backgroundColor).toBe(largest);
    // Nothing but failures is red.
    for (const chart of [
      throughputChart(run, new Map(), ''),
      efficiencyChart(run),
      latencyChart(
        run,
        run.configurations.map(() => []),
      ),
      timeSeriesChart(run),
    ])
      for (const d of datasetsOf(chart)) if (d.borderColor === FAILED) expect(d.label).toMatch(/failed/);
  });

  it("gives the lines of a rate sweep's response chart (one per token count) colours no configuration has", () => {
    const run = example('sizing-slow-rates');
    const configurationColors = new Set(run.configurations.map((_, i) => configurationColor(run, i)));
    const lines = datasetsOf(rateCurveChart(run)).filter((d) => /response/.test(d.label));
    expect(lines.length).toBeGreaterThan(0);
    for (const d of lines) expect(configurationColors.has(d.borderColor!), d.label).toBe(false);
  });

  it('draws no more lines in a chart than there are colours: one chart per token count beyond (small multiples)', () => {
    // 15 configurations: 3 token counts × 5 rates.
    const run = example('sizing-slow-rates');
    const panels = configurationPanels(run);
    expect(panels.map((p) => p.slug)).toEqual(['tokens-1', 'tokens-2', 'tokens-4']);
    for (const p of panels) {
      const chart = latencyChart(
        run,
        run.configurations.map(() => []),
        p.indexes,
      );
      const colors = datasetsOf(chart).map((d) => d.borderColor);
      expect(colors.length).toBeLessThanOrEqual(PALETTE.length);
      expect(new Set(colors).size).toBe(colors.length);
    }
    // A plain scale run keeps one chart.
    expect(configurationPanels(example('scale-rsa2048'))).toHaveLength(1);
  });

  it('draws the trend on a time axis, runs at their start times, with the range of the repetitions', () => {
    const base = example('scale-p256');
    const at = (runId: string, startedAt: string): RunResult => ({ ...base, runId, startedAt });
    // Two runs a day apart, then one an hour later: the gaps on the axis are as the times were.
    const runs = [at('a', '2026-11-01T02:00:00.000Z'), at('b', '2026-11-02T02:00:00.000Z'), at('c', '2026-11-02T03:00:00.000Z')];
    const chart = trendChart(trendPoints(runs), 'trend');
    const throughput = datasetsOf(chart).find((d) => d.label === '1 token: per second')!;
    const xs = (throughput.data as { x: number }[]).map((p) => p.x);
    expect(xs).toEqual(runs.map((r) => Date.parse(r.startedAt)));
    expect((xs[1]! - xs[0]!) / (xs[2]! - xs[1]!)).toBe(24);
    expect(scalesOf(chart).x!.type).toBe('linear');
    // The band: the fastest repetition filled down to the slowest.
    const band = datasetsOf(chart).find((d) => d.label === '1 token: range of the repetitions')!;
    const c = base.configurations[0]!;
    expect((band.data as { y: number }[])[0]!.y).toBe(c.spread!.throughputPerS.max);
  });

  it('names every run of a comparison in the chart and draws the published reference beside them', () => {
    const runs = [example('scale-rsa2048'), example('scale-bp256')];
    const reference = readReference(join(FIXTURES, 'smartcard-hsm-ea-2015.json'));
    const labels = datasetsOf(comparisonChart(runs, undefined, reference)).map((d) => d.label);
    for (const r of runs) expect(labels.some((l) => l.includes(r.runId))).toBe(true);
    expect(labels.filter((l) => l.includes(`${reference.tokenModel} (reference)`))).toHaveLength(2);
  });
});
