import { wordsOf } from '../operations/words.js';
import type { ChartConfiguration, ChartDataset, Plugin, Scale } from 'chart.js';
import type { Canvas } from 'canvas';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import { latencyText } from '../core/latency-text.js';
import type { LatencyCurvePoint } from './records-digest.js';
import { configurationName, tokenTitle } from './describe-run.js';
import { efficiencyRange, shownEfficiency } from '../result/configuration-shortfall.js';
import { throughputRange } from '../stats/repetitions.js';
import { plural } from '../core/plural.js';
import { byteSizeName } from '../core/byte-size.js';
import { serialShown } from '../model/serial.js';

/** The chart's size in CSS pixels; PNGs are drawn at twice the density (print, high-DPI screens). */
export const CHART_WIDTH = 1000;
export const CHART_HEIGHT = 560;
export const PIXEL_RATIO = 2;
/**
 * The series colours of every chart (trend and comparison charts too): a configuration (or a run) keeps its colour
 * in every chart of a report. No red and no green among them: red means failure, and only that.
 */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#393b79'];
export const INK = '#1a1a1a';
/** Failures, and nothing else. */
export const FAILED = '#c62828';
/** A published reference (the runs are in their colours, or ink where a line spans every configuration). */
export const REFERENCE = '#8a8a8a';

/** The part of a configuration that is not its token count: sessions per token, target rate and data size. */
const sweptKey = (c: RunResult['configurations'][number]) => `${c.threadsPerToken}/${c.openLoop?.targetRatePerS ?? ''}/${c.dataSizeBytes ?? ''}`;

/**
 * The lines of a chart over token counts, among `measured`: one per sessions per token and data size (whichever are
 * swept), in its configurations' colour where there are several, named by what sets it apart.
 */
function tokenLines(r: RunResult, measured: readonly ConfigurationResult[]): { name: string; own: ConfigurationResult[]; color: string }[] {
  const key = (c: ConfigurationResult) => `${c.threadsPerToken}/${c.dataSizeBytes ?? ''}`;
  const keys = [...new Set(measured.map(key))];
  const sessionsSwept = new Set(measured.map((c) => c.threadsPerToken)).size > 1;
  return keys.map((k) => {
    const own = measured.filter((c) => key(c) === k);
    const c = own[0]!;
    const parts = [...(sessionsSwept ? [`${plural(c.threadsPerToken, 'session')} per token`] : []), ...(keys.length > 1 && c.dataSizeBytes !== undefined ? [byteSizeName(c.dataSizeBytes)] : [])];
    return {
      name: keys.length > 1 ? parts.join(', ') : `${r.algorithm.displayName}, this run`,
      own,
      color: keys.length > 1 ? configurationColor(r, r.configurations.indexOf(c)) : INK,
    };
  });
}
/** A run that sweeps sessions or rates besides tokens: its colours mean the sessions or rate, in every chart. */
const sweepsBesideTokens = (r: RunResult) => new Set(r.configurations.map(sweptKey)).size > 1;

/**
 * The colour of configuration `index` of a run, the same in every chart of its report: its token count's in a
 * plain scale run, its sessions per token and rate where those are swept (lines per token count then go to
 * separate charts, `configurationPanels`).
 */
export function configurationColor(r: RunResult, index: number): string {
  const keyOf = (c: RunResult['configurations'][number]) => (sweepsBesideTokens(r) ? sweptKey(c) : String(c.tokens));
  const keys = [...new Set(r.configurations.map(keyOf))];
  return PALETTE[keys.indexOf(keyOf(r.configurations[index]!)) % PALETTE.length]!;
}

/** The colours no configuration of the run has: for lines of another kind (tokens, token counts), so that a colour keeps one meaning. */
export function spareColors(r: RunResult): string[] {
  const taken = new Set(r.configurations.map((_, i) => configurationColor(r, i)));
  return PALETTE.filter((color) => !taken.has(color));
}

/**
 * Which configurations share a chart, so that no two lines of one chart share a colour (small multiples): one chart
 * per token count where sessions or rates are swept too, else charts of at most as many configurations as colours.
 */
