import type { ChartConfiguration } from 'chart.js';
import type { RunResult } from '../result/run-result.js';
import type { LatencyCurvePoint } from '../stats/latency-curve.js';
import { configurationName, tokenTitle } from './describe-run.js';

export interface ChartImage {
  file: string;
  title: string;
  png: Buffer;
}

export const CHART_WIDTH = 1000;
export const CHART_HEIGHT = 560;
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

type Renderer = { renderToBuffer(c: ChartConfiguration): Promise<Buffer> };

/**
 * chartjs-node-canvas needs the native canvas module. It is loaded only when charts are drawn, so that a machine
 * without it still gets every other artifact; the error says how to enable charts.
 */
export async function chartRenderer(): Promise<Renderer> {
  try {
    const { ChartJSNodeCanvas } = await import('chartjs-node-canvas');
    return new ChartJSNodeCanvas({ width: CHART_WIDTH, height: CHART_HEIGHT, backgroundColour: 'white' }) as unknown as Renderer;
  } catch (error) {
    throw new Error(
      `charts are not available: ${(error as Error).message.split('\n')[0]}. To enable them, install libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev and fonts-dejavu-core, then run 'npm rebuild canvas'`,
    );
  }
}

const axis = (text: string) => ({ title: { display: true, text } });
const titled = (text: string) => ({ title: { display: true, text, font: { size: 18 } }, legend: { display: true } });

/** Throughput vs number of tokens, with the ideal linear line through the 1-token point and an optional reference. */
export function throughputChart(r: RunResult, reference: Map<number, number>, referenceName: string): ChartConfiguration {
  const points = r.configurations.map((c) => ({ x: c.tokens, y: c.throughputPerS }));
  const single = r.configurations.find((c) => c.tokens === 1);
  const datasets: ChartConfiguration<'line'>['data']['datasets'] = [
    { label: `measured (${r.algorithm.displayName})`, data: points, borderColor: PALETTE[0], backgroundColor: PALETTE[0], pointRadius: 5 },
  ];
  if (single) {
    datasets.push({
      label: 'ideal linear scaling',
      data: r.configurations.map((c) => ({ x: c.tokens, y: c.tokens * single.throughputPerS })),
      borderColor: '#888',
      borderDash: [6, 4],
      pointRadius: 0,
    });
  }
  if (reference.size > 0) {
    datasets.push({ label: referenceName, data: [...reference].map(([x, y]) => ({ x, y })), borderColor: PALETTE[1], backgroundColor: PALETTE[1], pointRadius: 4 });
  }
  // A software token and a smart card differ by orders of magnitude: then only a log scale shows both.
  const ys = datasets.flatMap((d) => (d.data as { y: number }[]).map((p) => p.y)).filter((y) => y > 0);
  const logScale = ys.length > 0 && Math.max(...ys) / Math.min(...ys) > 50;
  return {
    type: 'line',
    data: { datasets },
    options: {
      plugins: titled(`Signature throughput vs tokens: ${r.algorithm.displayName}`),
      scales: {
        x: { type: 'linear', ...axis('tokens signing at once'), ticks: { stepSize: 1 } },
        y: logScale ? { type: 'logarithmic', ...axis('signatures per second (log scale)') } : { beginAtZero: true, ...axis('signatures per second') },
      },
    },
  };
}

/** Per-token throughput at the largest configuration: token-to-token variation. */
export function perTokenChart(r: RunResult): ChartConfiguration {
  const c = r.configurations[r.configurations.length - 1]!;
  return {
    type: 'bar',
    data: {
      labels: c.perToken.map(tokenTitle),
      datasets: [{ label: `signatures/s per token with ${configurationName(c)}`, data: c.perToken.map((t) => t.throughputPerS), backgroundColor: PALETTE[0] }],
    },
    options: {
      plugins: titled(`Per-token throughput with ${configurationName(c)}: ${r.algorithm.displayName}`),
      scales: { x: axis('token (slot: label)'), y: { beginAtZero: true, ...axis('signatures per second') } },
    },
  };
}

/** Latency percentile curves, one per configuration. */
export function latencyChart(r: RunResult, curves: LatencyCurvePoint[][]): ChartConfiguration {
  return {
    type: 'line',
    data: {
      datasets: r.configurations.map((c, i) => ({
        label: configurationName(c),
        data: curves[i]!.map((p) => ({ x: p.percentile, y: p.latencyMs })),
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        pointRadius: 2,
      })),
    },
    options: {
      plugins: titled(`Signature latency distribution: ${r.algorithm.displayName}`),
      scales: { x: { type: 'linear', min: 0, max: 100, ...axis('percentile (%)') }, y: { beginAtZero: true, ...axis('latency (ms)') } },
    },
  };
}

/** Signatures completed in each second of the run, configurations one after the other. */
export function timeSeriesChart(r: RunResult): ChartConfiguration {
  let offsetS = 0;
  const datasets = r.configurations.map((c, i) => {
    const data = c.timeSeries.ok.map((ok, s) => ({ x: offsetS + s, y: ok }));
    offsetS += c.timeSeries.ok.length;
    return { label: configurationName(c), data, borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length], pointRadius: 1, stepped: true as const };
  });
  return {
    type: 'line',
    data: { datasets },
    options: {
      plugins: titled(`Throughput over time (1-s buckets): ${r.algorithm.displayName}`),
      scales: { x: { type: 'linear', ...axis('time in the measured windows (s)') }, y: { beginAtZero: true, ...axis('signatures completed per second') } },
    },
  };
}
