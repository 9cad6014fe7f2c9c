import { wordsOf } from '../operations/words.js';
import type { ChartConfiguration } from 'chart.js';
import type { RunResult } from '../model/run-result.js';
import { chartStamp, PALETTE } from './charts.js';
import { configurationName, fixed } from './describe-run.js';
import { distinctConfigurations, sameConfiguration, type ConfigurationAxes } from '../model/configuration.js';
import { markdownTable } from './markdown.js';
import { notMeasured } from '../result/plan-coverage.js';
import { referenceThroughput } from '../result/reference.js';
import { type Reference } from '../model/run-result.js';
import { throughputRange } from '../stats/repetitions.js';

/** The rate unit of runs side by side: their operation's (sig/s), or operations/s when they measured different ones. */
const sharedRate = (runs: readonly RunResult[]) => {
  const rates = new Set(runs.map((r) => wordsOf(r).rate));
  return rates.size === 1 ? [...rates][0]! : 'operations/s';
};

/** A run as a comparison names it: its workload (ECDSA P-256, RSA-2048 decryption…), and its mechanism where two runs of one workload differ in it. */
export const runName = (r: RunResult) => `${wordsOf(r).title} (${r.mechanism.name})`;

/** A configuration (tokens, sessions per token, target rate) and each run's throughput there. */
export interface ComparisonRow extends ConfigurationAxes {
  /** Each run's throughput (its median repetition's, with --repeat), in the order the runs were given; null where it was not measured whole. */
  throughputs: (number | null)[];
  /** Each run's throughput over the first run's; null where either is missing. */
  ratios: (number | null)[];
}

/** Throughput of N runs side by side, configuration by configuration (e.g. ECDSA vs RSA on the same tokens). */
export function compareThroughput(runs: readonly RunResult[]): ComparisonRow[] {
  // A configuration a run was interrupted or killed in has no whole figure to set beside another run's.
  const missing = runs.map(notMeasured);
  return distinctConfigurations(runs.flatMap((r) => r.configurations)).map((configuration) => {
    const throughputs = runs.map((r, i) =>
      missing[i]!.some((m) => sameConfiguration(m, configuration)) ? null : (r.configurations.find((c) => sameConfiguration(c, configuration))?.throughputPerS ?? null),
    );
    const first = throughputs[0];
    return { ...configuration, throughputs, ratios: throughputs.map((t) => (first && t !== null ? Math.round((t / first) * 100) / 100 : null)) };
  });
}

/**
 * Whether the ratio tells the runs apart: with --repeat, where every configuration's throughput ranges overlap, the
 * difference is within the spread of the repetitions; with one measurement each, nothing says how far noise goes.
 */
function apartness(runs: readonly RunResult[], other: number, rows: readonly ComparisonRow[], ratio: number): string {
  const both = rows.filter((row) => row.throughputs[0] !== null && row.throughputs[other] !== null);
  const pairs = both.map((row) => [runs[0]!, runs[other]!].map((r) => r.configurations.find((c) => sameConfiguration(c, row))!));
  if (pairs.length === 0) return '';
  // Single measurements a few per cent apart: a rerun on a shared host moves as much.
  if (pairs.some((pair) => pair.some((c) => !c.repetitions)))
    return Math.abs(ratio - 1) < 0.1 ? ' — one measurement each, less than 10 % apart: --repeat tells such a difference from the noise of a run' : '';
  const overlap = pairs.every(([x, y]) => {
    const [rx, ry] = [throughputRange(x!), throughputRange(y!)];
    return rx.min <= ry.max && ry.min <= rx.max;
  });
  return overlap ? ' — within the spread of the repetitions in every configuration: no difference is shown' : '';
}

/**
 * The ratio a configuration's repetitions allow: the other run's slowest over the first's fastest to its fastest over
 * the first's slowest. Null unless both were repeated.
 */
function ratioRange(runs: readonly RunResult[], other: number, row: ComparisonRow): { min: number; max: number } | null {
  const [a, b] = [runs[0]!, runs[other]!].map((r) => r.configurations.find((c) => sameConfiguration(c, row)));
  if (!a?.spread || !b?.spread || row.throughputs[0] === null || row.throughputs[other] === null) return null;
  const [ra, rb] = [throughputRange(a), throughputRange(b)];
  return ra.min > 0 ? { min: rb.min / ra.max, max: rb.max / ra.min } : null;
}