export function configurationPanels(r: RunResult): { slug: string; title: string; indexes: number[] }[] {
  const all = r.configurations.map((_, i) => i);
  const counts = [...new Set(r.configurations.map((c) => c.tokens))];
  const groups =
    sweepsBesideTokens(r) && counts.length > 1 ? counts.map((tokens) => ({ tokens, indexes: all.filter((i) => r.configurations[i]!.tokens === tokens) })) : [{ tokens: null, indexes: all }];
  if (groups.length === 1 && all.length <= PALETTE.length) return [{ slug: '', title: '', indexes: all }];
  const panels: { slug: string; title: string; indexes: number[] }[] = [];
  for (const { tokens, indexes } of groups) {
    for (let at = 0; at < indexes.length; at += PALETTE.length) {
      const part = indexes.length > PALETTE.length ? at / PALETTE.length + 1 : null;
      const slug = [tokens === null ? '' : `tokens-${tokens}`, part ? `part-${part}` : ''].filter(Boolean).join('-');
      const title = [tokens === null ? '' : plural(tokens, 'token'), part ? `part ${part}` : ''].filter(Boolean).join(', ');
      panels.push({ slug, title, indexes: indexes.slice(at, at + PALETTE.length) });
    }
  }
  return panels;
}

/** Every chart as PNG (2× density) and SVG. */
export interface ChartRenderer {
  render(c: ChartConfiguration): Promise<{ png: Buffer; svg: Buffer }>;
}

/**
 * The white page under a chart, painted before anything else is drawn (an ordinary fill). chartjs-node-canvas's
 * backgroundColour painted it after the chart with 'destination-over', which cairo's SVG surface cannot express: it
 * rasterized the whole page, and every SVG was one embedded 4167 × 2334 PNG (about 300 KB and 0.2 s a chart) instead
 * of vector graphics.
 */
const whiteBackground: Plugin = {
  id: 'hsm-bench-white-background',
  beforeDraw: (chart) => {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = 'white';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/**
 * Chart.js drawing on node-canvas (cairo), which needs the native canvas module. It is loaded only when charts are
 * drawn, so that a machine without it still gets every other artifact; the error says how to enable charts.
 */
export async function chartRenderer(): Promise<ChartRenderer> {
  try {
    const { createCanvas, Canvas: CanvasClass } = await import('canvas');
    const { Chart, registerables } = await import('chart.js');
    Chart.register(...registerables, whiteBackground);
    /** Draws `c` on a canvas of `type` (an image, or an SVG document) and hands the canvas to `encode`. */
    const draw = <T>(c: ChartConfiguration, type: 'image' | 'svg', encode: (canvas: Canvas) => T): T => {
      const canvas = createCanvas(CHART_WIDTH, CHART_HEIGHT, type === 'svg' ? 'svg' : undefined);
      // Chart.js writes its defaults into the configuration it draws: each drawing gets a copy, so that the caller's
      // stays as built (report.html serializes it). No animation and no resizing: one frame, at this size.
      const config = { ...copy(c), options: { ...copy(c.options), responsive: false, animation: false as const, ...(type === 'image' ? { devicePixelRatio: PIXEL_RATIO } : {}) } };
      const chart = new Chart(canvas.getContext('2d') as unknown as CanvasRenderingContext2D, config as ChartConfiguration);
      try {
        return encode(canvas);
      } finally {
        chart.destroy();
      }
    };
    return {
      render: async (c) => ({
        // Unfiltered PNG rows: flat chart colours compress better so (about 20 % smaller), and it encodes 2-3 times as fast as trying every filter.
        png: draw(c, 'image', (canvas) => canvas.toBuffer('image/png', { filters: CanvasClass.PNG_FILTER_NONE })),
        svg: draw(c, 'svg', (canvas) => canvas.toBuffer()),
      }),
    };
  } catch (error) {
    throw new Error(
      `charts are not available: ${(error as Error).message.split('\n')[0]}. To enable them, install libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev and fonts-dejavu-core, then run 'npm rebuild canvas'`,
    );
  }
}

/** A deep copy of plain objects and arrays; functions and other values are shared. */
function copy<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copy) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)])) as T;
  }
  return value;
}

export const font = (size: number, weight: 'normal' | 'bold' = 'normal') => ({ size, weight, family: 'DejaVu Sans, sans-serif' });
export const axis = (text: string) => ({ title: { display: true, text, color: INK, font: font(15) }, ticks: { color: INK, font: font(13) }, grid: { color: '#e4e4e4' } });

