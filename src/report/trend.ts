import type { ChartConfiguration } from 'chart.js';
import { csvField } from '../result/records-csv.js';
import type { RunResult } from '../model/run-result.js';
import { throughputRange } from '../stats/repetitions.js';
import { configurationAxes, configurationName, distinctConfigurations, sameConfiguration, targetRateOf, type ConfigurationAxes } from '../model/configuration.js';
import { notMeasured, plannedAxes } from '../result/plan-coverage.js';
import { axis, fixedTicks, font, INK, PALETTE } from './charts.js';
import { fixed, verifySetting } from './describe-run.js';
import { fitTable } from './fit-table.js';
import { latencyText } from '../core/latency-text.js';

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

/**
 * The history as the terminal prints it: a row per run and configuration, the p99 scaled with its unit; the module
 * and firmware once above the table where every run had the same (a step in the line is then not theirs).
 */
export function renderTrendTable(points: readonly TrendPoint[], columns?: number): string {
  const same = (of: (p: TrendPoint) => string) => new Set(points.map(of)).size === 1;
  const [oneModule, oneFirmware] = [same((p) => p.module), same((p) => p.firmware)];
  const above = oneModule || oneFirmware ? `${[oneModule ? `module: ${points[0]!.module}` : '', oneFirmware ? `firmware: ${points[0]!.firmware}` : ''].filter(Boolean).join('; ')} (every run)\n` : '';
  const rows = points.map((p) => {
    const range = p.throughputMin !== p.throughputMax ? ` (${fixed(p.throughputMin, 1)}–${fixed(p.throughputMax, 1)})` : '';
    return [
      `${p.startedAt.slice(0, 16).replace('T', ' ')}${p.measured === 'part' ? ' (partial)' : p.measured === 'none' ? ' (not measured)' : ''}`,
      p.runId,
      // Tokens, sessions and target rate: a sweep has several configurations per token count.
      configurationName(configurationAxes(p.tokens, p.threadsPerToken, p.targetRatePerS)),
      `${fixed(p.throughputPerS, 1)}${range}`,
      p.verify,
      latencyText(p.p99Ms),
      p.operationsFailed ?? '–',
      ...(oneModule ? [] : [p.module]),
      ...(oneFirmware ? [] : [p.firmware]),
    ];
  });
  const withRange = points.some((p) => p.throughputMin !== p.throughputMax);
  const head = ['Date', 'Run', 'Configuration', withRange ? 'Per second (range)' : 'Per second', 'Verify', 'p99', 'Failed', ...(oneModule ? [] : ['Module']), ...(oneFirmware ? [] : ['Firmware'])];
  return above + fitTable(head, rows, columns) + '\n';
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

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Tick steps of a time axis, from an hour to a year: the first that gives at most 8 ticks is used. */
const STEPS_MS = [1, 2, 3, 6, 12].map((h) => h * HOUR_MS).concat([1, 2, 7, 14, 30, 91, 182, 365].map((d) => d * DAY_MS));

/** Ticks of a time axis over [fromMs, toMs]: whole hours or days (UTC), labelled by date, or by date and time under 2 days. */
export function timeTicks(fromMs: number, toMs: number): { ticks: number[]; labels: string[] } {
  const step = STEPS_MS.find((s) => (toMs - fromMs) / s <= 8) ?? STEPS_MS[STEPS_MS.length - 1]!;
  const ticks: number[] = [];
  for (let t = Math.ceil(fromMs / step) * step; t <= toMs; t += step) ticks.push(t);
  // A span under a step still names its time.
  if (ticks.length === 0) ticks.push(fromMs);
  const label = (t: number) => (step >= DAY_MS ? new Date(t).toISOString().slice(0, 10) : new Date(t).toISOString().slice(0, 16).replace('T', ' '));
  return { ticks, labels: ticks.map(label) };
}

/**
 * Throughput (left axis) per configuration, with the range of its repetitions as a band, and p99 (right axis,
 * dashed), one point per run at its start on a time axis: two runs a day apart are as far apart as they were, not
 * one step like two runs a minute apart. A configuration a run did not measure whole is a gap.
 */
export function trendChart(points: readonly TrendPoint[], title: string): ChartConfiguration {
  const runs = [...new Map(points.map((p) => [p.runId, Date.parse(p.startedAt)])).entries()];
  const axesOf = (p: TrendPoint): ConfigurationAxes => configurationAxes(p.tokens, p.threadsPerToken, p.targetRatePerS);
  const configurations = distinctConfigurations(points.map(axesOf));
  const series = (c: ConfigurationAxes, value: (p: TrendPoint) => number | null) =>
    runs.map(([id, atMs]) => {
      const p = points.find((x) => x.runId === id && sameConfiguration(axesOf(x), c));
      return { x: atMs, y: p ? value(p) : null };
    });
  const times = runs.map(([, atMs]) => atMs);
  const [fromMs, toMs] = [Math.min(...times), Math.max(...times)];
  // A margin of a twentieth of the span (an hour at least) keeps the first and last point off the frame.
  const marginMs = Math.max(HOUR_MS, (toMs - fromMs) / 20);
  const { ticks, labels } = timeTicks(fromMs - marginMs, toMs + marginMs);
  const withRange = points.some((p) => p.throughputMin !== p.throughputMax);
  return {
    type: 'line',
    data: {
      datasets: configurations.flatMap((c, i) => {
        const color = PALETTE[i % PALETTE.length]!;
        const name = configurationName(c);
        return [
          { label: `${name}: per second`, data: series(c, (p) => p.throughputPerS), borderColor: color, backgroundColor: color, yAxisID: 'throughput', spanGaps: false },
          ...(withRange
            ? [
                { label: '', data: series(c, (p) => p.throughputMin), borderColor: `${color}55`, borderWidth: 0.8, pointRadius: 0, yAxisID: 'throughput', spanGaps: false },
                {
                  label: `${name}: range of the repetitions`,
                  data: series(c, (p) => p.throughputMax),
                  borderColor: `${color}55`,
                  backgroundColor: `${color}33`,
                  borderWidth: 0.8,
                  pointRadius: 0,
                  fill: '-1',
                  yAxisID: 'throughput',
                  spanGaps: false,
                },
              ]
            : []),
          { label: `${name}: p99 ms`, data: series(c, (p) => p.p99Ms), borderColor: color, backgroundColor: color, borderDash: [6, 4], yAxisID: 'p99', spanGaps: false },
        ];
      }),
    },
    options: {
      plugins: {
        title: { display: true, text: title, color: INK, font: font(18, 'bold') },
        subtitle: {
          display: true,
          text: `${runs.length} runs, each at its start time; dashed: p99 (right axis)${withRange ? '; band: slowest to fastest repetition' : ''}`,
          color: '#444',
          font: font(13),
        },
        legend: { display: true, labels: { color: INK, font: font(13), filter: (item: { text: string }) => item.text !== '' } },
      },
      scales: {
        x: { type: 'linear', min: fromMs - marginMs, max: toMs + marginMs, ...axis('run started (UTC)'), ...fixedTicks(ticks, labels) },
        throughput: { type: 'linear', position: 'left', beginAtZero: true, ...axis('operations per second (median repetition)') },
        p99: { type: 'linear', position: 'right', beginAtZero: true, ...axis('p99 latency (ms)'), grid: { drawOnChartArea: false } },
      },
    },
  } as ChartConfiguration;
}
