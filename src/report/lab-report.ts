import { ExitCode } from '../core/errors.js';
import { exitCodeFor, type JudgedRun } from '../verdict/verdict.js';
import { incomparability } from '../verdict/compare.js';
import { comparisonMarkdownBody } from './comparison.js';
import type { NotRun } from './junit.js';
import { configurationName } from './describe-run.js';
import { comparisonResult, outcomeText } from './verdict-tables.js';
import { markdownTable, seedTable } from './markdown.js';
import { sizingAnswer } from './sizing-tables.js';

/**
 * Pairs of runs that differ only in their module (or host): same algorithm, mechanism, plan and token serials.
 * That is the seed's transport comparison (CT-API over libusb vs the PC/SC daemon, to the same tokens).
 */
export function transportPairs(runs: JudgedRun[]): [JudgedRun, JudgedRun][] {
  const pairs: [JudgedRun, JudgedRun][] = [];
  runs.forEach((a, i) =>
    runs.slice(i + 1).forEach((b) => {
      const differ = a.result.module.path !== b.result.module.path || a.result.host.hostname !== b.result.host.hostname;
      if (differ && incomparability(a.result, b.result).length === 0) pairs.push([a, b]);
    }),
  );
  return pairs;
}

const VERDICT_WORDS: Record<number, string> = {
  [ExitCode.ok]: 'passed',
  [ExitCode.operationsFailed]: 'operations failed',
  [ExitCode.thresholdFailed]: 'FAILED',
  [ExitCode.interrupted]: 'interrupted',
};
const verdictOf = (j: JudgedRun) => VERDICT_WORDS[exitCodeFor([j])]!;

/** The combined report of a lab run: every run's table and checks, and the transport comparisons. */
export function renderLabReport(runs: JudgedRun[], dirs: string[], charts: (string | undefined)[], notRun: NotRun[] = []): string {
  const out = [
    '# hsm-bench lab report',
    '',
    markdownTable(
      ['Run', 'Algorithm', 'Module', 'Run directory', 'Verdict'],
      [
        ...runs.map((j, i) => [
          j.name,
          j.result.algorithm.displayName,
          `${j.result.module.libraryDescription} ${j.result.module.libraryVersion}`,
          `[${dirs[i]!}](${dirs[i]!}/report.md)`,
          verdictOf(j),
        ]),
        ...notRun.map((n) => [n.name, n.workload, '', '', `not run: ${n.reason}`]),
      ],
      [false, false, false, false, false],
    ),
    '',
  ];
  for (const j of runs) {
    const answer = sizingAnswer(j.result);
    out.push(`## ${j.name}`, '', ...answer.map((l) => `- ${l}`), ...(answer.length > 0 ? [''] : []), seedTable(j.result), '');
    if (j.thresholds.length > 0)
      out.push(
        markdownTable(
          ['Threshold', 'Configuration', 'Expected', 'Measured', 'Result'],
          j.thresholds.map((t) => [t.name, t.configuration === null ? 'run' : configurationName(t.configuration), t.expected, t.measured, t.outcome === 'fail' ? '**FAIL**' : outcomeText(t)]),
        ),
        '',
      );
    if (j.comparison)
      out.push(
        markdownTable(
          ['Configuration', 'Baseline /s', 'Measured /s', 'Change', 'Result'],
          [
            ...j.comparison.rows.map((r) => [configurationName(r), r.baselineThroughputPerS.toFixed(1), r.candidateThroughputPerS.toFixed(1), `${r.throughputChangePct} %`, comparisonResult(r)]),
            ...j.comparison.notMeasured.map((m) => [configurationName(m), '', '', '', `**NOT MEASURED**: ${m.reason}`]),
          ],
        ),
        '',
      );
  }
  for (const n of notRun) out.push(`## ${n.name}`, '', `Not run: ${n.reason}. Its configurations (${n.configurations.map(configurationName).join(', ')}) were not measured.`, '');
  const pairs = transportPairs(runs);
  if (pairs.length > 0) out.push('## Transport comparison', '', 'Runs that differ only in the module (or host), with the same tokens:', '');
  pairs.forEach(([a, b], i) => {
    out.push(`### ${b.name} vs ${a.name}`, '', `${a.name}: ${a.result.module.path}; ${b.name}: ${b.result.module.path}.`, '', comparisonMarkdownBody([a.result, b.result], [a.name, b.name]));
    if (charts[i]) out.push(`![${b.name} vs ${a.name}](${charts[i]})`, '');
  });
  return out.join('\n');
}