/** What every chart carries, so that an image taken out of its report still says what it shows (`runs`: which run, or how many). */
export function chartStamp(r: RunResult, runs = `run ${r.runId}`): string {
  const backend = r.backend.kind === 'embedded-softhsm2' ? `embedded SoftHSM2 (software tokens sharing ${r.host.cpuCount} cores)` : `${r.module.libraryDescription} ${r.module.libraryVersion}`;
  return `${runs} · ${backend} · ${r.startedAt.slice(0, 10)}`;
}

export function plugins(title: string, stamp: string) {
  return {
    title: { display: true, text: title, color: INK, font: font(20, 'bold'), padding: { top: 6, bottom: 2 } },
    subtitle: { display: true, text: stamp, color: '#444', font: font(13), padding: { bottom: 10 } },
    legend: { display: true, labels: { color: INK, font: font(14) } },
  };
}

/**
 * Ticks and their labels are data in the axis options (`hsm`), placed by two functions that read nothing but the
 * scale they are given: the same chart configuration draws in Node and, serialized, in a browser (report.html).
 */
function placeTicks(scale: Scale): void {
  scale.ticks = (scale.options as unknown as { hsm: { ticks: number[] } }).hsm.ticks.map((value) => ({ value }));
}
function labelTick(this: Scale, value: string | number): string {
  const hsm = (this.options as unknown as { hsm: { ticks: number[]; labels: string[] } }).hsm;
  return hsm.labels[hsm.ticks.indexOf(Number(value))] ?? '';
}
export const fixedTicks = (ticks: number[], labels: string[]) => ({ hsm: { ticks, labels }, afterBuildTicks: placeTicks, ticks: { ...axis('').ticks, callback: labelTick } });

/** Tokens on a log2 axis: 1, 2, 4, 8, 16 … evenly spaced (the data's x is log2 of the count). */
export function tokensAxis(counts: number[], text = 'tokens at once (log2 scale)') {
  const exps = counts.map(Math.log2);
  const ticks: number[] = [];
  for (let e = Math.floor(Math.min(...exps)); e <= Math.ceil(Math.max(...exps)); e++) ticks.push(e);
  return {
    type: 'linear' as const,
    min: ticks[0]! - 0.25,
    max: ticks[ticks.length - 1]! + 0.25,
    ...axis(text),
    ...fixedTicks(
      ticks,
      ticks.map((e) => String(2 ** e)),
    ),
  };
}

/** A log axis with ticks at 1, 2, 5 × 10^k only, so that labels never crowd (8,000 beside 6,000). */
export function logAxis(text: string, values: number[]) {
  const positive = values.filter((v) => v > 0);
  const [low, high] = [Math.floor(Math.log10(Math.min(...positive))), Math.ceil(Math.log10(Math.max(...positive)))];
  const ticks: number[] = [];
  for (let p = low; p <= high; p++) for (const m of [1, 2, 5]) if (m * 10 ** p <= 10 ** high) ticks.push(Number((m * 10 ** p).toPrecision(6)));
  return {
    type: 'logarithmic' as const,
    min: 10 ** low,
    max: 10 ** high,
    ...axis(`${text} (log scale)`),
    ...fixedTicks(
      ticks,
      ticks.map((v) => v.toLocaleString('en-US')),
    ),
  };
}

export type XY = { x: number; y: number | null };
export const line = (label: string, data: XY[], color: string, extra: Omit<Partial<ChartDataset<'line', XY[]>>, 'data'> = {}): ChartDataset<'line', XY[]> => ({
  ...extra,
  label,
  data,
  borderColor: color,
  backgroundColor: color,
  borderWidth: extra.borderWidth ?? 2.5,
  pointRadius: extra.pointRadius ?? 5,
});

/** Marker shapes that tell apart lines of one colour (lines that each span several configurations). */
export const SHAPES = ['circle', 'triangle', 'rect', 'rectRot', 'star', 'crossRot', 'rectRounded', 'cross'] as const;

/**
 * The range of a series' points over their repetitions, as error bars: one dataset of vertical segments (min to max at
 * each x, a gap between them). Null where no point was repeated.
 */
export function rangeBars(label: string, bars: { x: number; range: { min: number; max: number } | null }[], color: string): ChartDataset<'line', XY[]> | null {
  const shown = bars.filter((b) => b.range !== null);
  if (shown.length === 0) return null;
  const data = shown.flatMap((b) => [
    { x: b.x, y: b.range!.min },
    { x: b.x, y: b.range!.max },
    { x: b.x, y: null },
  ]);
  return line(label, data, color, { borderWidth: 2, pointRadius: 4, pointStyle: 'line', spanGaps: false });
}

