import { workloadOf } from '../model/workload.js';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { usageError, writeError } from '../core/errors.js';
import { writeFileAtomic } from '../result/run-directory.js';
import { renderComparisonTable, renderThresholdChecks } from '../report/verdict-tables.js';
import { readRunDirectory } from '../result/partial-run.js';
import type { RunResult } from '../model/run-result.js';
import { samePlan } from '../verdict/compare.js';
import { renderJunit, type NotRun } from '../report/junit.js';
import { configurationName } from '../model/configuration.js';
import { notMeasured } from '../result/plan-coverage.js';
import { checkThresholdsFitPlan, parseThresholds } from '../verdict/thresholds.js';
import { type VerdictFlags } from '../model/plan-input.js';

export type { VerdictFlags };
import type { JudgedRun, VerdictPlan } from '../verdict/verdict.js';
import { makeDirectory } from '../core/make-dir.js';
import { quote, shown } from '../core/quote.js';
import { fileType } from '../core/file-type.js';
import { writeOutputFile } from '../core/output-file.js';

/** The CI flags; a burn-in has one configuration, so no scaling efficiency or capacity to check. */
export function addVerdictOptions(command: Command, o: { efficiency: boolean } = { efficiency: true }): Command {
  command
    .optionsGroup('CI checks:')
    .option('--max-failures <count>', 'fail (exit 5) if more operations than this fail')
    .option('--min-throughput <rate>', 'fail below this many operations/s: one number for the largest configuration, or TOKENS:RATE,…')
    .option(
      '--max-p99 <time>',
      'fail if any configuration has a p99 above this, e.g. 10ms, 500us, 1s (a plain number is ms): flat out the service time of a closed loop, at a target rate the response time',
    );
  if (o.efficiency) {
    command
      .option('--min-efficiency <ratio>', 'fail if any configuration scales below this efficiency (needs a 1-token configuration)')
      .option('--min-capacity <rate>', 'fail if the capacity (highest target rate within the --slo objectives) is below this: one number for the largest token count, or TOKENS:RATE,…');
  }
  return command
    .option(
      '--strict-latency',
      'let gates fail even on thin samples: latency from too few operations (under 1000) or too short a window (under 2 s), a throughput or efficiency from a window under 2 s',
    )
    .option('--baseline <run>', 'compare with an earlier run (directory or run.json); fail on a regression beyond the noise')
    .option('--max-regression <pct>', 'allowed throughput drop / latency rise against the baseline, in % (default 10)')
    .addOption(new Option('--baseline-missing <action>', 'when --baseline does not exist: fail (exit 2), or warn and run without it').choices(['fail', 'warn']).default('fail'))
    .option('--save-baseline <dir>', "after a run that passed its checks, write its run.json into this folder (the next runs' --baseline)")
    .option('--force', 'compare with the baseline even if tokens, algorithm or plan differ')
    .option('--junit <file>', 'write a JUnit XML report of configurations, thresholds and baseline checks');
}

export type { VerdictPlan };

/** A file the run will write at its end, checked before it starts: a run must not sign for hours, then fail on a path. */
export function checkWritableFile(flag: string, path: string): void {
  const info = statSync(path, { throwIfNoEntry: false });
  if (info?.isDirectory()) throw usageError(`${flag} ${shown(path)} is a directory`, `give a file name, e.g. ${flag} ${shown(join(path, 'hsm-bench.xml'))}`);
  // Writing into a pipe would block until a reader came, into a device would hand it the bytes.
  if (info !== undefined && !info.isFile()) throw usageError(`${flag} ${shown(path)} is ${fileType(info)}, not a file`, 'give the path of a regular file (or of none yet)');
  const parent = dirname(resolve(path));
  if (!existsSync(parent) || !statSync(parent).isDirectory()) throw usageError(`${flag} ${shown(path)}: the folder ${shown(parent)} does not exist`, 'create it first, or write the file elsewhere');
  try {
    accessSync(parent, constants.W_OK);
  } catch (error) {
    throw usageError(`${flag} ${shown(path)}: the folder ${shown(parent)} cannot be written (${(error as NodeJS.ErrnoException).code})`, 'write the file elsewhere');
  }
}

/** --junit FILE: checked before the first signature. */
export function checkJunitFile(path: string): void {
  if (path.trim() === '') throw usageError('--junit is empty', 'give the file the JUnit XML goes into, e.g. --junit junit.xml');
  checkWritableFile('--junit', path);
}

