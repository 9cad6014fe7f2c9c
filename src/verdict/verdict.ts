import { ExitCode } from '../core/errors.js';
import type { RunResult, RunVerdict, VerdictCheck } from '../model/run-result.js';
import { axesOf } from '../model/configuration.js';
import { compareRuns, ratioText, type RunComparison } from './compare.js';
import { evaluateThresholds, type ThresholdCheck, type Thresholds } from './thresholds.js';

/** Everything the verdict needs, read and validated before the run starts. */
export interface VerdictPlan {
  thresholds: Thresholds;
  baseline?: { result: RunResult; maxRegressionPct: number; force: boolean };
  strictLatency: boolean;
  /** Where the run's run.json goes as the next runs' baseline, if it passes its checks. */
  saveBaseline?: string;
}

/** A run with what was checked of it: the input of the exit code and of the JUnit report. */
export interface JudgedRun {
  name: string;
  result: RunResult;
  thresholds: ThresholdCheck[];
  comparison?: RunComparison;
}

/** Failed signatures or ended workers in any configuration, in any of its repetitions. */
export const operationsFailed = (r: RunResult) => r.configurations.flatMap((c) => c.repetitions ?? [c]).some((c) => c.operationsFailed > 0 || c.workerIssues.length > 0);

/** The times a module killed a burn-in's process (its supervisor continued it from disk): each is a failed check of the run. */
export const moduleCrashes = (r: RunResult) => r.burnIn?.restarts ?? [];

/**
 * Interrupted beats everything (the results are partial); a failed check (5) beats failed signatures or a process
 * the module crashed (4).
 */
export function exitCodeFor(runs: JudgedRun[]): ExitCode {
  if (runs.some((r) => r.result.interrupted)) return ExitCode.interrupted;
  if (runs.some((r) => r.thresholds.some((t) => t.outcome === 'fail') || r.comparison?.regressed)) return ExitCode.thresholdFailed;
  if (runs.some((r) => operationsFailed(r.result) || moduleCrashes(r.result).length > 0)) return ExitCode.operationsFailed;
  return ExitCode.ok;
}

/** Checks a finished run against its thresholds and, if given, a baseline run. */
export function judgeRun(name: string, result: RunResult, verdict: VerdictPlan): JudgedRun {
  const { thresholds, baseline, strictLatency } = verdict;
  return {
    name,
    result,
    thresholds: evaluateThresholds(result, thresholds, strictLatency),
    comparison: baseline ? compareRuns(baseline.result, result, baseline.maxRegressionPct, baseline.force, strictLatency) : undefined,
  };
}

/** A comparison row's changes in a few words (candidate / baseline, ± the noise): what the check measured. */
const changes = (r: RunComparison['rows'][number]) =>
  [
    `throughput ${ratioText(r.throughputRatio)}`,
    ...Object.entries(r.latencyRatios).map(([p, e]) => `${p} ${ratioText(e)}`),
    r.candidateFailures > 0 || r.baselineFailures > 0 ? `failures ${r.baselineFailures} → ${r.candidateFailures}` : null,
  ]
    .filter((x) => x !== null)
    .join(', ');

/**
 * The baseline comparison as checks, one per configuration (and capacity, and configuration not measured), as JUnit
 * has them. A configuration an interrupted candidate never measured whole is neither passed nor failed.
 */
function comparisonChecks(c: RunComparison, interrupted: boolean): VerdictCheck[] {
  const expected = `within ${c.maxRegressionPct} % of the baseline, beyond the noise`;
  return [
    ...c.rows.map((r): VerdictCheck => {
      const base = { name: 'baseline', configuration: axesOf(r), expected, measured: changes(r) };
      if (r.regressions.length > 0) return { ...base, outcome: 'fail', measured: `${base.measured}; regressed: ${r.regressions.join(', ')}` };
      return r.inconclusive.length > 0 ? { ...base, outcome: 'inconclusive', notJudged: `worse within the noise: ${r.inconclusive.join(', ')}` } : { ...base, outcome: 'pass' };
    }),
    ...c.notMeasured.map((m): VerdictCheck => ({
      name: 'baseline',
      configuration: axesOf(m),
      expected,
      measured: `not measured: ${m.reason}`,
      ...(interrupted ? { outcome: 'inconclusive', notJudged: 'not measured whole: the run was interrupted' } : { outcome: 'fail' }),
    })),
    ...(c.capacity ?? []).map((x): VerdictCheck => ({
      name: 'baseline-capacity',
      configuration: { tokens: x.tokens, threadsPerToken: x.threadsPerToken },
      expected: x.baselinePerS === null ? 'any (the baseline had none)' : `≥ ${x.baselinePerS}/s (the baseline's)`,
      measured: `${x.candidatePerS === null ? 'none' : `${x.candidatePerS}/s`}${x.missed.length > 0 ? ` (${x.missed.join(', ')})` : ''}`,
      ...(x.outcome === 'inconclusive'
        ? {
            outcome: 'inconclusive',
            notJudged: interrupted && x.missed.some((m) => m.includes('not measured')) ? 'not measured: the run was interrupted' : 'missed within the noise of an objective, or while the host stalled',
          }
        : { outcome: x.outcome }),
    })),
  ];
}

/** What run.json keeps of a judgement: the exit code and every check, so that `report` shows the verdict again. */
export function verdictOf(judged: JudgedRun): RunVerdict {
  const c = judged.comparison;
  return {
    exitCode: exitCodeFor([judged]),
    checks: [...judged.thresholds, ...(c ? comparisonChecks(c, judged.result.interrupted) : [])],
    ...(c ? { baseline: { runId: c.baselineRunId, maxRegressionPct: c.maxRegressionPct } } : {}),
  };
}