/**
 * Throughput vs number of tokens on log–log axes, each series with its ideal linear scaling through its own
 * 1-token point: on log–log axes that ideal is a straight line (on a log2 x against a linear y it was a curve), and
 * a software token and a smart card, orders of magnitude apart, share the chart. The run's line spans every token
 * count, so it is in ink (a sessions sweep's lines in their sessions' colours), a published reference in grey.
 */
export function throughputChart(r: RunResult, reference: Map<number, number>, referenceName: string): ChartConfiguration {
  const datasets: ChartDataset<'line', XY[]>[] = [];
  const series = (name: string, points: [number, number][], color: string, shape: (typeof SHAPES)[number]) => {
    datasets.push(
      line(
        name,
        points.map(([n, y]) => ({ x: Math.log2(n), y })),
        color,
        { pointStyle: shape },
      ),
    );
    const one = points.find(([n]) => n === 1)?.[1];
    if (one !== undefined)
      datasets.push(
        line(
          `ideal: ${name}, 1-token rate × tokens`,
          points.map(([n]) => ({ x: Math.log2(n), y: n * one })),
          color,
          { borderDash: [6, 5], borderWidth: 1.5, pointRadius: 0 },
        ),
      );
  };
  // One line per sessions per token and data size (where swept), flat-out configurations only; a line spans token
  // counts, in ink, or in its configurations' colour where there are several (their colour everywhere).
  for (const { name, own, color } of tokenLines(
    r,
    r.configurations.filter((c) => c.openLoop === undefined),
  )) {
    series(
      name,
      own.map((c) => [c.tokens, c.throughputPerS]),
      color,
      'circle',
    );
    // With --repeat: the median is drawn, and the range of the repetitions around it.
    const bars = rangeBars(
      `${name}: range of ${plural(r.plan.repeat ?? 1, 'repetition')}`,
      own.map((c) => ({ x: Math.log2(c.tokens), range: c.spread ? throughputRange(c) : null })),
      color,
    );
    if (bars) datasets.push(bars);
  }
  if (reference.size > 0)
    series(
      referenceName,
      [...reference].sort(([a], [b]) => a - b),
      REFERENCE,
      'rect',
    );
  const ys = datasets.flatMap((d) => d.data.map((p) => p.y ?? 0)).filter((y) => y > 0);
  const counts = [...r.configurations.map((c) => c.tokens), ...reference.keys()];
  return {
    type: 'line',
    data: { datasets },
    options: {
      plugins: plugins(`Throughput vs tokens: ${wordsOf(r).title}`, chartStamp(r)),
      scales: { x: tokensAxis(counts), y: ys.length > 0 ? logAxis(`${wordsOf(r).nouns} per second`, ys) : axis(`${wordsOf(r).nouns} per second`) },
    },
  } as ChartConfiguration;
}

/** Scaling efficiency (throughput(N) / (N × throughput(1))) vs tokens: the shape of scaling, comparable across token kinds. */
export function efficiencyChart(r: RunResult): ChartConfiguration {
  // Only where the efficiency stands: a configuration and its 1-token basis both whole.
  const measured = r.configurations.filter((c) => shownEfficiency(r, c) !== null);
  const points = measured.map((c) => ({ x: Math.log2(c.tokens), y: 1 }));
  return {
    type: 'line',
    data: {
      datasets: [
        ...tokenLines(r, measured).flatMap(({ name, own, color }) => {
          // With --repeat: the efficiency the repetitions allow, against the 1-token basis's (src/result/configuration-shortfall.ts).
          const bars = rangeBars(
            `${name}: range over the repetitions`,
            own.map((c) => ({ x: Math.log2(c.tokens), range: efficiencyRange(r, c) })),
            color,
          );
          return [
            line(
              name,
              own.map((c) => ({ x: Math.log2(c.tokens), y: c.efficiency })),
              color,
            ),
            ...(bars ? [bars] : []),
          ];
        }),
        line('ideal (linear scaling)', points, REFERENCE, { borderDash: [6, 5], borderWidth: 1.5, pointRadius: 0 }),
      ],
    },
    options: {
      plugins: plugins(`Scaling efficiency: ${r.algorithm.displayName}`, chartStamp(r)),
      scales: { x: tokensAxis(r.configurations.map((c) => c.tokens)), y: { min: 0, suggestedMax: 1.1, ...axis('efficiency (1 = linear)') } },
    },
  } as ChartConfiguration;
}

