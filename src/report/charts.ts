import { wordsOf } from '../operations/words.js';
import type { ChartConfiguration, ChartDataset, Scale } from 'chart.js';
import type { RunResult } from '../model/run-result.js';
import type { LatencyCurvePoint } from './records-digest.js';
import { configurationName, tokenTitle } from './describe-run.js';
import { shownEfficiency } from '../result/configuration-shortfall.js';

/** The chart's size in CSS pixels; PNGs are drawn at twice the density (print, high-DPI screens). */
export const CHART_WIDTH = 1000;
export const CHART_HEIGHT = 560;
export const PIXEL_RATIO = 2;
/** The series colours of every chart (trend and comparison charts too). */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const INK = '#1a1a1a';
const FAILED = '#c62828';

/** Every chart as PNG (2× density) and SVG. */
export interface ChartRenderer {
  render(c: ChartConfiguration): Promise<{ png: Buffer; svg: Buffer }>;
}

/**
 * chartjs-node-canvas needs the native canvas module. It is loaded only when charts are drawn, so that a machine
 * without it still gets every other artifact; the error says how to enable charts.
 */
export async function chartRenderer(): Promise<ChartRenderer> {
  try {
    const { ChartJSNodeCanvas } = await import('chartjs-node-canvas');
    const png = new ChartJSNodeCanvas({ width: CHART_WIDTH, height: CHART_HEIGHT, backgroundColour: 'white' });
    const svg = new ChartJSNodeCanvas({ width: CHART_WIDTH, height: CHART_HEIGHT, backgroundColour: 'white', type: 'svg' });
    // Chart.js writes its defaults into the configuration it draws: each drawing gets a copy, so that the caller's
    // stays as built (report.html serializes it).
    return {
      render: async (c) => ({
        png: await png.renderToBuffer({ ...copy(c), options: { ...copy(c.options), devicePixelRatio: PIXEL_RATIO } } as ChartConfiguration),
        svg: svg.renderToBufferSync(copy(c), 'image/svg+xml'),
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

/** What every chart carries, so that an image taken out of its report still says what it shows. */
export function chartStamp(r: RunResult): string {
  const backend = r.backend.kind === 'embedded-softhsm2' ? `embedded SoftHSM2 (software tokens sharing ${r.host.cpuCount} cores)` : `${r.module.libraryDescription} ${r.module.libraryVersion}`;
  return `run ${r.runId} · ${backend} · ${r.startedAt.slice(0, 10)}`;
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
const fixedTicks = (ticks: number[], labels: string[]) => ({ hsm: { ticks, labels }, afterBuildTicks: placeTicks, ticks: { ...axis('').ticks, callback: labelTick } });

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

/**
 * Throughput vs number of tokens, tokens on a log2 axis, each series with its ideal linear line through its own
 * 1-token point. A software token and a smart card differ by orders of magnitude: then the y axis is logarithmic
 * too, and every ideal line is straight.
 */
export function throughputChart(r: RunResult, reference: Map<number, number>, referenceName: string): ChartConfiguration {
  const datasets: ChartDataset<'line', XY[]>[] = [];
  const series = (name: string, points: [number, number][], color: string) => {
    datasets.push(
      line(
        name,
        points.map(([n, y]) => ({ x: Math.log2(n), y })),
        color,
      ),
    );
    const one = points.find(([n]) => n === 1)?.[1];
    if (one !== undefined)
      datasets.push(
        line(
          `${name}: ideal linear scaling`,
          points.map(([n]) => ({ x: Math.log2(n), y: n * one })),
          color,
          { borderDash: [6, 5], borderWidth: 1.5, pointRadius: 0 },
        ),
      );
  };
  // One line per number of sessions per token (a sessions sweep), flat-out configurations only.
  const sessions = [...new Set(r.configurations.map((c) => c.threadsPerToken))];
  sessions.forEach((t, i) =>
    series(
      `measured, ${r.algorithm.displayName}${sessions.length > 1 ? `, ${t} sessions per token` : ''}`,
      r.configurations.filter((c) => c.threadsPerToken === t && c.openLoop === undefined).map((c) => [c.tokens, c.throughputPerS]),
      PALETTE[(i * 2) % PALETTE.length]!,
    ),
  );
  if (reference.size > 0)
    series(
      referenceName,
      [...reference].sort(([a], [b]) => a - b),
      PALETTE[1]!,
    );
  const ys = datasets.flatMap((d) => d.data.map((p) => p.y ?? 0)).filter((y) => y > 0);
  const logScale = ys.length > 0 && Math.max(...ys) / Math.min(...ys) > 50;
  const counts = [...r.configurations.map((c) => c.tokens), ...reference.keys()];
  return {
    type: 'line',
    data: { datasets },
    options: {
      plugins: plugins(`Throughput vs tokens: ${wordsOf(r).title}`, chartStamp(r)),
      scales: { x: tokensAxis(counts), y: logScale ? logAxis(`${wordsOf(r).nouns} per second`, ys) : { beginAtZero: true, ...axis(`${wordsOf(r).nouns} per second`) } },
    },
  } as ChartConfiguration;
}

/** Scaling efficiency (throughput(N) / (N × throughput(1))) vs tokens: the shape of scaling, comparable across token kinds. */
export function efficiencyChart(r: RunResult): ChartConfiguration {
  // Only where the efficiency stands: a configuration and its 1-token basis both whole.
  const measured = r.configurations.filter((c) => shownEfficiency(r, c) !== null);
  const sessions = [...new Set(measured.map((c) => c.threadsPerToken))];
  const points = measured.map((c) => ({ x: Math.log2(c.tokens), y: 1 }));
  return {
    type: 'line',
    data: {
      datasets: [
        ...sessions.map((t, i) =>
          line(
            `measured, ${r.algorithm.displayName}${sessions.length > 1 ? `, ${t} sessions per token` : ''}`,
            measured.filter((c) => c.threadsPerToken === t).map((c) => ({ x: Math.log2(c.tokens), y: c.efficiency })),
            PALETTE[(i * 2) % PALETTE.length]!,
          ),
        ),
        line('ideal', points, '#777', { borderDash: [6, 5], borderWidth: 1.5, pointRadius: 0 }),
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
  const c = r.configurations[r.configurations.length - 1]!;
  const tokens = [...c.perToken].sort((a, b) => a.throughputPerS - b.throughputPerS);
  return {
    type: 'bar',
    data: {
      labels: tokens.map((t) => `${tokenTitle(t)} (${t.serial})`),
      datasets: [{ label: `${wordsOf(r).rate} per token with ${configurationName(c)}`, data: tokens.map((t) => t.throughputPerS), backgroundColor: PALETTE[0] }],
    },
    options: {
      plugins: plugins(`Per-token throughput with ${configurationName(c)}: ${wordsOf(r).title}`, chartStamp(r)),
      scales: { x: axis('token (slot: label (serial)), slowest first'), y: { beginAtZero: true, ...axis(`${wordsOf(r).nouns} per second`) } },
    },
  } as ChartConfiguration;
}

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
export function latencyChart(r: RunResult, curves: LatencyCurvePoint[][]): ChartConfiguration {
  const datasets = r.configurations.map((c, i) =>
    line(
      `${configurationName(c)} (n = ${c.operationsOk})`,
      curves[i]!.filter((p) => p.percentile < 100).map((p) => ({ x: tailX(p.percentile), y: p.latencyMs })),
      PALETTE[i % PALETTE.length]!,
      { pointRadius: 2.5 },
    ),
  );
  const ys = curves.flat().map((p) => p.latencyMs);
  const maxX = Math.max(1, ...datasets.flatMap((d) => d.data.map((p) => p.x)));
  const shownTail = TAIL_TICKS.filter(([p]) => tailX(p) <= Math.ceil(maxX - 1e-9));
  return {
    type: 'line',
    data: { datasets },
    options: {
      plugins: plugins(`Service time by percentile: ${wordsOf(r).title}`, chartStamp(r)),
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
/** Per-token lines beyond this many tokens would be a tangle; the per-token chart and tables carry them instead. */
const MAX_TOKEN_LINES = 8;
const TOKEN_PALETTE = ['#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#393b79', '#ad494a'];

/**
 * Signatures/s over time, in buckets of whole seconds merged down to at most 600 points per configuration. Each
 * bucket's rate is its count over its real length, so the last, partial second does not fall off a cliff; the
 * slowest and fastest second of a merged bucket are kept as a band; failures are drawn in red; where a burn-in
 * was resumed, a dashed line marks it.
 */
export function timeSeriesChart(r: RunResult, okPerSecondByToken: readonly Map<number, number[]>[] = []): ChartConfiguration {
  const datasets: ChartDataset<'line', XY[]>[] = [];
  let offsetS = 0;
  r.configurations.forEach((c, i) => {
    const color = PALETTE[i % PALETTE.length]!;
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
    // Failures on an axis of their own (right): a few a second beside thousands of signatures would be a flat line at 0.
    // Steps, not ramps: a failure count belongs to its bucket, not to the time between two.
    if (failed.some((p) => (p.y ?? 0) > 0))
      datasets.push(line(`${configurationName(c)}: failures/s (right axis)`, failed, FAILED, { pointRadius: 0, borderWidth: 1.5, yAxisID: 'failures', stepped: 'middle' }));
    // Each token's own line, for the largest configuration (a burn-in's only one), where a few tokens keep it readable:
    // the token that slows down or stops shows as itself.
    const byToken = okPerSecondByToken[i];
    if (byToken && i === r.configurations.length - 1 && c.perToken.length > 1 && c.perToken.length <= MAX_TOKEN_LINES) {
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
        datasets.push(line(`${tokenTitle(t)}`, points, TOKEN_PALETTE[j % TOKEN_PALETTE.length]!, { pointRadius: 0, borderWidth: 1.2, borderDash: [3, 3] }));
      });
    }
    offsetS = atS;
  });
  const top = Math.max(1, ...datasets.filter((d) => d.yAxisID !== 'failures').flatMap((d) => d.data.map((p) => p.y ?? 0)));
  const withFailures = datasets.some((d) => d.yAxisID === 'failures');
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
        ...plugins(`Throughput over time: ${wordsOf(r).title}`, chartStamp(r)),
        legend: { display: true, labels: { color: INK, font: font(13), filter: (item: { text: string }) => item.text !== '' } },
      },
      scales: {
        x: { type: 'linear', min: 0, ...axis(r.command === 'burn-in' ? 'measured time (s)' : 'time in the measured windows, one after the other (s)') },
        y: { beginAtZero: true, ...axis(`${wordsOf(r).nouns} per second`) },
        ...(withFailures ? { failures: { position: 'right', beginAtZero: true, ...axis('failures per second'), grid: { drawOnChartArea: false } } } : {}),
      },
    },
  } as ChartConfiguration;
}

/** Burn-in: each token's share of the signing time in which it was not in an outage. */
export function availabilityChart(r: RunResult): ChartConfiguration {
  const c = r.configurations[0]!;
  const availability = c.perToken.map((t) => (c.durationS > 0 ? Math.max(0, 100 * (1 - (t.outageS + (t.stillFailingS ?? 0)) / c.durationS)) : 0));
  return {
    type: 'bar',
    data: {
      labels: c.perToken.map((t) => `${tokenTitle(t)} (${t.serial})`),
      datasets: [{ label: 'available (% of the measured time)', data: availability, backgroundColor: availability.map((a) => (a < 100 ? FAILED : PALETTE[2]!)) }],
    },
    options: {
      plugins: plugins(`Per-token availability over the burn-in: ${r.algorithm.displayName}`, chartStamp(r)),
      scales: { x: axis('token (slot: label (serial))'), y: { min: 0, max: 100, ...axis('% of the measured time without an outage') } },
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
