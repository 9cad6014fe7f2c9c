import { GATED_PERCENTILES, ratioText, type ChangeEstimate, type GatedPercentile, type RunComparison } from '../verdict/compare.js';
import type { ThresholdCheck } from '../verdict/thresholds.js';
import { configurationName, fixed } from './describe-run.js';
import { fitTable, gridWidth, TERMINAL_COLUMNS } from './fit-table.js';
import type { TableModel } from './table-model.js';

export const outcomeText = (c: Pick<ThresholdCheck, 'outcome' | 'notJudged'>) => (c.outcome === 'pass' ? 'pass' : c.outcome === 'fail' ? 'FAIL' : `inconclusive: ${c.notJudged ?? 'not judged'}`);
/** A comparison row's result: failed checks, then inconclusive ones, else ok. */
export const comparisonResult = (r: RunComparison['rows'][number]) =>
  [r.regressions.length > 0 ? `REGRESSION: ${r.regressions.join(', ')}` : '', r.inconclusive.length > 0 ? `inconclusive: ${r.inconclusive.join(', ')}` : ''].filter(Boolean).join('; ') || 'ok';
const perS = (v: number | null) => (v === null ? 'none' : `${v}/s`);
/** A ratio in a column headed "×": without its own "×", and its noise unknown as "(noise ?)", so the grid keeps within 100 columns. */
const ratioCell = (e: ChangeEstimate) => ratioText(e).replace(' × (noise unknown)', ' (noise ?)').replace(/ ×/, '');

/**
 * The terminal's checks: why a check was not judged is a sentence, which in a cell made the table hundreds of columns
 * wide; it goes under the table, numbered from its row.
 */
export function renderThresholdChecks(checks: ThresholdCheck[], columns?: number): string {
  const notes: string[] = [];
  const rows = checks.map((c) => {
    const where = c.configuration === null ? 'run' : configurationName(c.configuration);
    if (c.outcome === 'inconclusive') notes.push(`[${notes.length + 1}] ${c.name} (${where}): ${outcomeText(c)}`);
    return [c.name, where, c.expected, c.measured, c.outcome === 'inconclusive' ? `inconclusive [${notes.length}]` : outcomeText(c)];
  });
  return fitTable(['Threshold', 'Configuration', 'Expected', 'Measured', 'Result'], rows, columns) + '\n' + notes.map((n) => `${n}\n`).join('');
}

/** A comparison against a baseline as a table (terminal and Markdown) and the lines under it. */
export function comparisonVerdict(cmp: RunComparison): { table: TableModel; lines: string[] } {
  const percentiles = GATED_PERCENTILES.filter((p) => cmp.rows.some((r) => r.latencyRatios[p] !== undefined));
  const gated = (p: GatedPercentile) => cmp.latencyPercentiles.includes(p);
  // Short headers, the words once under the table: the grid stays a terminal's width.
  const head = ['Config', 'Base/s', 'Cand/s', 'Rate ×', ...percentiles.map((p) => `${p} ×${gated(p) ? '' : '*'}`), 'Failed', `Result ±${cmp.maxRegressionPct} %`];
  const rows = cmp.rows.map((r) => [
    configurationName(r),
    fixed(r.baselineThroughputPerS, 1),
    fixed(r.candidateThroughputPerS, 1),
    ratioCell(r.throughputRatio),
    ...percentiles.map((p) => (r.latencyRatios[p] ? ratioCell(r.latencyRatios[p]) : '–')),
    `${r.baselineFailures} → ${r.candidateFailures}`,
    comparisonResult(r),
  ]);
  const capacity = (cmp.capacity ?? []).map(
    (c) =>
      `capacity with ${configurationName(c)}: ${perS(c.baselinePerS)} → ${perS(c.candidatePerS)}: ${
        c.outcome === 'pass' ? 'ok' : `${c.outcome === 'fail' ? 'REGRESSION' : 'inconclusive'} (${c.missed.join(', ')})`
      }`,
  );
  const noise =
    cmp.rows.length > 0
      ? [
          `×: the candidate's figure over the baseline's (rate, latency percentiles; * shown, not judged) with its 95 % interval (± where its sides are alike, else its bounds) from the runs' own noise (their repetitions where repeated, else each run's per-second throughput and per-interval percentiles); a change fails only when the whole interval is beyond ±${cmp.maxRegressionPct} %; (noise ?): a run with too few seconds or repetitions to tell its noise. Failed: failed calls, baseline → candidate. Latency judged on ${cmp.latencyPercentiles.join(', ')} (--percentiles).`,
        ]
      : [];
  const lines = [...noise, ...notMeasuredLines(cmp).map((l) => l.trimEnd()), ...capacity, ...cmp.warnings.map((w) => `warning: ${w}`)];
  return { table: { head, rows, numeric: head.map((_, i) => i > 0 && i < head.length - 1) }, lines };
}

/**
 * `columns`: the width to fit (a terminal's); a file takes the grid whole. A row's regressions and inconclusive
 * changes are sentences: under the table, numbered from the row's Result, so the grid stays a terminal's width.
 */
export function renderComparisonTable(cmp: RunComparison, columns?: number): string {
  const { table, lines } = comparisonVerdict(cmp);
  const notes: string[] = [];
  const rows = table.rows.map((row, i) => {
    const result = comparisonResult(cmp.rows[i]!);
    if (result === 'ok') return row;
    notes.push(`[${notes.length + 1}] ${configurationName(cmp.rows[i]!)}: ${result}`);
    return [...row.slice(0, -1), `${cmp.rows[i]!.regressions.length > 0 ? 'REGRESSION' : 'inconclusive'} [${notes.length}]`];
  });
  // The percentiles shown and not judged (marked *) stay in comparison.md: the terminal keeps what decides; a ratio's
  // cell without its ×, which its header says. Where intervals given as bounds would pass 100 columns, the two rates
  // and the failures go too (Rate × carries the rates, a failure that regressed is in the row's note; comparison.md
  // and --json have them all).
  const bare = (cell: string | number) => (typeof cell === 'string' ? cell.replace(/ ×(?= |$)/, '') : cell);
  const grid = (dropRates: boolean) => {
    const kept = table.head.map((h, i) => (h.endsWith('*') || (dropRates && (h.endsWith('/s') || h.startsWith('Fail'))) ? -1 : i)).filter((i) => i >= 0);
    return { head: kept.map((i) => table.head[i]!), rows: rows.map((cells) => kept.map((i) => bare(cells[i]!))) };
  };
  const full = grid(false);
  const shown = gridWidth(full.head, full.rows) <= TERMINAL_COLUMNS ? full : grid(true);
  return fitTable(shown.head, shown.rows, columns) + '\n' + [...notes, ...lines].map((l) => `${l}\n`).join('');
}

/** A line per configuration the candidate did not measure whole: each one a failure of the comparison. */
export function notMeasuredLines(cmp: RunComparison): string[] {
  return cmp.notMeasured.map((m) => `NOT MEASURED: ${configurationName(m)}: ${m.reason}\n`);
}
