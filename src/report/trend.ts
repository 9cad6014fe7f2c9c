import type { ChartConfiguration } from 'chart.js';
import { csvField } from '../result/records-csv.js';
import type { RunResult } from '../model/run-result.js';
import { throughputRange } from '../stats/repetitions.js';
import { configurationAxes, configurationName, distinctConfigurations, sameConfiguration, targetRateOf, type ConfigurationAxes } from '../model/configuration.js';
import { notMeasured, plannedAxes } from '../result/plan-coverage.js';
import { PALETTE } from './charts.js';
import { verifySetting } from './describe-run.js';

/** One run's figures for one configuration of its plan: a point of the nightly history, measured or not. */
export interface TrendPoint {
  runId: string;
  startedAt: string;
  /** A run that was interrupted or killed: some configurations of its plan may be partial or missing. */
  interrupted: boolean;
  /** This configuration: measured whole, only in part (the run stopped in it), or not at all (its figures are null). */
  measured: 'whole' | 'part' | 'none';
  mechanism: string;
  module: string;
  firmware: string;
  host: string;
  tokens: number;
  threadsPerToken: number;
  /** At a target rate: the rate asked for (p99Ms is then the response time); null flat out. */
  targetRatePerS: number | null;
  throughputPerS: number | null;
  throughputMin: number | null;
  throughputMax: number | null;
  p99Ms: number | null;
  operationsFailed: number | null;
  /** Whether the run checked its results on the host as it measured (--verify: all, 0.01, none): the checks take CPU. */
  verify: string;
}

/** What changed between nightly runs that explains a step in the line: the module and the tokens' firmware. */
export const firmwareOf = (r: RunResult) => [...new Set(r.tokens.map((t) => `${t.model} ${t.firmwareVersion}`))].join('; ');
export const moduleOf = (r: RunResult) => `${r.module.libraryDescription} ${r.module.libraryVersion ?? ''}`.trim();

/**
 * The history: every configuration of every run's plan (each run once, however often it was given), oldest run
 * first. A configuration a run did not measure is a point without figures, so the history shows the hole.
 */
export function trendPoints(runs: readonly RunResult[]): TrendPoint[] {
  return [...new Map(runs.map((r) => [r.runId, r])).values()]
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
    .flatMap((r) => {
      const missing = notMeasured(r);
      const planned = r.command === 'burn-in' ? r.configurations : distinctConfigurations([...plannedAxes(r.plan), ...r.configurations]);
      return planned.map((axes): TrendPoint => {
        const c = r.configurations.find((x) => sameConfiguration(x, axes));
        const run = {
          runId: r.runId,
          startedAt: r.startedAt,
          interrupted: r.interrupted,
          mechanism: r.mechanism.name,
          module: moduleOf(r),
          firmware: firmwareOf(r),
          host: `${r.host.hostname} (${r.host.cpuCount} × ${r.host.cpuModel})`,
          tokens: axes.tokens,
          threadsPerToken: axes.threadsPerToken,
          targetRatePerS: targetRateOf(axes),
          verify: verifySetting(r),
        };
        const none = { throughputPerS: null, throughputMin: null, throughputMax: null, p99Ms: null, operationsFailed: null };
        if (c === undefined) return { ...run, measured: 'none', ...none };
        // A configuration the run stopped in has figures of a window cut short: none of them is drawn or listed.
        if (missing.some((m) => sameConfiguration(m, c))) return { ...run, measured: 'part', ...none };
        const t = throughputRange(c);
        return {
          ...run,
          measured: 'whole',
          throughputPerS: c.throughputPerS,
          throughputMin: t.min,
          throughputMax: t.max,
          // The figures of the repetition shown (the median one), as the run's own report gives them.
          p99Ms: c.openLoop ? (c.openLoop.responseMs?.p99 ?? null) : (c.latencyMs?.p99 ?? null),
          operationsFailed: c.operationsFailed,
        };
      });
    });
}

export const TREND_COLUMNS = [
  'startedAt',
  'runId',
  'interrupted',
  'measured',
  'tokens',
  'threadsPerToken',
  'targetRatePerS',
  'throughputPerS',
  'throughputMin',
  'throughputMax',
  'p99Ms',
  'operationsFailed',
  'verify',
  'mechanism',
  'module',
  'firmware',
  'host',
] as const;

export function renderTrendCsv(points: readonly TrendPoint[]): string {
  const line = (values: (string | number | boolean | null)[]) => values.map((v) => csvField(v === null ? '' : String(v))).join(',');
  return [TREND_COLUMNS.join(','), ...points.map((p) => line(TREND_COLUMNS.map((k) => p[k])))].join('\n') + '\n';
}

/** Throughput (left axis) and p99 (right axis, dashed) per configuration, one point per run in date order. */
export function trendChart(points: readonly TrendPoint[], title: string): ChartConfiguration {
  const runs = [...new Set(points.map((p) => p.runId))];
  const axesOf = (p: TrendPoint): ConfigurationAxes => configurationAxes(p.tokens, p.threadsPerToken, p.targetRatePerS);
  const configurations = distinctConfigurations(points.map(axesOf));
  const series = (c: ConfigurationAxes, value: (p: TrendPoint) => number | null) =>
    runs.map((id) => points.find((p) => p.runId === id && sameConfiguration(axesOf(p), c))).map((p) => (p ? value(p) : null));
  return {
    type: 'line',
    data: {
      labels: runs.map((id) =>
        points
          .find((p) => p.runId === id)!
          .startedAt.slice(0, 16)
          .replace('T', ' '),
      ),
      datasets: configurations.flatMap((c, i) => [
        { label: `${configurationName(c)}: per second`, data: series(c, (p) => p.throughputPerS), borderColor: PALETTE[i % PALETTE.length], yAxisID: 'throughput', spanGaps: false },
        { label: `${configurationName(c)}: p99 ms`, data: series(c, (p) => p.p99Ms), borderColor: PALETTE[i % PALETTE.length], borderDash: [6, 4], yAxisID: 'p99', spanGaps: false },
      ]),
    },
    options: {
      plugins: { title: { display: true, text: title, font: { size: 18 } }, legend: { display: true } },
      scales: {
        throughput: { type: 'linear', position: 'left', beginAtZero: true, title: { display: true, text: 'operations/s (median)' } },
        p99: { type: 'linear', position: 'right', beginAtZero: true, title: { display: true, text: 'p99 latency (ms)' }, grid: { drawOnChartArea: false } },
      },
    },
  };
}
