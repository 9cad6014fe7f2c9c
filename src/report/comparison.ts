import { wordsOf } from '../operations/words.js';
import type { ChartConfiguration, ChartDataset } from 'chart.js';
import type { RunResult } from '../model/run-result.js';
import { axis, chartStamp, logAxis, PALETTE, plugins } from './charts.js';
import { callPatternText, configurationName, fixed } from './describe-run.js';
import { distinctConfigurations, sameConfiguration, type ConfigurationAxes } from '../model/configuration.js';
import { markdownTable } from './markdown.js';
import { fitTable } from './fit-table.js';
import type { TableModel } from './table-model.js';
import { notMeasured } from '../result/plan-coverage.js';
import { referenceThroughput } from '../result/reference.js';
import { type Reference } from '../model/run-result.js';
import { serialShown } from '../model/serial.js';
import { ratioText, throughputChange, type ChangeEstimate } from '../verdict/compare.js';
import { plural } from '../core/plural.js';
import { rateNotEstablished } from '../verdict/common-window-rate.js';

/** The rate unit of runs side by side: their operation's (sig/s), or operations/s when they measured different ones. */
const sharedRate = (runs: readonly RunResult[]) => {
  const rates = new Set(runs.map((r) => wordsOf(r).rate));
  return rates.size === 1 ? [...rates][0]! : 'operations/s';
};

/** A run as a comparison names it: its workload (ECDSA P-256, RSA-2048 decryption…), its mechanism, and how it held sessions where not pooled. */
export const runName = (r: RunResult) => `${wordsOf(r).title} (${r.mechanism.name}${callPatternText(r)})`;

/** A configuration (tokens, sessions per token, target rate) and each run's throughput there. */
export interface ComparisonRow extends ConfigurationAxes {
  /** Each run's throughput (its median repetition's, with --repeat), in the order the runs were given; null where it was not measured whole. */
  throughputs: (number | null)[];
  /** Each run's throughput over the first run's; null where either is missing. */
  ratios: (number | null)[];
  /** The same ratios with their 95 % intervals from the runs' own noise (as `compare` judges them); null where either is missing. */
  changes: (ChangeEstimate | null)[];
}

/** Throughput of N runs side by side, configuration by configuration (e.g. ECDSA vs RSA on the same tokens). */
export function compareThroughput(runs: readonly RunResult[]): ComparisonRow[] {
  // A configuration a run was interrupted or killed in has no whole figure to set beside another run's.
  const missing = runs.map(notMeasured);
  return distinctConfigurations(runs.flatMap((r) => r.configurations)).map((configuration) => {
    // Nor has a merged configuration whose rate is not established (its hosts' common window too brief).
    const measured = runs.map((r, i) =>
      missing[i]!.some((m) => sameConfiguration(m, configuration)) ? undefined : r.configurations.find((c) => sameConfiguration(c, configuration) && rateNotEstablished(c) === undefined),
    );
    const throughputs = measured.map((c) => c?.throughputPerS ?? null);
    const first = throughputs[0];
    return {
      ...configuration,
      throughputs,
      ratios: throughputs.map((t) => (first && t !== null ? Math.round((t / first) * 100) / 100 : null)),
      changes: measured.map((c) => (first && c ? throughputChange(measured[0]!, c) : null)),
    };
  });
}

/**
 * What the configurations' 95 % intervals say of run `other` against the first: faster or slower beyond the noise
 * in how many, within it in the others, and where the noise is unknown. Null where they ran no configuration alike.
 */
