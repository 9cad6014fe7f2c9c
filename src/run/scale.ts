import { nounsOf, workloadId } from '../operations/words.js';
import { createRunDirectory, writeRunJson } from '../result/run-directory.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import type { PinSource } from '../secrets/pin.js';
import { combineRepetitions } from '../stats/repetitions.js';
import { summarizeConfiguration } from '../stats/summarize.js';
import { RunControl } from '../measure/control.js';
import { planLine, tokenLine, workerIssueText } from '../report/describe-run.js';
import { configurationAxes, configurationFiles, configurationKey, configurationName } from '../model/configuration.js';
import { plannedConfigurations } from '../plan/sizing-plan.js';
import { hms } from '../core/hms.js';
import { scheduledCalls, scheduleOf } from '../model/schedule.js';
import { Interruption } from './interruption.js';
import type { RunPlan } from '../plan/plan.js';
import type { Reference } from '../result/reference.js';
import { buildRunResult } from './run-result-builder.js';
import { runConfiguration } from './run-configuration.js';
import { setUpTokens, signingWith } from './token-setup.js';

export interface RunUi {
  /** The run directory, once it exists and (a burn-in) is locked; awaited before the first call is made. */
  started?(dir: string): void | Promise<void>;
  log(line: string): void;
  progress(text: string): void;
  progressDone(): void;
}

export interface RunOutcome {
  result: RunResult;
  dir: string;
}

/** One line per configuration as it ends: counts and rate, and at a target rate whether the tokens kept up. */
function configurationOutcome(c: ConfigurationResult, nouns: string): string {
  const counts = `${c.operationsOk} ${nouns} OK, ${c.operationsFailed} failed`;
  const o = c.openLoop;
  if (o === undefined) return `${counts}, ${c.throughputPerS.toFixed(1)}/s`;
  const response = o.responseMs === null ? '' : `, response p99 ${o.responseMs.p99} ms`;
  const notStarted = o.notStarted > 0 ? `, ${o.notStarted} not started by the deadline` : '';
  return `${counts}, ${o.achievedRatePerS.toFixed(1)}/s of ${o.targetRatePerS}/s${o.keptUp ? '' : ' (fell behind)'}${response}, ${o.late.sharePct}% late${notStarted}`;
}