/** Per-token throughput at the largest configuration, slowest first, each token named by slot, label and serial. */
export function perTokenChart(r: RunResult): ChartConfiguration {
  const index = r.configurations.length - 1;
  const c = r.configurations[index]!;
  const tokens = [...c.perToken].sort((a, b) => a.throughputPerS - b.throughputPerS);
  return {
    type: 'bar',
    data: {
      labels: tokens.map((t) => `${tokenTitle(t)} (serial ${serialShown(t.serial)})`),
      datasets: [{ label: `${wordsOf(r).rate} per token with ${configurationName(c)}`, data: tokens.map((t) => t.throughputPerS), backgroundColor: configurationColor(r, index) }],
    },
    options: {
      // Horizontal bars: a token's name (slot, label, serial) reads in full beside its bar.
      indexAxis: 'y',
      plugins: plugins(`Per-token throughput with ${configurationName(c)}: ${wordsOf(r).title}`, chartStamp(r)),
      scales: { y: axis('token (slot: label (serial)), slowest first'), x: { beginAtZero: true, ...axis(`${wordsOf(r).nouns} per second`) } },
    },
  } as ChartConfiguration;
}

/** A small multiple says which token count it shows: ", 2 tokens". */
const panelTitle = (r: RunResult, indexes: readonly number[]) => {
  const counts = [...new Set(indexes.map((i) => r.configurations[i]!.tokens))];
  return indexes.length < r.configurations.length && counts.length === 1 ? `, ${plural(counts[0]!, 'token')}` : '';
};

/** The x of percentile p (in %) on the 1/(1−p) axis: p50, p90, p99, p99.9 evenly spaced, as HdrHistogram plots them. */
const tailX = (percentile: number) => Math.log10(1 / (1 - percentile / 100));
const TAIL_TICKS: [number, string][] = [
  [0, '0%'],
  [50, '50%'],
  [90, '90%'],
  [99, '99%'],
  [99.9, '99.9%'],
  [99.99, '99.99%'],
];

/** Latency by percentile on the 1/(1−p) axis, latency on a log axis: the tail is where the curves differ. */
export function latencyChart(r: RunResult, curves: LatencyCurvePoint[][], indexes: readonly number[] = r.configurations.map((_, i) => i)): ChartConfiguration {
  const datasets = indexes.map((i) =>
    line(
      `${configurationName(r.configurations[i]!)} (n = ${r.configurations[i]!.operationsOk})`,
      curves[i]!.filter((p) => p.percentile < 100).map((p) => ({ x: tailX(p.percentile), y: p.latencyMs })),
      configurationColor(r, i),
      { pointRadius: 2.5 },
    ),
  );
  const ys = indexes.flatMap((i) => curves[i]!).map((p) => p.latencyMs);
  const maxX = Math.max(1, ...datasets.flatMap((d) => d.data.map((p) => p.x)));
  const shownTail = TAIL_TICKS.filter(([p]) => tailX(p) <= Math.ceil(maxX - 1e-9));
  return {
    type: 'line',
    data: { datasets },
    options: {
      plugins: plugins(`Service time by percentile: ${wordsOf(r).title}${panelTitle(r, indexes)}`, chartStamp(r)),
      scales: {
        x: {
          type: 'linear',
          min: 0,
          max: Math.ceil(maxX - 1e-9),
          ...axis('percentile (1/(1−p) scale)'),
          ...fixedTicks(
            shownTail.map(([p]) => tailX(p)),
            shownTail.map(([, label]) => label),
          ),
        },
        y: ys.length > 0 ? logAxis('service time (ms)', ys) : axis('service time (ms)'),
      },
    },
  } as ChartConfiguration;
}

/** At most this many points per line: a 23-hour run has 83,000 seconds. */
const MAX_POINTS = 600;

/**
 * Signatures/s over time, in buckets of whole seconds merged down to at most 600 points per configuration. Each
 * bucket's rate is its count over its real length, so the last, partial second does not fall off a cliff; the
 * slowest and fastest second of a merged bucket are kept as a band; failures are drawn in red; where a burn-in
 * was resumed, a dashed line marks it.
 */