const rangeText = (range: { min: number; max: number } | null) => (range === null ? '' : ` (${fixed(range.min, 2)}–${fixed(range.max, 2)})`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * The side-by-side table and its conclusions: per configuration each run's throughput and its ratio to the first
 * run, the published reference beside it where one is given (its own ratio for the same pair of algorithms), and
 * the median ratio over the configurations — a median, so that one odd configuration does not move it.
 */
export function comparisonMarkdownBody(runs: readonly RunResult[], names: readonly string[] = runs.map((r) => wordsOf(r).title), reference?: Reference): string {
  const rows = compareThroughput(runs);
  const refs = runs.map((r) => referenceThroughput(reference, r.algorithm.id));
  const withReference = refs.some((m) => m.size > 0);
  const rate = sharedRate(runs);
  const head = ['Configuration', ...names.map((n) => `${n} ${rate}`), ...names.slice(1).map((n) => `${n} / ${names[0]} (×)`)];
  if (withReference) head.push(...names.map((n) => `${n}, reference ${rate}`), ...names.slice(1).map((n) => `reference ${n} / ${names[0]} (×)`));
  const table = rows.map((row) => {
    const cells: (string | number)[] = [
      configurationName(row),
      ...row.throughputs.map((t) => fixed(t, 1)),
      // With repetitions on both sides, the range the ratio can take beside it.
      ...row.ratios.slice(1).map((r, i) => `${fixed(r, 2)}${r === null ? '' : rangeText(ratioRange(runs, i + 1, row))}`),
    ];
    if (withReference) {
      const ref = refs.map((m) => m.get(row.tokens) ?? null);
      cells.push(...ref.map((t) => fixed(t, 1)), ...ref.slice(1).map((t) => fixed(t !== null && ref[0] ? t / ref[0] : null, 2)));
    }
    return cells;
  });
  const lines = [markdownTable(head, table), ''];
  const missing = runs.flatMap((r, i) => notMeasured(r).map((m) => `${names[i]}, ${configurationName(m)}: ${m.reason}.`));
  if (missing.length > 0) lines.push(`Not measured whole, so not set beside the others (–): ${missing.join(' ')}`, '');
  // At target rates every run serves the rate asked for: a throughput ratio would only say so.
  if (runs.every((r) => r.plan.targetRate)) {
    lines.push(
      'These runs were made at target rates, where the throughput is the rate asked for: compare their response times and capacities (`hsm-bench compare BASELINE CANDIDATE`), not these ratios.',
      '',
    );
    return lines.join('\n');
  }
  names.slice(1).forEach((name, i) => {
    const m = median(rows.map((r) => r.ratios[i + 1]).filter((r): r is number => r !== null));
    const refM = withReference
      ? median(
          rows
            .map((r) => [refs[0]!.get(r.tokens), refs[i + 1]!.get(r.tokens)] as const)
            .filter(([a, b]) => a && b)
            .map(([a, b]) => b! / a!),
        )
      : null;
    // The ranges of the ratio in each configuration, their medians beside the median ratio.
    const ranges = rows.map((row) => ratioRange(runs, i + 1, row)).filter((x): x is { min: number; max: number } => x !== null);
    const range = ranges.length > 0 ? ` (${fixed(median(ranges.map((x) => x.min)), 2)}–${fixed(median(ranges.map((x) => x.max)), 2)}× over the repetitions)` : '';
    lines.push(
      m === null
        ? `No configuration was run by both ${names[0]} and ${name}.`
        : `${name} is ${fixed(m, 2)}×${range} as fast as ${names[0]} (median over the configurations both ran)${refM !== null ? `; in the reference, ${fixed(refM, 2)}×` : ''}${apartness(runs, i + 1, rows, m)}.`,
    );
  });
  if (withReference) {
    lines.push('', `Reference: ${reference!.tokenModel}, ${reference!.source}. Ratios (×) are throughput over the first run's, configuration by configuration.`);
    // Software tokens beside a published smart card: rates differ by orders of magnitude; only shapes compare.
    if (runs.some((r) => r.backend.kind === 'embedded-softhsm2')) {
      lines.push(`The measured runs are SoftHSM2 software tokens on this host, the reference is ${reference!.tokenModel} hardware: compare the ratios and the scaling, not the rates.`);
    }
  }
  lines.push('');
  return lines.join('\n');
}

/** comparison.md of `report A B …` and `compare`: which runs, on which tokens, then the table and the chart. */
export function renderComparisonMarkdown(runs: readonly RunResult[], chartFile: string | undefined, reference?: Reference, extra: string[] = []): string {
  const names = distinctNames(runs);
  return [
    `# hsm-bench: ${names.join(' vs ')}`,
    '',
    `Runs ${runs.map((r) => `\`${r.runId}\``).join(', ')}, on tokens ${runs[0]!.tokens.map((t) => `${t.label} (serial ${t.serial})`).join(', ')}.`,
    '',
    ...runs.map(
      (r, i) => `- ${names[i]}: \`${r.commandLine ?? r.runId}\` (${r.startedAt.slice(0, 16).replace('T', ' ')}, ${r.host.hostname}, ${r.module.libraryDescription} ${r.module.libraryVersion})`,
    ),
    '',
    comparisonMarkdownBody(runs, names, reference),
    ...extra,
    ...(chartFile ? [`![Throughput per configuration](${chartFile})`, ''] : []),
  ].join('\n');
}

/** Names that tell the runs apart: the algorithm, then the mechanism, then the run id where those repeat. */
export function distinctNames(runs: readonly RunResult[]): string[] {
  for (const name of [(r: RunResult) => wordsOf(r).title, runName, (r: RunResult) => `${runName(r)} ${r.runId}`]) {
    const names = runs.map(name);
    if (new Set(names).size === names.length) return names;
  }
  return runs.map((r) => r.runId);
}

/** One group of bars per configuration, one bar per run, in the order the runs were given (legend and title too). */
export function comparisonChart(runs: readonly RunResult[], names: readonly string[] = distinctNames(runs)): ChartConfiguration {
  const rows = compareThroughput(runs);
  return {
    type: 'bar',
    data: {
      labels: rows.map(configurationName),
      datasets: runs.map((_, i) => ({ label: names[i]!, data: rows.map((r) => r.throughputs[i]!), backgroundColor: PALETTE[i % PALETTE.length] })),
    },
    options: {
      plugins: {
        title: { display: true, text: 'Throughput per configuration', font: { size: 20, weight: 'bold' }, color: '#1a1a1a' },
        subtitle: { display: true, text: chartStamp(runs[0]!), font: { size: 13 }, color: '#444', padding: { bottom: 10 } },
        legend: { display: true, labels: { font: { size: 14 }, color: '#1a1a1a' } },
      },
      scales: {
        x: { title: { display: true, text: 'tokens at once', font: { size: 15 } } },
        y: { beginAtZero: true, title: { display: true, text: `${new Set(runs.map((r) => wordsOf(r).nouns)).size === 1 ? wordsOf(runs[0]!).nouns : 'operations'} per second`, font: { size: 15 } } },
      },
    },
  };
}
