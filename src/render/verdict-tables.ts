import Table from 'cli-table3';
import type { RunComparison } from '../verdict/compare.js';
import type { ThresholdCheck } from '../verdict/thresholds.js';
import { configurationName, fixed } from './describe-run.js';

const plain = { head: [] as string[], border: [] as string[] };
const pct = (v: number | null) => (v === null ? '–' : `${v > 0 ? '+' : ''}${v.toFixed(1)} %`);

export function renderThresholdChecks(checks: ThresholdCheck[]): string {
  const table = new Table({ head: ['Threshold', 'Configuration', 'Expected', 'Measured', 'Result'], style: plain });
  for (const c of checks) table.push([c.name, c.configuration === null ? 'run' : configurationName({ tokens: c.configuration }), c.expected, c.measured, c.passed ? 'pass' : 'FAIL']);
  return table.toString() + '\n';
}

export function renderComparisonTable(cmp: RunComparison): string {
  const table = new Table({
    head: ['Configuration', 'Baseline sig/s', 'Candidate sig/s', 'Change', 'p50 change', 'p99 change', 'Failures (base → cand)', `Result (±${cmp.maxRegressionPct} %)`],
    style: plain,
  });
  for (const r of cmp.rows) {
    table.push([
      configurationName(r),
      fixed(r.baselineThroughputPerS, 1),
      fixed(r.candidateThroughputPerS, 1),
      pct(r.throughputChangePct),
      pct(r.p50ChangePct),
      pct(r.p99ChangePct),
      `${r.baselineFailures} → ${r.candidateFailures}`,
      r.regressions.length > 0 ? `REGRESSION: ${r.regressions.join(', ')}` : 'ok',
    ]);
  }
  return table.toString() + '\n';
}
