import { rangeText } from '../core/range-text.js';
import type { ChartConfiguration } from 'chart.js';
import { csvField } from '../result/records-csv.js';
import type { RunResult } from '../model/run-result.js';
import { configurationAxes, configurationName, distinctConfigurations, sameConfiguration, targetRateOf, type ConfigurationAxes } from '../model/configuration.js';
import { notMeasured, plannedAxes } from '../result/plan-coverage.js';
import { axis, fixedTicks, font, INK, PALETTE } from './charts.js';
import { fixed, mbPerSText, verifySetting } from './describe-run.js';
import { fitTable } from './fit-table.js';
import { latencyText } from '../core/latency-text.js';
import { rateNotEstablished } from '../verdict/common-window-rate.js';

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
  /** --data-size: the bytes each call handed the token (absent: the operation's own message). */
  dataSizeBytes?: number;
  /** How each call was made (--session-per-call, --find-key-per-call, --multipart's chunk; null: in one call). */
  sessionPerCall: boolean;
  findKeyPerCall: boolean;
  multipartChunkBytes: number | null;
  throughputPerS: number | null;
  /** --data-size: the throughput in MB/s (1 MB = 10⁶ bytes); null where not measured, absent without a data size. */
  mbPerS?: number | null;
  /** The slowest and fastest repetition's with --repeat; null when measured once (no spread is known, not a spread of 0). */
  throughputMin: number | null;
  throughputMax: number | null;
  p99Ms: number | null;
  /** What p99Ms is: the service time (flat out: each call alone) or the response time (at a target rate); null without one. */
  p99Kind: 'service' | 'response' | null;
  /** p99Ms is a lower bound: calls that never started reach it with the wait they had reached ("≥" in the reports). */
  p99AtLeast: boolean;
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
  // Service and response time are two quantities: a column each, only for those present.
  const kinds = (['service', 'response'] as const).filter((k) => points.some((p) => p.p99Kind === k));
  const p99Cell = (p: TrendPoint, kind: 'service' | 'response') => (p.p99Kind === kind && p.p99Ms !== null ? `${p.p99AtLeast ? '≥ ' : ''}${latencyText(p.p99Ms)}` : '–');
  // A run id made by hsm-bench starts with its start time (20261203-232717-p256): then a date column says it twice.
  const stamped = points.every((p) => p.runId.startsWith(p.startedAt.slice(0, 16).replace(/[-:]/g, '').replace('T', '-')));
  const withMb = points.some((p) => p.mbPerS !== undefined);
  const rows = points.map((p) => {
    const state = p.measured === 'part' ? ' (partial)' : p.measured === 'none' ? ' (not measured)' : '';
    const range = p.throughputMin !== null && p.throughputMax !== null ? ` (${rangeText(p.throughputMin, p.throughputMax)})` : '';
    return [
      ...(stamped ? [`${p.runId}${state}`] : [`${p.startedAt.slice(0, 16).replace('T', ' ')}${state}`, p.runId]),
      // Tokens, sessions and target rate: a sweep has several configurations per token count.
      configurationName(configurationAxes(p.tokens, p.threadsPerToken, p.targetRatePerS, p.dataSizeBytes ?? null)),
      `${fixed(p.throughputPerS, 1)}${range}`,
      ...(withMb ? [mbPerSText(p.mbPerS)] : []),
      p.verify,
      ...kinds.map((k) => p99Cell(p, k)),
      p.operationsFailed ?? '–',
      ...(oneModule ? [] : [p.module]),
      ...(oneFirmware ? [] : [p.firmware]),
    ];
  });
  const withRange = points.some((p) => p.throughputMin !== null);
  const head = [
    ...(stamped ? ['Run (its start, UTC)'] : ['Date', 'Run']),
    'Configuration',
    withRange ? 'Per second (range)' : 'Per second',
    ...(withMb ? ['MB/s'] : []),
    'Verify',
    ...kinds.map((k) => (k === 'service' ? 'Svc p99' : 'Resp p99')),
    'Failed',
    ...(oneModule ? [] : ['Module']),
    ...(oneFirmware ? [] : ['Firmware']),
  ];
  const legend = kinds
    .map((k) => (k === 'service' ? 'Svc: service time of each call, flat out' : "Resp: response time from each call's intended start, at the target rate (≥: a lower bound)"))
    .join('; ');
  return above + fitTable(head, rows, columns) + '\n' + (legend ? `${legend}\n` : '');
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
          ...(axes.dataSizeBytes === undefined ? {} : { dataSizeBytes: axes.dataSizeBytes }),
          sessionPerCall: r.plan.perCall?.session ?? false,
          findKeyPerCall: r.plan.perCall?.findKey ?? false,
          multipartChunkBytes: r.plan.multipartChunkBytes ?? null,
          verify: verifySetting(r),
        };
        const none = { throughputPerS: null, throughputMin: null, throughputMax: null, p99Ms: null, p99Kind: null, p99AtLeast: false, operationsFailed: null };
        const noMb = axes.dataSizeBytes === undefined ? {} : { mbPerS: null };
        if (c === undefined) return { ...run, measured: 'none', ...none, ...noMb };
        // A configuration the run stopped in has figures of a window cut short: none of them is drawn or listed.
        if (missing.some((m) => sameConfiguration(m, c))) return { ...run, measured: 'part', ...none, ...noMb };
        const t = c.spread?.throughputPerS;
        // The figures of the repetition shown (the median one), as the run's own report gives them.
        const p99Ms = c.openLoop ? (c.openLoop.responseMs?.p99 ?? null) : (c.latencyMs?.p99 ?? null);
        return {
          ...run,
          measured: 'whole',
          // A merged rate over too brief a common window is not established: no point of the trend.
          throughputPerS: rateNotEstablished(c) ? null : c.throughputPerS,
          ...(axes.dataSizeBytes === undefined ? {} : { mbPerS: rateNotEstablished(c) ? null : (c.mbPerS ?? null) }),
          throughputMin: t?.min ?? null,
          throughputMax: t?.max ?? null,
          p99Ms,
          p99Kind: p99Ms === null ? null : c.openLoop ? 'response' : 'service',
          p99AtLeast: p99Ms !== null && (c.openLoop?.responseAtLeast ?? []).includes('p99'),
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
  // Last, so that older trend.csv files stack: what p99Ms is (service or response time), and whether it is a lower bound.
  'p99Kind',
  'p99AtLeast',
  'mbPerS',
  // How each call was made: rows of runs that differ only there are told apart in the file, too.
  'dataSizeBytes',
  'sessionPerCall',
  'findKeyPerCall',
  'multipartChunkBytes',
] as const;

