import { Command } from 'commander';
import { scalePlan, type ScaleOptions } from '../engine/plan.js';
import { planOf } from '../engine/run-result-builder.js';
import { runScale } from '../engine/scale.js';
import { usageError } from '../errors.js';
import { ALGORITHMS } from '../pkcs11/algorithms.js';
import { readReference } from '../render/reference.js';
import { renderScaleTable } from '../render/terminal-table.js';
import type { PinSource } from '../secrets/pin.js';
import { finishRun } from './run-pipeline.js';
import { addSigningOptions } from './signing-options.js';
import { isInteractive, Progress } from './terminal.js';
import { addTokenOptions } from './token-options.js';
import { addVerdictOptions, verdictPlan, type VerdictFlags } from './verdict-options.js';

export function scaleCommand(): Command {
  const command = addSigningOptions(new Command('scale'), '10')
    .description('signature throughput with 1, 2, 4 … tokens signing at once (the scaling experiment)')
    .option('--tokens <counts>', 'configurations: numbers of tokens signing at once', '1,2,4,8')
    .option('--signatures-per-token <count>', 'stop each configuration after this many signatures per token (default 1000)')
    .option('--duration <time>', 'stop each configuration after this time instead (e.g. 30s, 5m, 2h)')
    .option('--repeat <count>', 'measure each configuration this many times, interleaved; results are medians with their spread (default 1)')
    .option('--reference <file>', 'published results to set beside yours in report.md and the throughput chart');
  return addVerdictOptions(addTokenOptions(command)).action(async (options: ScaleOptions & VerdictFlags & { pinEnv: string; pinFile?: string; json?: boolean; reference?: string }) => {
    if (options.alg === undefined) throw usageError("required option '--alg <alg>' not specified", `use one of: ${ALGORITHMS.map((a) => a.id).join(', ')}`);
    const plan = scalePlan(options);
    const verdict = verdictPlan(options, { tokenCounts: plan.tokenCounts, algorithmId: plan.algorithm.id, plan: planOf(plan) }, (line) => process.stderr.write(`${line}\n`));
    const reference = options.reference ? readReference(options.reference) : undefined;
    const ui = new Progress();
    const outcome = await runScale(plan, pinSource(options), ui);
    await finishRun(plan.algorithm.id, outcome, verdict, { ...options, reference }, renderScaleTable, ui);
  });
}

/** Where a run's PIN comes from: the flags, and a masked prompt only when a person is at the terminal. */
export const pinSource = (o: { pinEnv: string; pinFile?: string }): PinSource => ({ pinEnv: o.pinEnv, pinFile: o.pinFile, interactive: isInteractive() && Boolean(process.stdin.isTTY) });