function apartness(rows: readonly ComparisonRow[], other: number): { text: string; apart: boolean } | null {
  const estimates = rows.map((row) => row.changes[other]).filter((e): e is ChangeEstimate => e !== null && e !== undefined);
  if (estimates.length === 0) return null;
  const known = estimates.filter((e) => e.low !== null && e.high !== null);
  const faster = known.filter((e) => e.low! > 1).length;
  const slower = known.filter((e) => e.high! < 1).length;
  const unknown = estimates.length - known.length;
  const noise = unknown > 0 ? `; the noise of ${plural(unknown, 'configuration')} is unknown (fewer than 3 whole seconds or repetitions)` : '';
  const within = known.length - faster - slower;
  if (known.length === 0) return { text: `the noise of every configuration is unknown (fewer than 3 whole seconds or repetitions): nothing tells this from a rerun's difference`, apart: true };
  if (faster + slower === 0)
    return {
      text: `within the noise in ${within === estimates.length ? 'every configuration' : `${within} of ${estimates.length} configurations`} (its ratio's 95 % interval holds 1)${noise}`,
      apart: false,
    };
  const side = [faster > 0 ? `faster in ${faster}` : '', slower > 0 ? `slower in ${slower}` : ''].filter(Boolean).join(', ');
  return { text: `beyond the noise (the ratio's 95 % interval clear of 1) ${side} of ${estimates.length} configurations${within > 0 ? `, within it in ${within}` : ''}${noise}`, apart: true };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Names short enough for table headers: the names themselves where they are, else the algorithms' ids where they
 * tell the runs apart (rsa2048, bp256), else A, B, C; the list of runs above the table says which is which.
 */
export function headerNames(runs: readonly RunResult[], names: readonly string[]): string[] {
  if (names.every((n) => n.length <= 12)) return [...names];
  const ids = runs.map((r) => (r.operation?.mix ? 'mix' : r.algorithm.id));
  if (new Set(ids).size === ids.length) return ids;
  return runs.map((_, i) => String.fromCharCode(65 + (i % 26)));
}

/** The side-by-side table (a model for Markdown and the terminal) and the sentences under it. */
export interface ComparisonSummary {
  /** What the columns hold: the unit, what the ratios are to, what "ref." is. */
  caption: string;
  table: TableModel;
  /** The sentences after the table, '' between paragraphs. */
  lines: string[];
}

/**
 * The side-by-side table and its conclusions: per configuration each run's throughput and its ratio to the first
 * run, the published reference beside it where one is given (its own ratio for the same pair of algorithms), and
 * the median ratio over the configurations — a median, so that one odd configuration does not move it. Headers
 * carry short names (`headerNames`) and the caption the unit; the sentences, the full names.
 */
export function comparisonSummary(runs: readonly RunResult[], names: readonly string[] = runs.map((r) => wordsOf(r).title), reference?: Reference): ComparisonSummary {
  const rows = compareThroughput(runs);
  const refs = runs.map((r) => referenceThroughput(reference, r.algorithm.id));
  const withReference = refs.some((m) => m.size > 0);
  const rate = sharedRate(runs);
  const short = headerNames(runs, names);
  // The unit once, above the table, and the reference only for the runs it has figures for.
  const referenced = refs.map((_, i) => i).filter((i) => refs[i]!.size > 0);
  const head = ['Configuration', ...short, ...short.slice(1).map((n) => `${n}/${short[0]}`)];
  if (withReference) head.push(...referenced.map((i) => `ref. ${short[i]}`), ...referenced.filter((i) => i > 0 && refs[0]!.size > 0).map((i) => `ref. ${short[i]}/${short[0]}`));
  const table = rows.map((row) => {
    const cells: (string | number)[] = [
      configurationName(row),
      ...row.throughputs.map((t) => fixed(t, 1)),
      // The ratio with its 95 % interval from the runs' own noise, as compare gives it.
      ...row.changes.slice(1).map((e) => (e === null ? '–' : ratioText(e))),
    ];
    if (withReference) {
      const ref = refs.map((m) => m.get(row.tokens) ?? null);
      cells.push(...referenced.map((i) => fixed(ref[i], 1)), ...referenced.filter((i) => i > 0 && refs[0]!.size > 0).map((i) => fixed(ref[i] !== null && ref[0] ? ref[i]! / ref[0] : null, 2)));
    }
    return cells;
  });
  const lines: string[] = [];
  const caption = `${rate}${runs.length > 1 ? `; …/${short[0]}: the ratio (×) to ${names[0]}, configuration by configuration, with its 95 % interval from the runs' own noise (± where its sides are alike)` : ''}${withReference ? `; ref.: ${reference!.tokenModel} (reference)` : ''}`;
  const summary = () => ({ caption, table: { head, rows: table, numeric: head.map((_, i) => i > 0) }, lines });
  const missing = runs.flatMap((r, i) => notMeasured(r).map((m) => `${names[i]}, ${configurationName(m)}: ${m.reason}.`));
  if (missing.length > 0) lines.push(`Not measured whole, so not set beside the others (–): ${missing.join(' ')}`, '');
  const unestablished = runs.flatMap((r, i) =>
    r.configurations.flatMap((c) => {
      const why = rateNotEstablished(c);
      return why ? [`${names[i]}, ${configurationName(c)}: ${why}.`] : [];
    }),
  );
  if (unestablished.length > 0) lines.push(`Rates not established, not set beside the others (–): ${unestablished.join(' ')}`, '');
  // At target rates every run serves the rate asked for: a throughput ratio would only say so.
  if (runs.every((r) => r.plan.targetRate)) {
    lines.push(
      'These runs were made at target rates, where the throughput is the rate asked for: compare their response times and capacities (`hsm-bench compare BASELINE CANDIDATE`), not these ratios.',
    );
    return summary();
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
    const apart = apartness(rows, i + 1);
    const reference = refM !== null ? `; in the reference, ${fixed(refM, 2)}×` : '';
    lines.push(
      m === null
        ? `No configuration was run by both ${names[0]} and ${name}.`
        : apart?.apart === false
          ? `${name} is not told apart from ${names[0]}: its throughput is ${fixed(m, 2)}× theirs (median over the configurations both ran)${reference}, ${apart.text}.`
          : `${name} is ${fixed(m, 2)}× as fast as ${names[0]} (median over the configurations both ran)${reference}${apart ? `: ${apart.text}` : ''}.`,
    );
  });
  if (withReference) {
    lines.push('', `Reference: ${reference!.tokenModel}, ${reference!.source}.`);
    // Software tokens beside a published smart card: rates differ by orders of magnitude; only shapes compare.
    if (runs.some((r) => r.backend.kind === 'embedded-softhsm2')) {
      lines.push(`The measured runs are SoftHSM2 software tokens on the hosts that ran them, the reference is ${reference!.tokenModel} hardware: compare the ratios and the scaling, not the rates.`);
    }
  }
  return summary();
}