export function renderTrendCsv(points: readonly TrendPoint[]): string {
  const line = (values: (string | number | boolean | null | undefined)[]) => values.map((v) => csvField(v === null || v === undefined ? '' : String(v))).join(',');
  return [TREND_COLUMNS.join(','), ...points.map((p) => line(TREND_COLUMNS.map((k) => p[k])))].join('\n') + '\n';
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MINUTE_MS = 60_000;
/** Tick steps of a time axis, from a minute to a year: the first that gives at most 8 ticks is used. */
const STEPS_MS = [1, 2, 5, 10, 15, 30]
  .map((m) => m * MINUTE_MS)
  .concat([1, 2, 3, 6, 12].map((h) => h * HOUR_MS))
  .concat([1, 2, 7, 14, 30, 91, 182, 365].map((d) => d * DAY_MS));

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
  const axesOf = (p: TrendPoint): ConfigurationAxes => configurationAxes(p.tokens, p.threadsPerToken, p.targetRatePerS, p.dataSizeBytes ?? null);
  const configurations = distinctConfigurations(points.map(axesOf));
  const series = (c: ConfigurationAxes, value: (p: TrendPoint) => number | null) =>
    runs.map(([id, atMs]) => {
      const p = points.find((x) => x.runId === id && sameConfiguration(axesOf(x), c));
      return { x: atMs, y: p ? value(p) : null };
    });
  const times = runs.map(([, atMs]) => atMs);
  const [fromMs, toMs] = [Math.min(...times), Math.max(...times)];
  // A margin of a twentieth of the span (a minute at least) keeps the first and last point off the frame; runs 8
  // minutes apart span about 9 minutes, not the hours a fixed margin would add.
  const marginMs = Math.max(MINUTE_MS, (toMs - fromMs) / 20);
  const { ticks, labels } = timeTicks(fromMs - marginMs, toMs + marginMs);
  const withRange = points.some((p) => p.throughputMin !== null);
  const kinds = new Set(points.map((p) => p.p99Kind).filter((k) => k !== null));
  const p99Title = `p99 ${kinds.size === 1 ? ([...kinds][0] === 'service' ? 'service' : 'response') : 'svc/resp'} (ms)`;
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
          // In a panel of its own below: one colour is one configuration in both panels, never two quantities on one plot.
          { label: '', data: series(c, (p) => p.p99Ms), borderColor: color, backgroundColor: color, borderDash: [6, 4], yAxisID: 'p99', spanGaps: false },
        ];
      }),
    },
    options: {
      plugins: {
        title: { display: true, text: title, color: INK, font: font(18, 'bold') },
        subtitle: {
          display: true,
          text: `${runs.length} runs, each at its start time; top: throughput${withRange ? ' (band: slowest to fastest repetition)' : ''}; bottom, dashed: p99 ${kinds.size === 1 ? ([...kinds][0] === 'service' ? 'service time (flat out)' : 'response time (at the target rate)') : 'service time flat out, response time at a rate'}`,
          color: '#444',
          font: font(13),
        },
        legend: { display: true, labels: { color: INK, font: font(13), filter: (item: { text: string }) => item.text !== '' } },
      },
      scales: {
        x: { type: 'linear', min: fromMs - marginMs, max: toMs + marginMs, ...axis('run started (UTC)'), ...fixedTicks(ticks, labels) },
        // Two panels on one time axis (stacked y axes, the first listed at the bottom): p99 below, throughput above.
        p99: { type: 'linear', position: 'left', stack: 'trend', stackWeight: 1, beginAtZero: true, ...axis(p99Title) },
        throughput: { type: 'linear', position: 'left', stack: 'trend', stackWeight: 2, offset: true, beginAtZero: true, ...axis('per second (median)') },
      },
    },
  } as ChartConfiguration;
}
