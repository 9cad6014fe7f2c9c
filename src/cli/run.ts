import { workloadId } from '../model/workload.js';
import { notRunOf, type NotRun } from '../report/junit.js';
import { WrongAnswerError } from '../model/wrong-answer.js';
import { writeOutputFile } from '../core/output-file.js';
import { join, relative } from 'node:path';
import { Command } from 'commander';
import { runScale } from '../run/scale.js';
import { errorText, exitWith, HsmBenchError, usageError } from '../core/errors.js';
import { readLabFile, type Lab, type LabRun } from '../plan/lab-file.js';
import { inTermsOf } from '../plan/plan-flags.js';
import type { PlanField } from '../model/plan-input.js';
import { checkLabStarts } from '../plan/lab-starts.js';
import { chartRenderer, saveChart } from '../report/charts.js';
import { comparisonChart } from '../report/comparison.js';
import { renderLabReport, transportPairs } from '../report/lab-report.js';
import { renderScaleTable } from '../report/terminal-table.js';
import { judgeRun, type JudgedRun } from '../verdict/verdict.js';
import { conclude, writeRunReports } from './run-pipeline.js';
import { checkJunitFile, reportVerdict } from './verdict-options.js';
import { stamp } from '../result/run-directory.js';
import { pinSource } from './scale.js';
import { Progress } from './terminal.js';
import { makeDirectory } from '../core/make-dir.js';
import { quote, shown } from '../core/quote.js';
import { tellSupervisor } from './supervised.js';
import { withLiveMetrics } from './metrics-server.js';
import type { LiveMetrics } from '../run/live-metrics.js';

/** A run's error, said with the flags of the command line, which a lab file does not have: in the file's terms, its kind kept. */
function inLabTerms(error: HsmBenchError, run: LabRun): HsmBenchError {
  const names = (field: PlanField) => (field === 'out' ? '$.out' : `${run.at}.${field}`);
  const told = (text: string) => inTermsOf(text, names);
  if (error instanceof WrongAnswerError) return new WrongAnswerError(told(error.message), told(error.hint ?? ''), error.wrongAnswer);
  return new HsmBenchError(told(error.message), error.exitCode, error.hint === undefined ? undefined : told(error.hint), { cause: error });
}

/** Runs the lab's runs in order; writes each run directory, then a combined report, then judges. */
async function runLab(lab: Lab, ui: Progress, live: LiveMetrics | undefined): Promise<{ judged: JudgedRun[]; notRun: NotRun[]; dirs: string[]; combinedDir: string; failed?: HsmBenchError }> {
  const judged: JudgedRun[] = [];
  const dirs: string[] = [];
  let failed: HsmBenchError | undefined;
  for (const run of lab.runs) {
    ui.log(
      `run ${run.name}: ${workloadId(run.plan.operation, run.plan.algorithm.id)} on ${run.plan.backend.kind === 'module' ? shown(run.plan.backend.path) : 'embedded SoftHSM2'}, ${run.plan.tokenCounts.join(',')} tokens`,
    );
    if (live) live.labRun = run.name;
    let outcome;
    try {
      outcome = await runScale(run.plan, pinSource(run), { ...ui, started: (dir) => tellSupervisor({ type: 'run-dir', dir }) }, lab.reference, live);
    } catch (error) {
      // A run that could not start stops the lab; the runs before it keep their verdicts in every output.
      if (!(error instanceof HsmBenchError)) throw error;
      failed = inLabTerms(error, run);
      break;
    }
    // Judged first, written second: the run's reports and run.json hold its verdict.
    let judgedRun: JudgedRun | undefined;
    try {
      judgedRun = judgeRun(run.name, outcome.result, run);
    } finally {
      await writeRunReports(outcome, lab.reference, ui, judgedRun);
    }
    judged.push(judgedRun);
    dirs.push(outcome.dir);
    if (outcome.result.interrupted) break;
  }
  // Runs after an interruption or a run that could not start never ran: planned and not measured, which CI must see as such.
  const stoppedIn = judged[judged.length - 1]?.name;
  const failedRun = failed && lab.runs[judged.length];
  const notRun = failedRun
    ? [
        // A token that answered the trial call wrongly fails the run's cases: a finding, not a set-up error.
        failed instanceof WrongAnswerError
          ? notRunOf(failedRun.name, failedRun.plan, failed.message, failed.wrongAnswer)
          : notRunOf(failedRun.name, failedRun.plan, `it could not start: ${failed!.message}`),
        ...lab.runs.slice(judged.length + 1).map((r) => notRunOf(r.name, r.plan, `the lab stopped at ${failedRun.name}, which could not start`)),
      ]
    : lab.runs.slice(judged.length).map((r) => notRunOf(r.name, r.plan, `the lab was interrupted in ${stoppedIn}, before this run`));
  const combinedDir = join(lab.out, `lab-${stamp(new Date())}`);
  makeDirectory(combinedDir);
  const charts: (string | undefined)[] = [];
  for (const [a, b] of transportPairs(judged)) {
    const base = `transport-${a.name}-vs-${b.name}`.replace(/[^\w.-]/g, '_');
    try {
      const [png] = await saveChart(await chartRenderer(), comparisonChart([a.result, b.result], [a.name, b.name]), base, (f, content) => writeOutputFile(join(combinedDir, f), content));
      charts.push(png);
    } catch (error) {
      charts.push(undefined);
      ui.log(`warning: ${(error as Error).message}`);
    }
  }
  // Paths relative to combined.md, so that the folder can be moved or attached whole.
  writeOutputFile(
    join(combinedDir, 'combined.md'),
    renderLabReport(
      judged,
      dirs.map((d) => relative(combinedDir, d)),
      charts,
      notRun,
    ),
  );
  return { judged, notRun, dirs, combinedDir, ...(failed ? { failed } : {}) };
}

