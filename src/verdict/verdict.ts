import { ExitCode } from '../errors.js';
import type { RunResult } from '../result/run-result.js';
import { compareRuns, type RunComparison } from './compare.js';
import { evaluateThresholds, type ThresholdCheck, type Thresholds } from './thresholds.js';

/** A run with what was checked of it: the input of the exit code and of the JUnit report. */
export interface JudgedRun {
  name: string;
  result: RunResult;
  thresholds: ThresholdCheck[];
  comparison?: RunComparison;
}

export const signaturesFailed = (r: RunResult) => r.configurations.some((c) => c.signaturesFailed > 0 || c.workerIssues.length > 0);

/** Interrupted beats everything (the results are partial); a failed check (5) beats failed signatures (4). */
export function exitCodeFor(runs: JudgedRun[]): ExitCode {
  if (runs.some((r) => r.result.interrupted)) return ExitCode.interrupted;
  if (runs.some((r) => r.thresholds.some((t) => !t.passed) || r.comparison?.regressed)) return ExitCode.thresholdFailed;
  if (runs.some((r) => signaturesFailed(r.result))) return ExitCode.signaturesFailed;
  return ExitCode.ok;
}

/** Checks a finished run against its thresholds and, if given, a baseline run. */
export function judgeRun(name: string, result: RunResult, thresholds: Thresholds, baseline: { result: RunResult; maxRegressionPct: number; force: boolean } | undefined): JudgedRun {
  return {
    name,
    result,
    thresholds: evaluateThresholds(result, thresholds),
    comparison: baseline ? compareRuns(baseline.result, result, baseline.maxRegressionPct, baseline.force) : undefined,
  };
}