/** The comparison's table in Markdown and the sentences under it. */
export function comparisonMarkdownBody(runs: readonly RunResult[], names: readonly string[] = runs.map((r) => wordsOf(r).title), reference?: Reference): string {
  const { caption, table, lines } = comparisonSummary(runs, names, reference);
  return [`Throughput in ${caption}.`, '', markdownTable(table.head, table.rows, table.numeric), '', ...lines, ''].join('\n');
}

/** The comparison for the terminal (`report A B`): which run is which, the table fitted to the width, the ratios. */
export function renderComparisonText(runs: readonly RunResult[], reference?: Reference, columns?: number): string {
  const names = distinctNames(runs);
  const short = headerNames(runs, names);
  const { caption, table, lines } = comparisonSummary(runs, names, reference);
  return (
    [
      ...runs.map((r, i) => `${short[i]}: ${short[i] === names[i] ? '' : `${names[i]}, `}run ${r.runId}`),
      `throughput in ${caption}`,
      fitTable(table.head, table.rows, columns),
      ...lines.filter((l) => l !== ''),
    ].join('\n') + '\n'
  );
}

/** comparison.md of `report A B …` and `compare`: which runs, on which tokens, then the table and the chart. */
export function renderComparisonMarkdown(runs: readonly RunResult[], chartFile: string | undefined, reference?: Reference, extra: string[] = []): string {
  const names = distinctNames(runs);
  const shortNames = headerNames(runs, names);
  return [
    `# hsm-bench: ${names.join(' vs ')}`,
    '',
    `Runs ${runs.map((r) => `\`${r.runId}\``).join(', ')}, on tokens ${runs[0]!.tokens.map((t) => `${t.label} (serial ${serialShown(t.serial)})`).join(', ')}.`,
    '',
    ...runs.map((r, i) => {
      const short = shortNames[i]!;
      const command = r.commandLine ? `: \`${r.commandLine}\`` : '';
      return `- ${short === names[i] ? `**${short}**` : `**${short}**: ${names[i]}`}, run \`${r.runId}\` (${r.startedAt.slice(0, 16).replace('T', ' ')}, ${r.host.hostname}, ${r.module.libraryDescription} ${r.module.libraryVersion})${command}`;
    }),
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

