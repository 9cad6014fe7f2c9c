import type { RunResult } from '../result/run-result.js';
import { fitTable } from './fit-table.js';
import { backendLine, configurationName, fixed, lowConfidenceLines, perTokenRange, planLine, throughputText, tokenLine, workerIssueText } from './describe-run.js';

export const SCALE_COLUMNS = ['Configuration', 'Signatures', 'Duration (s)', 'Signatures/s (range)', 'Per token sig/s (min–max)', 'p50 (ms)', 'p99 (ms)', 'Failures', 'Efficiency'];

/** The seed's table (Configuration | Signatures | Duration | Signatures/s) with latency, failures and scaling efficiency. */
export function renderScaleTable(r: RunResult): string {
  const rows = r.configurations.map((c) => [
    `${configurationName(c)} × ${r.algorithm.displayName}`,
    c.signaturesOk,
    fixed(c.durationS, 2),
    throughputText(c),
    perTokenRange(c),
    fixed(c.latencyMs?.p50, 2),
    fixed(c.latencyMs?.p99, 2),
    c.signaturesFailed,
    fixed(c.efficiency, 2),
  ]);
  const lines = [
    `hsm-bench ${r.tool.version} scale: ${r.algorithm.displayName} with ${r.mechanism.name}${r.interrupted ? ' (INTERRUPTED: partial results)' : ''}`,
    `backend: ${backendLine(r)}`,
    `tokens:  ${tokenLine(r)}`,
    `plan:    ${planLine(r)}`,
    fitTable(SCALE_COLUMNS, rows),
  ];
  const issues = r.configurations.flatMap((c) => c.workerIssues.map((i) => `${configurationName(c)}: ${workerIssueText(r, i)}`));
  for (const c of r.configurations) {
    const failures = Object.entries(c.failuresByCkr);
    if (failures.length > 0) lines.push(`failures with ${configurationName(c)}: ${failures.map(([name, n]) => `${name} ×${n}`).join(', ')}`);
  }
  if (issues.length > 0) lines.push(...issues.map((i) => `worker issue: ${i}`));
  lines.push(...lowConfidenceLines(r).map((l) => `note: ${l}`));
  return lines.join('\n') + '\n';
}
