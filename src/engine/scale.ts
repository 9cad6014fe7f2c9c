import { nounsOf, workloadId } from '../render/operation-words.js';
import { join } from 'node:path';
import { createRunDirectory, writeRunJson } from '../result/run-directory.js';
import type { ConfigurationResult, RunResult } from '../result/run-result.js';
import type { PinSource } from '../secrets/pin.js';
import { combineRepetitions } from '../stats/repetitions.js';
import { summarizeConfiguration } from '../stats/summarize.js';
import { RunControl } from './control.js';
import { planLine, tokenLine } from '../render/describe-run.js';
import { plural } from '../render/plural.js';
import { Interruption } from './interruption.js';
import type { RunPlan } from './plan.js';
import type { Reference } from '../render/reference.js';
import { buildRunResult } from './run-result-builder.js';
import { runConfiguration } from './run-configuration.js';
import { setUpTokens, signingWith } from './token-setup.js';

export interface RunUi {
  log(line: string): void;
  progress(text: string): void;
  progressDone(): void;
}

export interface RunOutcome {
  result: RunResult;
  dir: string;
}

/** The scaling experiment: for each N in the plan, N tokens sign at once; results are written after every configuration. */
export async function runScale(plan: RunPlan, pinSource: PinSource, ui: RunUi, reference?: Reference): Promise<RunOutcome> {
  const setup = await setUpTokens(plan, plan.tokenCounts[plan.tokenCounts.length - 1]!, pinSource, ui.log);
  const interruption = new Interruption();
  try {
    const startedAt = new Date();
    const { runId, dir } = createRunDirectory(plan.outDir, startedAt, workloadId(plan.operation, plan.algorithm.id));
    // Per token count, its repetitions so far; run.json shows each configuration as its median repetition.
    const measured = new Map<number, ConfigurationResult[]>();
    const configurations = () => [...measured.values()].map(combineRepetitions);
    // Until the plan is done, run.json says the run is interrupted: a kill -9 leaves a run that reads as partial.
    const result = (done: boolean) => buildRunResult({ command: 'scale', runId, startedAt, reference }, plan, setup, configurations(), !done || interruption.requested);
    // What will run, before the first signature (on stderr): a long run is seen to be the intended one at once.
    // run.json from the start (partial until the plan is done): a run killed in its first configuration is still a run.
    writeRunJson(dir, result(false));
    ui.log(`tokens:  ${tokenLine(result(false))}`);
    ui.log(`plan:    ${planLine(result(false))}`);
    // Repetitions are interleaved (1, 2, 4, 8, then 1, 2, 4, 8 again …): drift in the host or the tokens hits every configuration alike.
    for (let repetition = 1; repetition <= plan.repeat && !interruption.requested; repetition++) {
      for (const tokenCount of plan.tokenCounts) {
        if (interruption.requested) break;
        const control = new RunControl(tokenCount * plan.threadsPerToken);
        interruption.watch(control);
        const target = plan.stop.kind === 'signatures' ? ` / ${plan.stop.perToken * tokenCount}` : '';
        const label = `${plural(tokenCount, 'token')}${plan.repeat > 1 ? ` (repetition ${repetition} of ${plan.repeat})` : ''}`;
        const suffix = plan.repeat > 1 ? `-rep-${repetition}` : '';
        ui.log(`${label}: running`);
        const run = await runConfiguration(
          {
            ...signingWith(setup),
            tokens: setup.ready.slice(0, tokenCount),
            threadsPerToken: plan.threadsPerToken,
            warmupPerToken: plan.warmupPerToken,
            verifyEvery: plan.verify.every,
            verifyThreads: plan.verify.threads,
            stop: {
              perTokenSignatures: plan.stop.kind === 'signatures' ? plan.stop.perToken : null,
              sharedTotal: null,
              durationNs: plan.stop.kind === 'duration' ? plan.stop.durationNs : null,
            },
            recovery: null,
            runDir: dir,
            recordsFile: join('records', `tokens-${tokenCount}${suffix}.csv`),
            spillFile: `unverified-tokens-${tokenCount}${suffix}.bin`,
          },
          control,
          (done) => ui.progress(`${label}: ${done}${target} ${nounsOf(plan.operation)}`),
        );
        ui.progressDone();
        // Interrupted before its measured window opened (during warm-up): nothing was measured, and a 0/s would lie.
        if (run.setupS === undefined && interruption.requested) {
          ui.log(`${label}: interrupted before its measured window; not reported`);
          break;
        }
        const c = summarizeConfiguration(run, setup.tokens.slice(0, tokenCount), plan.threadsPerToken);
        measured.set(tokenCount, [...(measured.get(tokenCount) ?? []), c]);
        ui.log(`${label}: ${c.operationsOk} ${nounsOf(plan.operation)} OK, ${c.operationsFailed} failed, ${c.throughputPerS.toFixed(1)}/s`);
        // Written after every configuration, so that a later failure or interruption loses nothing measured.
        writeRunJson(dir, result(false));
      }
    }
    const final = result(true);
    writeRunJson(dir, final);
    return { result: final, dir };
  } finally {
    interruption.dispose();
    setup.close();
  }
}