export function runCommand(): Command {
  return new Command('run')
    .description('run the named runs of a lab file in order, with their thresholds and baselines (for CI)')
    .requiredOption('--config <file>', 'the lab file (JSON; see schemas/lab.schema.json)')
    .option('--only <names>', 'run only these runs (comma-separated names)')
    .option('--junit <file>', 'write a JUnit XML report of every run')
    .option('--json', 'print the results of every run as JSON')
    .option(
      '--metrics-listen <[host:]port>',
      "serve live metrics of every run at http://HOST:PORT/metrics while the lab runs, for Prometheus (host: 127.0.0.1 unless given; the lab file's metricsListen otherwise)",
    )
    .action(async (o: { config: string; only?: string; junit?: string; json?: boolean; metricsListen?: string }) => {
      const lab = await readLabFile(o.config);
      if (o.junit !== undefined) checkJunitFile(o.junit);
      if (o.only !== undefined) {
        const names = o.only.split(',');
        const unknown = names.filter((n) => !lab.runs.some((r) => r.name === n));
        if (unknown.length > 0) throw usageError(`--only names no run called ${unknown.map(quote).join(', ')}`, `runs in ${shown(o.config)}: ${lab.runs.map((r) => quote(r.name)).join(', ')}`);
        lab.runs = lab.runs.filter((r) => names.includes(r.name));
      }
      const startNotes = checkLabStarts(lab.runs, Date.now());
      const ui = new Progress();
      startNotes.forEach((note) => ui.log(note));
      const { judged, notRun, dirs, combinedDir, failed } = await withLiveMetrics(o.metricsListen ?? lab.metricsListen, ui.log, (live) => runLab(lab, ui, live));
      if (o.json) {
        process.stdout.write(
          JSON.stringify(
            {
              schemaVersion: 2,
              combinedReport: join(combinedDir, 'combined.md'),
              runs: judged.map((j, i) => ({ name: j.name, runDir: dirs[i], thresholds: j.thresholds, comparison: j.comparison ?? null, result: j.result })),
              notRun: notRun.map((n) => ({ name: n.name, reason: n.reason })),
            },
            null,
            2,
          ) + '\n',
        );
      } else {
        for (const j of judged) process.stdout.write(`\n== ${j.name} ==\n${renderScaleTable(j.result)}`);
        for (const n of notRun) process.stdout.write(`\n== ${n.name} ==\nnot run: ${n.reason}\n`);
      }
      ui.log(`combined report: ${shown(join(combinedDir, 'combined.md'))}`);
      if (failed) {
        // The verdicts of the runs before it are out (JUnit, stdout); the run that could not start ends the lab with its own message and exit code.
        reportVerdict(judged, o.junit, (text) => (o.json ? process.stderr : process.stdout).write(text), notRun);
        process.stderr.write(errorText(failed));
        return exitWith(failed.exitCode);
      }
      conclude(judged, o, notRun);
    });
}