export function timeSeriesChart(r: RunResult, okPerSecondByToken: readonly Map<number, number[]>[] = [], indexes: readonly number[] = r.configurations.map((_, i) => i)): ChartConfiguration {
  const datasets: ChartDataset<'line', XY[]>[] = [];
  // Tokens get the colours no configuration of the run has (one meaning per colour in a report); where they are
  // too few for every token, the per-token chart and tables carry the tokens instead.
  const tokenColors = spareColors(r);
  let offsetS = 0;
  indexes.forEach((i) => {
    const c = r.configurations[i]!;
    const color = configurationColor(r, i);
    // Whole seconds, the last one as long as the window really lasted; a last sliver (under half a second) joins
    // the second before it, so that a few signatures over a few milliseconds do not read as a huge rate.
    const buckets = c.timeSeries.ok.map((ok, s) => ({ ok, failed: c.timeSeries.failed[s] ?? 0, lengthS: s === c.timeSeries.ok.length - 1 && c.durationS > s ? Math.min(1, c.durationS - s) : 1 }));
    const last = buckets[buckets.length - 1];
    if (buckets.length > 1 && last!.lengthS < 0.5) {
      const before = buckets[buckets.length - 2]!;
      buckets.pop();
      before.ok += last!.ok;
      before.failed += last!.failed;
      before.lengthS += last!.lengthS;
    }
    const k = Math.max(1, Math.ceil(buckets.length / MAX_POINTS));
    const mean: XY[] = [];
    const low: XY[] = [];
    const high: XY[] = [];
    const failed: XY[] = [];
    let atS = offsetS;
    for (let s = 0; s < buckets.length; s += k) {
      const group = buckets.slice(s, s + k);
      const spanS = group.reduce((sum, b) => sum + b.lengthS, 0);
      const x = atS + spanS / 2;
      atS += spanS;
      mean.push({ x, y: group.reduce((sum, b) => sum + b.ok, 0) / spanS });
      low.push({ x, y: Math.min(...group.map((b) => b.ok / b.lengthS)) });
      high.push({ x, y: Math.max(...group.map((b) => b.ok / b.lengthS)) });
      failed.push({ x, y: group.reduce((sum, b) => sum + b.failed, 0) / spanS });
    }
    const name = r.command === 'burn-in' ? `${configurationName(c)}: ${wordsOf(r).rate}` : configurationName(c);
    if (k > 1) {
      datasets.push(line(`${name}, slowest second of ${k}`, low, `${color}55`, { pointRadius: 0, borderWidth: 0.8 }));
      datasets.push(line(`${name}, fastest second of ${k}`, high, `${color}55`, { pointRadius: 0, borderWidth: 0.8, fill: '-1' }));
    }
    datasets.push(line(k > 1 ? `${name} (mean of ${k} s)` : name, mean, color, { pointRadius: mean.length < 60 ? 3 : 0 }));
    // Failures on the same axis as the calls served: 5 failures/s beside 8,000 successes is as small as it is (on an
    // axis of its own it filled the chart); the legend gives the count and share. Steps, not ramps: a failure count
    // belongs to its bucket, not to the time between two.
    if (c.operationsFailed > 0) {
      const sharePct = (100 * c.operationsFailed) / (c.operationsOk + c.operationsFailed);
      datasets.push(
        line(`${configurationName(c)}: failed calls/s (${c.operationsFailed.toLocaleString('en-US')} in all, ${sharePct < 0.01 ? '< 0.01' : sharePct.toPrecision(2)} % of calls)`, failed, FAILED, {
          pointRadius: 0,
          borderWidth: 1.5,
          stepped: 'middle',
        }),
      );
    }
    // Each token's own line, for the largest configuration (a burn-in's only one), where a few tokens keep it readable:
    // the token that slows down or stops shows as itself.
    const byToken = okPerSecondByToken[i];
    if (byToken && i === r.configurations.length - 1 && c.perToken.length > 1 && c.perToken.length <= tokenColors.length) {
      c.perToken.forEach((t, j) => {
        const perBucket = buckets.map(() => 0);
        (byToken.get(t.token) ?? []).forEach((n, second) => (perBucket[Math.min(second, buckets.length - 1)]! += n));
        const points: XY[] = [];
        let at = offsetS;
        for (let b = 0; b < buckets.length; b += k) {
          const spanS = buckets.slice(b, b + k).reduce((sum, x) => sum + x.lengthS, 0);
          points.push({ x: at + spanS / 2, y: perBucket.slice(b, b + k).reduce((sum, n) => sum + n, 0) / spanS });
          at += spanS;
        }
        datasets.push(line(`${tokenTitle(t)}`, points, tokenColors[j]!, { pointRadius: 0, borderWidth: 1.2, borderDash: [3, 3] }));
      });
    }
    offsetS = atS;
  });
  const top = Math.max(1, ...datasets.flatMap((d) => d.data.map((p) => p.y ?? 0)));
  for (const [i, segment] of (r.burnIn?.segments ?? []).entries()) {
    if (i === 0) continue;
    datasets.push(
      line(
        i === 1 ? 'resumed' : '',
        [
          { x: segment.startOffsetS, y: 0 },
          { x: segment.startOffsetS, y: top },
        ],
        '#555',
        { borderDash: [4, 4], pointRadius: 0, borderWidth: 1.5 },
      ),
    );
  }
  return {
    type: 'line',
    data: { datasets },
    options: {
      plugins: {
        ...plugins(`Throughput over time: ${wordsOf(r).title}${panelTitle(r, indexes)}`, chartStamp(r)),
        legend: { display: true, labels: { color: INK, font: font(13), filter: (item: { text: string }) => item.text !== '' } },
      },
      scales: {
        x: { type: 'linear', min: 0, ...axis(r.command === 'burn-in' ? 'measured time (s)' : 'time in the measured windows, one after the other (s)') },
        y: { beginAtZero: true, ...axis(`${wordsOf(r).nouns} per second${datasets.some((d) => d.borderColor === FAILED) ? ' (failed calls in red)' : ''}`) },
      },
    },
  } as ChartConfiguration;
}

