import { wordsOf } from '../operations/words.js';
import type { RunResult } from '../model/run-result.js';
import { fitTable } from './fit-table.js';
import { backendLine, busyHost, configurationName, lowConfidenceLines, planLine, runEnd, runEndText, tokenLine, workerIssueText } from './describe-run.js';
import { failureList } from './status-meaning.js';
import { operationsTable, scaleTable } from './table-model.js';
import { capacityTable, rateTable, saturationTable, sizingAnswer } from './sizing-tables.js';
import { closedLoopNote } from './latency-cells.js';

/** The seed's table (Configuration | Signatures | Duration | Signatures/s) with latency, failures and scaling efficiency. */
export function renderScaleTable(r: RunResult): string {
  // At target rates the figures are the response and service times and the schedule kept, not a flat-out rate.
  const table = r.plan.targetRate ? rateTable(r) : scaleTable(r);
  const lines = [
    `hsm-bench ${r.tool.version} scale: ${wordsOf(r).title} with ${r.mechanism.name}${runEnd(r) ? ` (${runEndText(runEnd(r)!).toUpperCase()}: partial results)` : ''}`,
    `backend: ${backendLine(r)}`,
    `tokens:  ${tokenLine(r)}`,
    `plan:    ${planLine(r)}`,
    // The answer a sizing run was for, before the detail it rests on.
    ...sizingAnswer(r),
    fitTable(table.head, table.rows),
  ];
  for (const extra of [capacityTable(r), saturationTable(r)]) if (extra) lines.push(fitTable(extra.head, extra.rows));
  const byOperation = operationsTable(r);
  if (byOperation) lines.push('per operation:', fitTable(byOperation.head, byOperation.rows));
  const issues = r.configurations.flatMap((c) => c.workerIssues.map((i) => `${configurationName(c)}: ${workerIssueText(r, i)}`));
  for (const c of r.configurations) {
    if (Object.keys(c.failuresByCkr).length > 0) lines.push(`failures with ${configurationName(c)}: ${failureList(r, c.failuresByCkr)}`);
  }
  if (issues.length > 0) lines.push(...issues.map((i) => `worker issue: ${i}`));
  const busy = busyHost(r);
  if (busy) lines.push(`note: ${busy}`);
  lines.push(...lowConfidenceLines(r).map((l) => `note: ${l}`));
  // Flat out, the service time's tail is understated: said once, of the largest configuration, with its correction.
  const loop = r.configurations.length > 0 ? closedLoopNote(r.configurations[r.configurations.length - 1]!) : null;
  if (loop) lines.push(`note: ${configurationName(r.configurations[r.configurations.length - 1]!)}: ${loop}`);
  return lines.join('\n') + '\n';
}
