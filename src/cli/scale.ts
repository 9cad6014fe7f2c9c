import { Command } from 'commander';
import { exitWith, usageError } from '../errors.js';
import { addSigningOptions } from './signing-options.js';
import { scalePlan, type RunPlan, type ScaleOptions } from '../engine/plan.js';
import { runScale, type RunOutcome } from '../engine/scale.js';
import { ALGORITHMS } from '../pkcs11/algorithms.js';
import { readReference, type Reference } from '../render/reference.js';
import { renderScaleTable } from '../render/terminal-table.js';
import { writeReports } from '../render/write-reports.js';
import { isInteractive, Progress } from './terminal.js';
import { addTokenOptions } from './token-options.js';
import { addVerdictOptions, reportVerdict, verdictPlan, type VerdictFlags } from './verdict-options.js';
import { exitCodeFor, judgeRun } from '../verdict/verdict.js';

export function scaleCommand(): Command {
  const command = addSigningOptions(new Command('scale'), '10')
    .description('signature throughput with 1, 2, 4 … tokens signing at once (the scaling experiment)')
    .option('--tokens <counts>', 'configurations: numbers of tokens signing at once', '1,2,4,8')
    .option('--signatures-per-token <count>', 'stop each configuration after this many signatures per token (default 1000)')
    .option('--duration <time>', 'stop each configuration after this time instead (e.g. 30s, 5m, 2h)')
    .option('--reference <file>', 'published results to set beside yours in report.md and the throughput chart');
  return addVerdictOptions(addTokenOptions(command)).action(async (options: ScaleOptions & VerdictFlags & { pinEnv: string; pinFile?: string; json?: boolean; reference?: string }) => {
    if (options.alg === undefined) throw usageError("required option '--alg <alg>' not specified", `use one of: ${ALGORITHMS.map((a) => a.id).join(', ')}`);
    const plan = scalePlan(options);
    const verdict = verdictPlan(options, { tokenCounts: plan.tokenCounts, algorithmId: plan.algorithm.id });
    const reference = options.reference ? readReference(options.reference) : undefined;
    const ui = new Progress();
    const { result, dir } = await scaleAndReport(plan, options, reference, ui);
    process.stdout.write(options.json ? JSON.stringify(result, null, 2) + '\n' : renderScaleTable(result));
    ui.log(`results: ${dir}`);
    const judged = judgeRun(`${result.algorithm.id}`, result, verdict.thresholds, verdict.baseline);
    // With --json, stdout carries only run.json; the checks go to stderr.
    reportVerdict([judged], options.junit, (text) => (options.json ? process.stderr : process.stdout).write(text));
    exitWith(exitCodeFor([judged]));
  });
}

/** Runs the scaling experiment and writes its reports; run.json is on disk before the reports, the verdict comes after both. */
export async function scaleAndReport(plan: RunPlan, pin: { pinEnv: string; pinFile?: string }, reference: Reference | undefined, ui: Progress): Promise<RunOutcome> {
  const outcome = await runScale(plan, { pinEnv: pin.pinEnv, pinFile: pin.pinFile, interactive: isInteractive() && Boolean(process.stdin.isTTY) }, ui);
  const reports = await writeReports(outcome.dir, outcome.result, ['md', 'csv', 'png'], reference);
  reports.warnings.forEach((w) => ui.log(`warning: ${w}`));
  return outcome;
}
