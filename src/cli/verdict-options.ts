import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { usageError } from '../errors.js';
import { renderComparisonTable, renderThresholdChecks } from '../render/verdict-tables.js';
import { readRunJson } from '../result/run-directory.js';
import type { RunResult } from '../result/run-result.js';
import { renderJunit } from '../verdict/junit.js';
import { checkThresholdsFitPlan, parseThresholds, type ThresholdFlags, type Thresholds } from '../verdict/thresholds.js';
import type { JudgedRun } from '../verdict/verdict.js';

/** Thresholds, baseline and JUnit output: the CI flags of scale and run. */
export interface VerdictFlags extends ThresholdFlags {
  baseline?: string;
  maxRegression: string;
  force?: boolean;
  junit?: string;
}

export function addVerdictOptions(command: Command): Command {
  return command
    .option('--max-failures <count>', 'fail (exit 5) if more signatures than this fail')
    .option('--min-throughput <rate>', 'fail below this many signatures/s: one number for the largest configuration, or TOKENS:RATE,…')
    .option('--max-p99 <ms>', 'fail if any configuration has a p99 latency above this')
    .option('--min-efficiency <ratio>', 'fail if any configuration scales below this efficiency (needs a 1-token configuration)')
    .option('--baseline <run>', 'compare with an earlier run (directory or run.json); fail on regression')
    .option('--max-regression <pct>', 'allowed throughput drop / latency rise against the baseline, in %', '10')
    .option('--force', 'compare with the baseline even if tokens, algorithm or plan differ')
    .option('--junit <file>', 'write a JUnit XML report of configurations, thresholds and baseline checks');
}

export interface VerdictPlan {
  thresholds: Thresholds;
  baseline?: { result: RunResult; maxRegressionPct: number; force: boolean };
}

/** Everything the verdict needs, read and validated before the run starts. */
export function verdictPlan(f: VerdictFlags, tokenCounts: number[]): VerdictPlan {
  const thresholds = parseThresholds(f);
  checkThresholdsFitPlan(thresholds, tokenCounts);
  const maxRegressionPct = Number(f.maxRegression);
  if (!(maxRegressionPct >= 0)) throw usageError(`--max-regression must be a percentage ≥ 0, not '${f.maxRegression}'`);
  return { thresholds, baseline: f.baseline !== undefined ? { result: readRunJson(f.baseline), maxRegressionPct, force: f.force === true } : undefined };
}

/** Prints what was checked (to `out`) and writes the JUnit file. */
export function reportVerdict(runs: JudgedRun[], junit: string | undefined, out: (text: string) => void): void {
  for (const run of runs) {
    if (run.thresholds.length > 0) out(`thresholds (${run.name}):\n${renderThresholdChecks(run.thresholds)}`);
    if (run.comparison) out(`against the baseline (${run.name}):\n${renderComparisonTable(run.comparison)}`);
  }
  if (junit !== undefined) writeFileSync(junit, renderJunit(runs));
}
