import type { ChartConfiguration } from 'chart.js';
import type { RunResult } from '../result/run-result.js';
import { fixed } from './describe-run.js';
import { markdownTable } from './markdown.js';

export interface ComparisonRow {
  tokens: number;
  baseline: number | null;
  other: number | null;
  /** other / baseline throughput; null where either is missing. */
  ratio: number | null;
}

/** Throughput of two runs side by side, configuration by configuration (e.g. ECDSA vs RSA on the same tokens). */
export function compareThroughput(baseline: RunResult, other: RunResult): ComparisonRow[] {
  const counts = [...new Set([...baseline.configurations, ...other.configurations].map((c) => c.tokens))].sort((a, b) => a - b);
  return counts.map((tokens) => {
    const a = baseline.configurations.find((c) => c.tokens === tokens)?.throughputPerS ?? null;
    const b = other.configurations.find((c) => c.tokens === tokens)?.throughputPerS ?? null;
    return { tokens, baseline: a, other: b, ratio: a && b !== null ? Math.round((b / a) * 100) / 100 : null };
  });
}

const runName = (r: RunResult) => `${r.algorithm.displayName} (${r.mechanism.name})`;

export function renderComparisonMarkdown(baseline: RunResult, other: RunResult, chartFile: string | undefined): string {
  const rows = compareThroughput(baseline, other);
  const ratios = rows.map((r) => r.ratio).filter((r): r is number => r !== null);
  const mean = ratios.length > 0 ? ratios.reduce((a, b) => a + b, 0) / ratios.length : null;
  return [
    `# hsm-bench: ${runName(other)} vs ${runName(baseline)}`,
    '',
    `Runs \`${baseline.runId}\` and \`${other.runId}\` on tokens ${baseline.tokens.map((t) => `${t.label} (serial ${t.serial})`).join(', ')}.`,
    '',
    markdownTable(
      ['Configuration', `${baseline.algorithm.displayName} sig/s`, `${other.algorithm.displayName} sig/s`, `Ratio ${other.algorithm.id}/${baseline.algorithm.id}`],
      rows.map((r) => [`${r.tokens} token${r.tokens === 1 ? '' : 's'}`, fixed(r.baseline, 1), fixed(r.other, 1), fixed(r.ratio, 2)]),
    ),
    '',
    mean === null ? 'No configuration was run by both.' : `On average ${runName(other)} signs ${fixed(mean, 2)}× as fast as ${runName(baseline)} on these tokens.`,
    '',
    ...(chartFile ? [`![Throughput of both runs](${chartFile})`, ''] : []),
  ].join('\n');
}

export function comparisonChart(baseline: RunResult, other: RunResult): ChartConfiguration {
  const rows = compareThroughput(baseline, other);
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => `${r.tokens} token${r.tokens === 1 ? '' : 's'}`),
      datasets: [
        { label: runName(baseline), data: rows.map((r) => r.baseline), backgroundColor: '#1f77b4' },
        { label: runName(other), data: rows.map((r) => r.other), backgroundColor: '#d62728' },
      ],
    },
    options: {
      plugins: { title: { display: true, text: `${other.algorithm.displayName} vs ${baseline.algorithm.displayName}: throughput per configuration`, font: { size: 18 } }, legend: { display: true } },
      scales: { x: { title: { display: true, text: 'tokens signing at once' } }, y: { beginAtZero: true, title: { display: true, text: 'signatures per second' } } },
    },
  };
}
