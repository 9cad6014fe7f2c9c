import { GATED_PERCENTILES, ratioText, type GatedPercentile, type RunComparison } from '../verdict/compare.js';
import type { ThresholdCheck } from '../verdict/thresholds.js';
import { configurationName, fixed } from './describe-run.js';
import { fitTable } from './fit-table.js';
import type { TableModel } from './table-model.js';

export const outcomeText = (c: Pick<ThresholdCheck, 'outcome' | 'notJudged'>) => (c.outcome === 'pass' ? 'pass' : c.outcome === 'fail' ? 'FAIL' : `inconclusive: ${c.notJudged ?? 'not judged'}`);
/** A comparison row's result: failed checks, then inconclusive ones, else ok. */
export const comparisonResult = (r: RunComparison['rows'][number]) =>
  [r.regressions.length > 0 ? `REGRESSION: ${r.regressions.join(', ')}` : '', r.inconclusive.length > 0 ? `inconclusive: ${r.inconclusive.join(', ')}` : ''].filter(Boolean).join('; ') || 'ok';
const perS = (v: number | null) => (v === null ? 'none' : `${v}/s`);
const pct = (v: number | null) => (v === null ? '–' : `${v > 0 ? '+' : ''}${v.toFixed(1)} %`);

export function renderThresholdChecks(checks: ThresholdCheck[], columns?: number): string {
  return (
    fitTable(
      ['Threshold', 'Configuration', 'Expected', 'Measured', 'Result'],
      checks.map((c) => [c.name, c.configuration === null ? 'run' : configurationName(c.configuration), c.expected, c.measured, outcomeText(c)]),
      columns,
    ) + '\n'
  );
}

/** A comparison against a baseline as a table (terminal and Markdown) and the lines under it. */
export function comparisonVerdict(cmp: RunComparison): { table: TableModel; lines: string[] } {
  const percentiles = GATED_PERCENTILES.filter((p) => cmp.rows.some((r) => r.latencyRatios[p] !== undefined));
  const gated = (p: GatedPercentile) => cmp.latencyPercentiles.includes(p);
  const head = [
    'Configuration',
    'Baseline /s',
    'Candidate /s',
    'Change',
    'Throughput (cand/base)',
    ...percentiles.map((p) => `${p} (cand/base)${gated(p) ? '' : ', not judged'}`),
    'Failures (base → cand)',
    `Result (±${cmp.maxRegressionPct} %)`,
  ];
  const rows = cmp.rows.map((r) => [
    configurationName(r),
    fixed(r.baselineThroughputPerS, 1),
    fixed(r.candidateThroughputPerS, 1),
    pct(r.throughputChangePct),
    ratioText(r.throughputRatio),
    ...percentiles.map((p) => (r.latencyRatios[p] ? ratioText(r.latencyRatios[p]) : '–')),
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
          `(cand/base): the candidate's figure over the baseline's, ± its 95 % interval from the runs' own noise (their repetitions where repeated, else each run's per-second throughput and per-interval percentiles); a change fails only when the whole interval is beyond ±${cmp.maxRegressionPct} %. Latency judged on ${cmp.latencyPercentiles.join(', ')} (--percentiles).`,
        ]
      : [];
  const lines = [...noise, ...notMeasuredLines(cmp).map((l) => l.trimEnd()), ...capacity, ...cmp.warnings.map((w) => `warning: ${w}`)];
  return { table: { head, rows, numeric: head.map((_, i) => i > 0 && i < head.length - 1) }, lines };
}

/** `columns`: the width to fit (a terminal's); a file takes the grid whole. */
export function renderComparisonTable(cmp: RunComparison, columns?: number): string {
  const { table, lines } = comparisonVerdict(cmp);
  return fitTable(table.head, table.rows, columns) + '\n' + lines.map((l) => `${l}\n`).join('');
}

/** A line per configuration the candidate did not measure whole: each one a failure of the comparison. */
export function notMeasuredLines(cmp: RunComparison): string[] {
  return cmp.notMeasured.map((m) => `NOT MEASURED: ${configurationName(m)}: ${m.reason}\n`);
}
