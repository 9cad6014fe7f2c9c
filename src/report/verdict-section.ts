import type { RunResult, VerdictCheck } from '../model/run-result.js';
import { ExitCode } from '../core/errors.js';
import { exitCodeFor, moduleCrashes } from '../verdict/verdict.js';
import { NOT_CHECKED, wordsOf, type OperationWords } from '../operations/words.js';
import { plural } from '../core/plural.js';
import { configurationName } from './describe-run.js';
import { moduleCrashText } from './crash-text.js';
import { outcomeText } from './verdict-tables.js';

const whereOf = (c: VerdictCheck) => (c.configuration === null ? 'run' : configurationName(c.configuration));

/** Said beside a verdict that counts the calls: an output never checked on the host only returned CKR_OK. */
export function uncheckedText(r: RunResult, w: OperationWords): string {
  if (r.operation?.hostCheck === 'not-checked' || r.operation?.checkSkipped !== undefined) return ` (${w.nouns} ${NOT_CHECKED})`;
  return r.plan.verify.mode === 'none' ? ` (${w.nouns} ${NOT_CHECKED}: --verify none)` : '';
}

/**
 * The run's verdict in words, the same as its exit code and JUnit file: the one run.json keeps (`verdict`), naming
 * each failed check; without one (a run killed before it was judged, an older run), the records' own: failed calls,
 * lost workers, a process the module crashed.
 */
export function verdictText(r: RunResult): string {
  const w = wordsOf(r);
  const code = r.verdict?.exitCode ?? exitCodeFor([{ name: '', result: r, thresholds: [] }]);
  if (code === ExitCode.interrupted) return `INTERRUPTED: partial results${r.command === 'burn-in' ? ' (resume with --resume)' : ''}`;
  const open = (r.verdict?.checks ?? []).filter((c) => c.outcome === 'inconclusive').length;
  // Inconclusive checks pass the exit code, not the reader: they are counted beside it.
  const unchecked = uncheckedText(r, w);
  if (code === ExitCode.ok)
    return `PASSED: no ${w.noun} failed${unchecked}${(r.verdict?.checks.length ?? 0) > 0 ? `, no check failed${open > 0 ? ` (${plural(open, 'check')} inconclusive)` : ''}` : ''}`;
  const configurations = r.configurations.flatMap((c) => c.repetitions ?? [c]);
  const failedCalls = configurations.reduce((n, c) => n + c.operationsFailed, 0);
  const stopped = configurations.reduce((n, c) => n + c.workerIssues.length, 0);
  const failedChecks = (r.verdict?.checks ?? []).filter((c) => c.outcome === 'fail').map((c) => `${c.name} (${whereOf(c)}): ${c.measured}, expected ${c.expected}`);
  const calls =
    failedCalls > 0 || stopped > 0
      ? `${plural(failedCalls, w.noun, w.nouns)} failed${unchecked}${stopped > 0 ? `, ${plural(stopped, 'session')} stopped${r.command === 'burn-in' ? ' (see the state of each token)' : ''}` : ''}`
      : null;
  // A verdict of 5 from before run.json kept its checks names none: it says so rather than point at a table it lacks.
  const checks =
    failedChecks.length > 0
      ? [`${plural(failedChecks.length, 'check')} failed: ${failedChecks.join('; ')}`]
      : code === ExitCode.thresholdFailed
        ? ['a check failed (run.json does not keep which)']
        : [];
  const crashed = moduleCrashes(r).length > 0 ? moduleCrashText(r) : null;
  return `FAILED: ${[...checks, ...(calls ? [calls] : []), ...(crashed ? [crashed] : [])].join('; ')}`;
}

/** The report's first section, as k6 puts its thresholds first: the verdict, then every check with its outcome (null: none). */
export function verdictLines(r: RunResult): { verdict: string; baseline: string | null; checks: { head: string[]; rows: string[][] } | null } {
  const checks = r.verdict?.checks ?? [];
  const baseline = r.verdict?.baseline;
  return {
    verdict: `${verdictText(r)}${r.verdict ? ` (exit code ${r.verdict.exitCode})` : ''}`,
    baseline: baseline ? `Against the baseline \`${baseline.runId}\`, allowing ${baseline.maxRegressionPct} % worse beyond the noise.` : null,
    checks: checks.length > 0 ? { head: ['Check', 'Configuration', 'Expected', 'Measured', 'Result'], rows: checks.map((c) => [c.name, whereOf(c), c.expected, c.measured, outcomeText(c)]) } : null,
  };
}
