import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { usageError, writeError } from '../errors.js';
import { renderComparisonTable, renderThresholdChecks } from '../render/verdict-tables.js';
import { readRunJson } from '../result/run-directory.js';
import type { RunResult } from '../result/run-result.js';
import { samePlan } from '../verdict/compare.js';
import { renderJunit } from '../verdict/junit.js';
import { checkThresholdsFitPlan, parseThresholds, type Thresholds, type VerdictFlags } from '../verdict/thresholds.js';

export type { VerdictFlags };
import type { JudgedRun } from '../verdict/verdict.js';

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

/** A file the run will write at its end, checked before it starts: a run must not sign for hours, then fail on a path. */
export function checkWritableFile(flag: string, path: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw usageError(`${flag} ${path} is a directory`, `give a file name, e.g. ${flag} ${join(path, 'hsm-bench.xml')}`);
  const parent = dirname(resolve(path));
  if (!existsSync(parent) || !statSync(parent).isDirectory()) throw usageError(`${flag} ${path}: the folder ${parent} does not exist`, 'create it first, or write the file elsewhere');
  try {
    accessSync(parent, constants.W_OK);
  } catch (error) {
    throw usageError(`${flag} ${path}: the folder ${parent} cannot be written (${(error as NodeJS.ErrnoException).code})`, 'write the file elsewhere');
  }
}

/** Everything the verdict needs, read and validated before the run starts. */
export function verdictPlan(f: VerdictFlags, plan: { tokenCounts: number[]; algorithmId: string; plan: RunResult['plan'] }): VerdictPlan {
  const thresholds = parseThresholds(f);
  checkThresholdsFitPlan(thresholds, plan.tokenCounts);
  const maxRegressionPct = Number(f.maxRegression);
  if (!(maxRegressionPct >= 0)) throw usageError(`--max-regression must be a percentage ≥ 0, not '${String(f.maxRegression).slice(0, 40)}'`);
  if (f.junit !== undefined) checkWritableFile('--junit', f.junit);
  const baseline = f.baseline !== undefined ? readRunJson(f.baseline) : undefined;
  if (baseline && baseline.algorithm.id !== plan.algorithmId && f.force !== true) {
    throw usageError(`the baseline ${f.baseline} measured ${baseline.algorithm.id}, this run measures ${plan.algorithmId}`, 'give a baseline of the same algorithm, or --force to compare anyway');
  }
  if (baseline && !samePlan(baseline.plan, plan.plan) && f.force !== true) {
    throw usageError(
      `the baseline ${f.baseline} ran another plan (token counts, stop rule, warm-up, threads or verification)`,
      'give a baseline made with the same flags, or --force to compare anyway',
    );
  }
  return { thresholds, baseline: baseline && { result: baseline, maxRegressionPct, force: f.force === true } };
}

/** Prints what was checked (to `out`) and writes the JUnit file. */
export function reportVerdict(runs: JudgedRun[], junit: string | undefined, out: (text: string) => void): void {
  for (const run of runs) {
    if (run.thresholds.length > 0) out(`thresholds (${run.name}):\n${renderThresholdChecks(run.thresholds)}`);
    if (run.comparison) out(`against the baseline (${run.name}):\n${renderComparisonTable(run.comparison)}`);
  }
  if (junit !== undefined) {
    try {
      writeFileSync(junit, renderJunit(runs));
    } catch (error) {
      throw writeError(junit, error);
    }
  }
}