/**
 * Burn-in: each token's share of the signing time in which it served — not in an outage, nor in a stall of its own
 * (silent while the others signed) — as horizontal bars with the value in the token's label (a token lost all night
 * has a bar of length 0, so the number says it). Red is a token that had an outage (a failure); the others are in the
 * configuration's colour, as in every other chart.
 */
export function availabilityChart(r: RunResult): ChartConfiguration {
  const c = r.configurations[0]!;
  // An outage still open at the end is in outageS (older runs' are added when they are read). An outage as long as a
  // stall is in stalledS too: the larger of the two is the time the token did not serve (older runs: outages only).
  const unavailableS = c.perToken.map((t) => Math.max(t.outageS, t.stalledS ?? 0));
  const availability = unavailableS.map((s) => (c.durationS > 0 ? Math.max(0, 100 * (1 - s / c.durationS)) : 0));
  const inOutage = c.perToken.map((t) => t.outageS > 0);
  // 99.95 % is not 100 %: one decimal more where rounding would hide an outage.
  const shown = (a: number, down: boolean) => (down && a >= 99.95 ? `${Math.min(a, 99.99).toFixed(2)} %` : `${a.toFixed(1)} %`);
  const stalled = (t: ConfigurationResult['perToken'][number]) => ((t.stalls ?? 0) > 0 ? `, ${plural(t.stalls!, 'stall')} (${latencyText(t.stalledS! * 1000)} silent)` : '');
  return {
    type: 'bar',
    data: {
      labels: c.perToken.map((t, i) => `${tokenTitle(t)} (serial ${serialShown(t.serial)}): ${shown(availability[i]!, unavailableS[i]! > 0)}${inOutage[i] ? ', outage' : ''}${stalled(t)}`),
      datasets: [
        {
          label: 'available (% of the measured time not in an outage or a stall of its own); red: a token with an outage',
          data: availability,
          backgroundColor: inOutage.map((o) => (o ? FAILED : configurationColor(r, 0))),
          // A token available 0 % of the time still shows where its bar would be.
          minBarLength: 3,
        },
      ],
    },
    options: {
      indexAxis: 'y',
      plugins: plugins(`Per-token availability over the burn-in: ${r.algorithm.displayName}`, chartStamp(r)),
      scales: { y: axis('token (slot: label (serial)): available'), x: { min: 0, max: 100, ...axis('% of the measured time without an outage or a stall') } },
    },
  } as ChartConfiguration;
}

/** Draws a chart into `<base>.png` and `<base>.svg`; returns the two file names. */
export async function saveChart(renderer: ChartRenderer, config: ChartConfiguration, base: string, write: (file: string, content: Buffer) => void): Promise<string[]> {
  const { png, svg } = await renderer.render(config);
  write(`${base}.png`, png);
  write(`${base}.svg`, svg);
  return [`${base}.png`, `${base}.svg`];
}
