import { ExitCode, exitWith } from '../core/errors.js';
import type { RunOutcome } from '../run/scale.js';
import { leaveNow } from '../measure/threads-left.js';
import type { NotRun } from '../report/junit.js';
import type { Reference } from '../model/run-result.js';
import { DEFAULT_FORMATS, writeReports, type Format } from '../report/write-reports.js';
import type { RunResult } from '../model/run-result.js';
import { exitCodeFor, judgeRun, verdictOf, type JudgedRun } from '../verdict/verdict.js';
import { writeRunJson } from '../result/run-directory.js';
import type { Progress } from './terminal.js';
import { reportVerdict, saveBaseline, type VerdictPlan } from './verdict-options.js';
import { shown } from '../core/quote.js';

/**
 * The one pipeline after signing, for scale, burn-in and lab runs: run.json is on disk already (the engines
 * write it as they go), then the reports, then the judgement; a failed threshold never costs a report.
 */
export async function writeRunReports(outcome: RunOutcome, reference: Reference | undefined, ui: Progress, judged?: JudgedRun, formats: readonly Format[] = DEFAULT_FORMATS): Promise<void> {
  // The verdict in run.json too: `report` regenerates the reports from it, checks first, as they were judged.
  if (judged) {
    outcome.result.verdict = verdictOf(judged);
    writeRunJson(outcome.dir, outcome.result);
  }
  const reports = await writeReports(outcome.dir, outcome.result, formats, reference);
  reports.warnings.forEach((w) => ui.log(`warning: ${w}`));
}

/** Prints what was checked and writes JUnit (to stderr with --json, so stdout stays machine-readable), then exits with the verdict. */
export function conclude(judged: JudgedRun[], o: { json?: boolean; junit?: string }, notRun: NotRun[] = []): void {
  reportVerdict(judged, o.junit, (text) => (o.json ? process.stderr : process.stdout).write(text), notRun);
  exitWith(exitCodeFor(judged));
}

/** A single run: its reports, its result on stdout (text or run.json), its verdict. */
export async function finishRun(
  name: string,
  outcome: RunOutcome,
  verdict: VerdictPlan,
  o: { json?: boolean; junit?: string; reference?: Reference; formats?: readonly Format[] },
  render: (r: RunResult, judged: JudgedRun) => string,
  ui: Progress,
): Promise<void> {
  // The signing is over and its results are on disk: a Ctrl-C now would only cost the reports. The first one says
  // so; a second one stops at once.
  const onInterrupt = () => {
    ui.log('writing the reports and the verdict of a finished run; Ctrl-C again to stop now');
    process.once('SIGINT', () => leaveNow(ExitCode.interrupted));
  };
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  try {
    // Judged first, written second: a burn-in's report.md states the verdict the exit code gives. Neither a failed
    // check nor a baseline that cannot be compared costs the report.
    let judged: JudgedRun | undefined;
    try {
      judged = judgeRun(name, outcome.result, verdict);
    } finally {
      await writeRunReports(outcome, o.reference, ui, judged, o.formats);
    }
    process.stdout.write(o.json ? JSON.stringify(outcome.result, null, 2) + '\n' : render(outcome.result, judged));
    ui.log(`results: ${shown(outcome.dir)}`);
    if (verdict.saveBaseline !== undefined) {
      // Only a run that passed outright: one worse within the noise (inconclusive) becoming the baseline would let a
      // slow decline ratchet through, night after night.
      const inconclusive = judged.thresholds.some((t) => t.outcome === 'inconclusive') || (judged.comparison?.rows.some((r) => r.inconclusive.length > 0) ?? false);
      if (exitCodeFor([judged]) === ExitCode.ok && !inconclusive) {
        saveBaseline(verdict.saveBaseline, outcome.result);
        ui.log(`baseline saved: ${shown(verdict.saveBaseline)}`);
      } else {
        ui.log(`baseline not saved: the run did not pass every check outright (${shown(verdict.saveBaseline)} is unchanged)`);
      }
    }
    conclude([judged], o);
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    process.removeListener('SIGTERM', onInterrupt);
  }
}
