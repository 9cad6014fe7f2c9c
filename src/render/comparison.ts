import type { ChartConfiguration } from 'chart.js';
import type { RunResult } from '../result/run-result.js';
import { configurationName, fixed } from './describe-run.js';
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

/** The side-by-side table and its one-line conclusion; `names` label the two runs (default: their algorithms). */
export function comparisonMarkdownBody(baseline: RunResult, other: RunResult, names: [string, string] = [baseline.algorithm.displayName, other.algorithm.displayName]): string {
  const rows = compareThroughput(baseline, other);
  const ratios = rows.map((r) => r.ratio).filter((r): r is number => r !== null);
  const mean = ratios.length > 0 ? ratios.reduce((a, b) => a + b, 0) / ratios.length : null;
  return [
    markdownTable(
      ['Configuration', `${names[0]} sig/s`, `${names[1]} sig/s`, `Ratio (${names[1]} / ${names[0]})`],
      rows.map((r) => [configurationName(r), fixed(r.baseline, 1), fixed(r.other, 1), fixed(r.ratio, 2)]),
    ),
    '',
    mean === null ? 'No configuration was run by both.' : `On average ${names[1]} signs ${fixed(mean, 2)}× as fast as ${names[0]} on these tokens.`,
    '',
  ].join('\n');
}

export function renderComparisonMarkdown(baseline: RunResult, other: RunResult, chartFile: string | undefined): string {
  return [
    `# hsm-bench: ${runName(other)} vs ${runName(baseline)}`,
    '',
    `Runs \`${baseline.runId}\` and \`${other.runId}\` on tokens ${baseline.tokens.map((t) => `${t.label} (serial ${t.serial})`).join(', ')}.`,
    '',
    comparisonMarkdownBody(baseline, other),
    ...(chartFile ? [`![Throughput of both runs](${chartFile})`, ''] : []),
  ].join('\n');
}

export function comparisonChart(baseline: RunResult, other: RunResult, names: [string, string] = [runName(baseline), runName(other)]): ChartConfiguration {
  const rows = compareThroughput(baseline, other);
  return {
    type: 'bar',
    data: {
      labels: rows.map(configurationName),
      datasets: [
        { label: names[0], data: rows.map((r) => r.baseline), backgroundColor: '#1f77b4' },
        { label: names[1], data: rows.map((r) => r.other), backgroundColor: '#d62728' },
      ],
    },
    options: {
      plugins: { title: { display: true, text: `${names[1]} vs ${names[0]}: throughput per configuration`, font: { size: 18 } }, legend: { display: true } },
      scales: { x: { title: { display: true, text: 'tokens signing at once' } }, y: { beginAtZero: true, title: { display: true, text: 'signatures per second' } } },
    },
  };
}
