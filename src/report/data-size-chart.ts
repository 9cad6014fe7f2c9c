import type { ChartConfiguration, ChartDataset } from 'chart.js';
import { byteSizeText } from '../core/byte-size.js';
import { plural } from '../core/plural.js';
import type { RunResult } from '../model/run-result.js';
import { wordsOf } from '../operations/words.js';
import { axis, chartStamp, fixedTicks, line, PALETTE, plugins, SHAPES, type XY } from './charts.js';

/**
 * Throughput in MB/s (solid, left axis) and the service time's median (dashed, right axis) against the bytes each
 * call handed the token (--data-size, log2 axis), one pair of lines per token count (in its colour): where the cost per call
 * turns from the call itself to the data.
 */
export function dataSizeChart(r: RunResult): ChartConfiguration {
  const measured = r.configurations.filter((c) => c.dataSizeBytes !== undefined && c.openLoop === undefined);
  const counts = [...new Set(measured.map((c) => c.tokens))];
  const datasets: ChartDataset<'line', XY[]>[] = counts.flatMap((tokens, i) => {
    const own = measured.filter((c) => c.tokens === tokens).sort((a, b) => a.dataSizeBytes! - b.dataSizeBytes!);
    const x = (bytes: number) => Math.log2(bytes);
    const name = plural(tokens, 'token');
    const shape = SHAPES[i % SHAPES.length]!;
    return [
      line(
        `${name}: MB/s`,
        own.map((c) => ({ x: x(c.dataSizeBytes!), y: c.mbPerS ?? null })),
        PALETTE[i % PALETTE.length]!,
        { pointStyle: shape, yAxisID: 'y' },
      ),
      line(
        `${name}: service p50 (ms)`,
        own.map((c) => ({ x: x(c.dataSizeBytes!), y: c.latencyMs?.p50 ?? null })),
        PALETTE[i % PALETTE.length]!,
        { pointStyle: shape, borderDash: [6, 5], yAxisID: 'latency' },
      ),
    ];
  });
  const sizes = [...new Set(measured.map((c) => c.dataSizeBytes!))].sort((a, b) => a - b);
  const exps = sizes.map(Math.log2);
  return {
    type: 'line',
    data: { datasets },
    options: {
      plugins: plugins(`Throughput and latency vs data size: ${wordsOf(r).title}`, chartStamp(r)),
      scales: {
        x: {
          type: 'linear' as const,
          min: Math.min(...exps) - 0.5,
          max: Math.max(...exps) + 0.5,
          ...axis('bytes per call (log2 scale; k = 1024)'),
          ...fixedTicks(exps, sizes.map(byteSizeText)),
        },
        y: { beginAtZero: true, position: 'left', ...axis('MB/s (1 MB = 10⁶ bytes)') },
        latency: { beginAtZero: true, position: 'right', ...axis('service time p50 (ms)'), grid: { drawOnChartArea: false } },
      },
    },
  } as ChartConfiguration;
}
