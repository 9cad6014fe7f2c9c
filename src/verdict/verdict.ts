import { ExitCode } from '../core/errors.js';
import type { RunResult } from '../model/run-result.js';
import { compareRuns, type RunComparison } from './compare.js';
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