/**
 * One group of bars per configuration, one bar per run in the order the runs were given, each run named with its
 * id in the legend; where a published reference is given, a pale bar of each run's colour beside it for the
 * reference's figure. A smart card beside a software token differs by orders of magnitude: then the axis is
 * logarithmic, and says so.
 */
export function comparisonChart(runs: readonly RunResult[], names: readonly string[] = distinctNames(runs), reference?: Reference): ChartConfiguration {
  const rows = compareThroughput(runs);
  const refs = runs.map((r) => referenceThroughput(reference, r.algorithm.id));
  // Beside each run's bar after the first, a thin bar from the low to the high end of its ratio's 95 % interval
  // (times the first run's throughput): where it holds the first run's bar top, the two are not told apart.
  const datasets: ChartDataset<'bar', (number | [number, number] | null)[]>[] = runs.flatMap((r, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const bar: ChartDataset<'bar', (number | [number, number] | null)[]> = { label: `${names[i]!} (run ${r.runId})`, data: rows.map((row) => row.throughputs[i]!), backgroundColor: color };
    if (i === 0) return [bar];
    const interval = rows.map((row): [number, number] | null => {
      const e = row.changes[i];
      const first = row.throughputs[0];
      return e && e.low !== null && e.high !== null && first ? [first * e.low, first * e.high] : null;
    });
    if (interval.every((x) => x === null)) return [bar];
    return [
      bar,
      {
        label: `${runs.length > 2 ? `run ${r.runId}: ` : ''}95 % interval of the ratio to the first run, from the runs' own noise`,
        data: interval,
        backgroundColor: `${color}30`,
        borderColor: color,
        borderWidth: 2,
        barPercentage: 0.35,
      },
    ];
  });
  refs.forEach((m, i) => {
    if (m.size === 0) return;
    const color = PALETTE[i % PALETTE.length]!;
    datasets.push({
      label: `${names[i]!}: ${reference!.tokenModel} (reference)`,
      data: rows.map((row) => m.get(row.tokens) ?? null),
      backgroundColor: `${color}40`,
      borderColor: color,
      borderWidth: 2,
    });
  });
  const ys = datasets.flatMap((d) => d.data.flatMap((y) => (y === null ? [] : Array.isArray(y) ? y : [y]))).filter((y) => y > 0);
  const nouns = new Set(runs.map((r) => wordsOf(r).nouns)).size === 1 ? wordsOf(runs[0]!).nouns : 'operations';
  const logScale = ys.length > 0 && Math.max(...ys) / Math.min(...ys) > 50;
  return {
    type: 'bar',
    data: { labels: rows.map(configurationName), datasets },
    options: {
      plugins: plugins(`Throughput per configuration: ${names.join(' vs ')}`, chartStamp(runs[0]!, `${runs.length} runs`)),
      scales: {
        x: axis('configuration'),
        y: logScale ? logAxis(`${nouns} per second`, ys) : { beginAtZero: true, ...axis(`${nouns} per second`) },
      },
    },
  } as ChartConfiguration;
}
