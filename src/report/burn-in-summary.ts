import { operationsTable } from './table-model.js';
import { wordsOf } from '../operations/words.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import { ExitCode } from '../core/errors.js';
import { exitCodeFor, type JudgedRun } from '../verdict/verdict.js';
import { backendLine, configurationName, fixed, planLine, tokenLine } from './describe-run.js';
import { fitTable } from './fit-table.js';
import { plural } from '../core/plural.js';

/**
 * The verdict is the run's exit code in words: one judgement, the same as the exit code and the JUnit file.
 * Without a judgement (a report regenerated later), the records' own: failed signatures, lost workers.
 */
export function burnInVerdict(r: RunResult, judged: JudgedRun | undefined): string {
  const c = r.configurations[0]!;
  const w = wordsOf(r);
  const failed = `${plural(c.operationsFailed, w.noun, w.nouns)} failed${c.workerIssues.length > 0 ? `, ${plural(c.workerIssues.length, 'session')} stopped (see the state of each token)` : ''}`;
  return {
    [ExitCode.interrupted]: 'INTERRUPTED: partial results (resume with --resume)',
    [ExitCode.thresholdFailed]: `FAILED: a threshold or the baseline check failed (see the checks)${c.operationsFailed > 0 ? `; ${failed}` : ''}`,
    [ExitCode.operationsFailed]: `FAILED: ${failed}`,
    [ExitCode.ok]: `PASSED: no ${w.noun} failed`,
  }[exitCodeFor([judged ?? { name: '', result: r, thresholds: [] }]) as number]!;
}

/** Each token over a burn-in (terminal summary and report.md alike): its counts, latency, gaps, outages and state at the end. */
export function burnInTokenTable(r: RunResult, c: ConfigurationResult): { head: string[]; rows: (string | number)[][] } {
  const w = wordsOf(r);
  const head = ['Slot', 'Token', 'Serial', w.Nouns, 'Failed', `${w.Nouns}/s`, 'p50 (ms)', 'p99 (ms)', 'Longest gap (s)', 'Outages (count, s)', 'State at the end'];
  const rows = c.perToken.map((t) => {
    const issue = c.workerIssues.find((i) => i.token === t.token);
    const state = issue ? issue.message : t.stillFailingS !== null && t.stillFailingS !== undefined ? `failing for ${fixed(t.stillFailingS, 1)} s` : 'ok';
    return [
      t.slotId,
      t.label,
      t.serial,
      t.operationsOk,
      t.operationsFailed,
      fixed(t.throughputPerS, 2),
      fixed(t.latencyMs?.p50, 2),
      fixed(t.latencyMs?.p99, 2),
      fixed((t.longestGapMs ?? 0) / 1000, 3),
      `${t.outages ?? 0} (${fixed(t.outageS, 1)})`,
      state,
    ];
  });
  return { head, rows };
}

/** How the burn-in's process died and was continued, and records a resume accepted as lost: in words, for the summary and report.md. */
export function burnInMishaps(r: RunResult): string[] {
  const restarts = (r.burnIn?.restarts ?? []).map(
    (x, i) =>
      `restart ${i + 1}: at ${x.at} the process ${x.signal !== null ? `was killed by ${x.signal} (a PKCS#11 module crashed it)` : `ended with exit code ${x.exitCode}`}, with ${x.recordsOnDisk} records on disk; the burn-in went on from them`,
  );
  const lost = (r.burnIn?.lostRecords ?? []).map(
    (l) =>
      `records lost: at ${l.at} a resume found ${l.recordsOnDisk} records where the checkpoint had counted ${l.checkpointRecords} on disk; the ${l.checkpointRecords - l.recordsOnDisk} lost were made again (--accept-lost-records)`,
  );
  return [...restarts, ...lost];
}

/** At a target rate: the schedule kept or not, and what a client waited (from each call's intended start). */
export const openLoopLine = (o: NonNullable<ConfigurationResult['openLoop']>) =>
  `at ${o.targetRatePerS}/s (open loop): achieved ${fixed(o.achievedRatePerS, 1)}/s${o.keptUp ? '' : ' (fell behind)'}; response (ms) p50 ${fixed(o.responseMs?.p50, 2)}, p99 ${fixed(o.responseMs?.p99, 2)}, max ${fixed(o.responseMs?.max, 2)}; late ${fixed(o.late.sharePct, 1)} %${o.notStarted > 0 ? `; ${o.notStarted} not started` : ''}`;

/** The seed's burn-in summary (start, stop, elapsed, tests performed, tests failed) with what it lacked. */
export function renderBurnInSummary(r: RunResult, judged: JudgedRun): string {
  const c = r.configurations[0]!;
  const performed = c.operationsOk + c.operationsFailed;
  const { head, rows } = burnInTokenTable(r, c);
  const byOperation = operationsTable(r);
  const w = wordsOf(r);
  const failures = Object.entries(c.failuresByCkr);
  return (
    [
      `hsm-bench ${r.tool.version} burn-in: ${w.title} with ${r.mechanism.name} on ${configurationName(c)}`,
      `backend: ${backendLine(r)}`,
      `tokens:  ${tokenLine(r)}`,
      `plan:    ${planLine(r)}`,
      `started ${r.startedAt}, stopped ${r.finishedAt}; measured time ${fixed(c.durationS, 1)} s${(r.burnIn?.segments.length ?? 1) > 1 ? ` over ${r.burnIn!.segments.length} segments (resumed)` : ''}`,
      `${w.nouns} performed: ${performed}; failed: ${c.operationsFailed}; checked on the host: ${c.operationsVerified}; throughput ${fixed(c.throughputPerS, 2)}/s`,
      `latency (ms): p50 ${fixed(c.latencyMs?.p50, 2)}, p90 ${fixed(c.latencyMs?.p90, 2)}, p99 ${fixed(c.latencyMs?.p99, 2)}, max ${fixed(c.latencyMs?.max, 2)}`,
      ...(c.openLoop ? [openLoopLine(c.openLoop)] : []),
      ...(failures.length > 0 ? [`failures by status: ${failures.map(([k, n]) => `${k} ×${n}`).join(', ')}`] : []),
      ...burnInMishaps(r),
      fitTable(head, rows),
      ...(byOperation ? ['per operation:', fitTable(byOperation.head, byOperation.rows)] : []),
      `verdict: ${burnInVerdict(r, judged)}`,
    ].join('\n') + '\n'
  );
}