/** --save-baseline DIR: a folder that exists, or can be made (the first baseline makes it, with its parents). */
function checkBaselineFolder(dir: string): void {
  if (dir.trim() === '') throw usageError('--save-baseline is empty', 'give the folder the baseline goes into, e.g. --save-baseline baseline');
  if (existsSync(dir)) {
    const info = statSync(dir);
    if (!info.isDirectory()) throw usageError(`--save-baseline ${shown(dir)} is ${fileType(info)}`, 'give a folder: the run.json of the run goes into it');
    // A run directory's run.json describes its records: a baseline written over it would lie about them.
    if (['records', 'checkpoint.json', 'lock'].some((f) => existsSync(join(dir, f)))) {
      throw usageError(`--save-baseline ${shown(dir)} is a run directory`, 'give a folder of its own for the baseline, e.g. --save-baseline baseline');
    }
    return checkWritableFile('--save-baseline', join(dir, 'run.json'));
  }
  let ancestor = resolve(dir);
  while (!existsSync(ancestor)) ancestor = dirname(ancestor);
  checkWritableFile('--save-baseline', join(ancestor, 'run.json'));
}

/** The run's run.json becomes the baseline of the next runs, if it passed every check. */
export function saveBaseline(dir: string, result: RunResult): void {
  makeDirectory(dir);
  // Whole or not at all: the next night's job reads it.
  writeFileAtomic(join(dir, 'run.json'), JSON.stringify(result, null, 2) + '\n');
}

/** A percentage: digits and a point, nothing else (not 0x10, not an empty string, not Infinity). */
export function parsePercent(flag: string, value: string): number {
  if (!/^\d{1,6}(\.\d{1,6})?$/.test(value)) throw usageError(`${flag} must be a percentage ≥ 0 such as 10 or 2.5, not ${quote(value)}`);
  return Number(value);
}

/** Everything the verdict needs, read and validated before the run starts. */
export async function verdictPlan(f: VerdictFlags, plan: { tokenCounts: number[]; workload: string; plan: RunResult['plan'] }, warn: (line: string) => void = () => {}): Promise<VerdictPlan> {
  const thresholds = parseThresholds(f);
  checkThresholdsFitPlan(thresholds, plan.plan);
  if (f.maxRegression !== undefined && f.baseline === undefined)
    throw usageError('--max-regression applies to a comparison with --baseline, and none was given', 'add --baseline RUN, or drop --max-regression');
  const maxRegressionPct = parsePercent('--max-regression', f.maxRegression ?? '10');
  const missing = f.baselineMissing ?? 'fail';
  if (missing !== 'fail' && missing !== 'warn') throw usageError(`--baseline-missing must be 'fail' or 'warn', not ${quote(String(missing))}`);
  if (f.junit !== undefined) checkJunitFile(f.junit);
  if (f.saveBaseline !== undefined) checkBaselineFolder(f.saveBaseline);
  let baselinePath = f.baseline;
  // A folder without a run.json (made by mkdir -p, or a CI cache restored empty) is no baseline yet either.
  const present = (p: string) => existsSync(p) && (!statSync(p).isDirectory() || existsSync(join(p, 'run.json')));
  if (baselinePath !== undefined && missing === 'warn' && !present(baselinePath)) {
    warn(`warning: the baseline ${shown(baselinePath)} does not exist yet: this run is not compared with one (--baseline-missing warn)`);
    baselinePath = undefined;
  }
  // Read as `report` reads it: a baseline that was killed is judged by every call it put on disk.
  const baselineRun = baselinePath !== undefined ? await readRunDirectory(baselinePath) : undefined;
  baselineRun?.notes.forEach((n) => warn(`note: the baseline: ${n}`));
  const baseline = baselineRun?.result;
  const baselineWorkload = baseline && workloadOf(baseline);
  if (baseline && baselineWorkload !== plan.workload && f.force !== true) {
    throw usageError(
      `the baseline ${shown(f.baseline!)} measured ${baselineWorkload}, this run measures ${plan.workload}`,
      'give a baseline of the same operation and algorithm (and, for a mix, the same weights), or --force to compare anyway',
    );
  }
  if (baseline && !samePlan(baseline.plan, plan.plan) && f.force !== true) {
    throw usageError(
      `the baseline ${shown(f.baseline!)} ran another plan (token counts, stop rule, warm-up, threads or verification)`,
      'give a baseline made with the same flags, or --force to compare anyway',
    );
  }
  return { thresholds, baseline: baseline && { result: baseline, maxRegressionPct, force: f.force === true }, strictLatency: f.strictLatency === true, saveBaseline: f.saveBaseline };
}

/** Prints what was checked (to `out`) and writes the JUnit file. */
export function reportVerdict(runs: JudgedRun[], junit: string | undefined, out: (text: string) => void, notRun: NotRun[] = []): void {
  for (const run of runs) {
    const missing = notMeasured(run.result);
    if (missing.length > 0) out(`not measured (${run.name}):\n${missing.map((m) => `  ${configurationName(m)}: ${m.reason}\n`).join('')}`);
    if (run.thresholds.length > 0) out(`thresholds (${run.name}):\n${renderThresholdChecks(run.thresholds)}`);
    if (run.comparison) out(`against the baseline (${run.name}):\n${renderComparisonTable(run.comparison)}`);
  }
  if (junit !== undefined) {
    try {
      writeOutputFile(junit, renderJunit(runs, notRun));
    } catch (error) {
      throw writeError(junit, error);
    }
  }
}