/** The scaling experiment: for each N in the plan, N tokens sign at once; results are written after every configuration. */
export async function runScale(plan: RunPlan, pinSource: PinSource, ui: RunUi, reference?: Reference): Promise<RunOutcome> {
  const setup = await setUpTokens(plan, plan.tokenCounts[plan.tokenCounts.length - 1]!, pinSource, ui.log);
  const interruption = new Interruption();
  try {
    const startedAt = new Date();
    const { runId, dir } = createRunDirectory(plan.outDir, startedAt, workloadId(plan.operation, plan.algorithm.id));
    await ui.started?.(dir);
    // Per configuration, its repetitions so far; run.json shows each configuration as its median repetition.
    const measured = new Map<string, ConfigurationResult[]>();
    const configurations = () => [...measured.values()].map(combineRepetitions);
    // Until the plan is done, run.json says the run is interrupted: a kill -9 leaves a run that reads as partial.
    const result = (done: boolean) => buildRunResult({ command: 'scale', runId, startedAt, reference }, plan, setup, configurations(), !done || interruption.requested);
    // What will run, before the first signature (on stderr): a long run is seen to be the intended one at once.
    // run.json from the start (partial until the plan is done): a run killed in its first configuration is still a run.
    writeRunJson(dir, result(false));
    ui.log(`tokens:  ${tokenLine(result(false))}`);
    ui.log(`plan:    ${planLine(result(false))}`);
    const planned = plannedConfigurations(plan.tokenCounts, plan.threadsPerToken, plan.targetRate);
    // A schedule of K calls per token at a low rate can take long: said before it starts, not discovered after.
    if (plan.targetRate && plan.stop.kind === 'signatures') {
      const perToken = plan.stop.perToken;
      const scheduledS = plan.repeat * planned.reduce((sum, p) => sum + (perToken * p.tokens) / p.targetRatePerS!, 0);
      ui.log(`time:    the schedules take ${hms(scheduledS)} (h:m:s) at their target rates (longer where the tokens fall behind); --duration bounds each configuration`);
    }
    // Repetitions are interleaved (1, 2, 4, 8, then 1, 2, 4, 8 again …): drift in the host or the tokens hits every configuration alike.
    for (let repetition = 1; repetition <= plan.repeat && !interruption.requested; repetition++) {
      for (const p of planned) {
        if (interruption.requested) break;
        const axes = configurationAxes(p.tokens, p.threadsPerToken, p.targetRatePerS);
        const control = new RunControl(p.tokens * p.threadsPerToken);
        interruption.watch(control);
        const calls = plan.stop.kind === 'signatures' ? plan.stop.perToken * p.tokens : null;
        const target = calls === null ? '' : ` / ${calls}`;
        const label = `${configurationName(axes)}${plan.repeat > 1 ? ` (repetition ${repetition} of ${plan.repeat})` : ''}`;
        const files = configurationFiles(axes, repetition, plan.repeat);
        const durationNs = plan.stop.kind === 'duration' ? plan.stop.durationNs : null;
        const schedule = p.targetRatePerS === null ? null : scheduleOf(p.targetRatePerS, calls);
        const nouns = nounsOf(plan.operation);
        // Whether the run was stopped before the window closed: a Ctrl-C while a backlog is verified comes after every call was made.
        let cutShort: boolean | undefined;
        // After the window, what progress waits for: the verification of the calls spilled during it.
        let verifyingSpill: string | undefined;
        const onVerifyingSpill = (kept: number, skip: () => void) => {
          cutShort = interruption.requested;
          verifyingSpill = `verifying ${kept} ${nouns} spilled during the window`;
          const skipped = () => {
            skip();
            ui.log(`${label}: verification skipped: the spilled ${nouns} not verified yet are recorded unchecked`);
          };
          interruption.waitingFor(verifyingSpill, { hint: 'interrupt again to skip verification: they are recorded unchecked', run: skipped });
          if (!interruption.requested) ui.log(`${label}: ${verifyingSpill} (Ctrl-C skips it: they are recorded unchecked)`);
        };
        ui.log(`${label}: running`);
        const run = await runConfiguration(
          {
            ...signingWith(setup),
            tokens: setup.ready.slice(0, p.tokens),
            threadsPerToken: p.threadsPerToken,
            warmupPerToken: plan.warmupPerToken,
            verifyEvery: plan.verify.every,
            verifyThreads: plan.verify.threads,
            stop: {
              // At a target rate the schedule holds the configuration's calls; flat out, each token makes its own.
              perTokenSignatures: plan.stop.kind === 'signatures' && p.targetRatePerS === null ? plan.stop.perToken : null,
              sharedTotal: null,
              durationNs,
              schedule,
            },
            recovery: null,
            callTimeoutMs: plan.callTimeoutMs,
            onHung: (issue) => ui.log(`${label}: ${workerIssueText(result(false), issue)}`),
            runDir: dir,
            ...files,
            onVerifyingSpill,
          },
          control,
          (done) => ui.progress(`${label}: ${verifyingSpill ?? `${done}${target} ${nouns}`}`),
        );
        ui.progressDone();
        cutShort ??= interruption.requested;
        // Interrupted before its measured window opened (during warm-up): nothing was measured, and a 0/s would lie.
        if (run.setupS === undefined && interruption.requested) {
          ui.log(`${label}: interrupted before its measured window; not reported`);
          break;
        }
        const c = summarizeConfiguration(
          { ...run, ...(cutShort ? { partial: 'interrupted' as const } : {}) },
          setup.tokens.slice(0, p.tokens),
          p.threadsPerToken,
          schedule && { targetRatePerS: p.targetRatePerS!, calls: scheduledCalls(schedule, durationNs), interrupted: cutShort },
        );
        const key = configurationKey(axes);
        measured.set(key, [...(measured.get(key) ?? []), c]);
        ui.log(`${label}: ${configurationOutcome(c, nouns)}${cutShort ? ' (interrupted: partial)' : ''}`);
        // Written after every configuration, so that a later failure or interruption loses nothing measured.
        writeRunJson(dir, result(false));
      }
    }
    const final = result(true);
    writeRunJson(dir, final);
    return { result: final, dir };
  } finally {
    // The module stays open: it is finalized at the end of the command, after the results (a module may hang there).
    interruption.dispose();
  }
}
