import { nounsOf } from '../operations/words.js';
import type { ConfigurationRun, RunEvents } from '../model/run-events.js';
import { workloadId } from '../model/workload.js';
import { workloadOfPlan } from '../plan/workload-plan.js';
import { createRunDirectory, writeRunJson } from '../result/run-directory.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import type { PinSource } from '../secrets/pin.js';
import { combineRepetitions } from '../stats/repetitions.js';
import { summarizeConfiguration } from '../stats/summarize.js';
import { rateWindowS } from '../stats/rate-window.js';
import { RunControl } from '../measure/control.js';
import { configurationAxes, configurationFiles, configurationKey, payloadFields } from '../model/configuration.js';
import { configurationStartsMs, plannedConfigurations, START_SETTLE_MS } from '../model/plan.js';
import { durationMs } from '../core/duration.js';
import { startAtPassed, startMoment } from '../plan/start-at.js';
import { clockSync } from './clock-sync.js';
import { scheduledCalls, scheduleOf } from '../model/schedule.js';
import { Interruption } from './interruption.js';
import type { RunPlan } from '../model/plan.js';
import type { Reference, StartAtResult } from '../model/run-result.js';
import { buildRunResult } from './run-result-builder.js';
import { runConfiguration } from './run-configuration.js';
import type { LiveMetrics } from './live-metrics.js';
import { ConfigurationStats } from '../stats/configuration-stats.js';
import { setUpTokens, signingWith, sizedWorkload } from './token-setup.js';

export interface RunOutcome {
  result: RunResult;
  dir: string;
}

/** The scaling experiment: for each N in the plan, N tokens sign at once; results are written after every configuration. */
export async function runScale(planAsRead: RunPlan, pinSource: PinSource, ui: RunEvents, reference?: Reference, live?: LiveMetrics): Promise<RunOutcome> {
  const setup = await setUpTokens(planAsRead, planAsRead.tokenCounts[planAsRead.tokenCounts.length - 1]!, pinSource, ui.emit);
  // A lab run's +D counts from here, the end of its own set-up.
  const plan: RunPlan = planAsRead.startAt ? { ...planAsRead, startAt: startMoment(planAsRead.startAt, Date.now()) } : planAsRead;
  // The set-up (tokens, keys, trial calls) took until after the agreed moment: this host cannot start with the others.
  if (plan.startAt && Date.now() >= plan.startAt.atMs) throw startAtPassed(plan.startAt, Date.now(), true);
  const clock = plan.startAt && clockSync();
  const interruption = new Interruption(ui.emit);
  try {
    const startedAt = new Date();
    const { runId, dir } = createRunDirectory(plan.outDir, startedAt, workloadId(plan.operation, plan.algorithm.id));
    live?.runStarted(runId, workloadOfPlan(plan.workload));
    await ui.started?.(dir);
    // Per configuration, its repetitions so far; run.json shows each configuration as its median repetition.
    const measured = new Map<string, ConfigurationResult[]>();
    const configurations = () => [...measured.values()].map(combineRepetitions);
    // Until the plan is done, run.json says the run is interrupted: a kill -9 leaves a run that reads as partial.
    const startAt = (): StartAtResult | undefined =>
      plan.startAt && {
        given: plan.startAt.given,
        at: new Date(plan.startAt.atMs).toISOString(),
        firstWindowAt: [...measured.values()][0]?.[0]?.windowStartedAt ?? null,
        settleS: (plan.startAt.settleMs ?? START_SETTLE_MS) / 1000,
        clock: clock!,
      };
    const result = (done: boolean) => buildRunResult({ command: 'scale', runId, startedAt, reference, startAt: startAt() }, plan, setup, configurations(), !done || interruption.requested);
    // What will run, before the first signature (on stderr): a long run is seen to be the intended one at once.
    // run.json from the start (partial until the plan is done): a run killed in its first configuration is still a run.
    writeRunJson(dir, result(false));
    ui.emit({ type: 'run-described', result: result(false) });
    const planned = plannedConfigurations(plan.tokenCounts, plan.threadsPerToken, plan.targetRate, plan.dataSizesBytes);
    // A schedule of K calls per token at a low rate can take long: said before it starts, not discovered after.
    if (plan.targetRate && plan.stop.kind === 'signatures') {
      const perToken = plan.stop.perToken;
      const scheduledS = plan.repeat * planned.reduce((sum, p) => sum + (perToken * p.tokens) / p.targetRatePerS!, 0);
      ui.emit({ type: 'schedule-length', seconds: scheduledS, scope: 'sweep', ratePerS: null });
    }
    // With --duration: each configuration's window, at a target rate with objectives long enough for their
    // percentiles (src/stats/rate-window.ts); the duration itself elsewhere.
    const stopDurationNs = plan.stop.kind === 'duration' ? plan.stop.durationNs : null;
    const windowNs = (ratePerS: number | null): bigint | null => {
      if (stopDurationNs === null || ratePerS === null || plan.rateWindowMaxS === null) return stopDurationNs;
      const windowS = rateWindowS(Number(stopDurationNs) / 1e9, plan.rateWindowMaxS, ratePerS, plan.objectives);
      return windowS * 1e9 > Number(stopDurationNs) ? BigInt(Math.round(windowS * 1e9)) : stopDurationNs;
    };
    // Windows grown that way make a sweep longer than its --duration says: said before it starts.
    if (planned.some((p) => windowNs(p.targetRatePerS) !== stopDurationNs)) {
      const seconds = plan.repeat * planned.reduce((sum, p) => sum + Number(windowNs(p.targetRatePerS)) / 1e9, 0);
      ui.emit({ type: 'schedule-length', seconds, scope: 'rate-windows', ratePerS: null });
    }
    // With --start-at, every configuration's window opens at a moment each host computes alike from the plan.
    const settleMs = plan.startAt?.settleMs ?? START_SETTLE_MS;
    const order = Array.from({ length: plan.repeat }, () => planned).flat();
    const releasesMs = plan.startAt
      ? configurationStartsMs(
          plan.startAt.atMs,
          order.map((p) => durationMs(windowNs(p.targetRatePerS) ?? 0n)),
          settleMs,
        )
      : [];
    if (plan.startAt)
      ui.emit({
        type: 'start-at',
        at: new Date(plan.startAt.atMs).toISOString(),
        inS: Math.max(0, (plan.startAt.atMs - Date.now()) / 1000),
        settleS: order.length > 1 ? settleMs / 1000 : null,
      });
    // Repetitions are interleaved (1, 2, 4, 8, then 1, 2, 4, 8 again …): drift in the host or the tokens hits every configuration alike.
    let index = 0;
    for (let repetition = 1; repetition <= plan.repeat && !interruption.requested; repetition++) {
      for (const p of planned) {
        if (interruption.requested) break;
        index++;
        const axes = configurationAxes(p.tokens, p.threadsPerToken, p.targetRatePerS, p.dataSizeBytes);
        const control = new RunControl(p.tokens * p.threadsPerToken);
        interruption.watch(control);
        const calls = plan.stop.kind === 'signatures' ? plan.stop.perToken * p.tokens : null;
        const configuration: ConfigurationRun = { axes, repetition, repeat: plan.repeat };
        const files = configurationFiles(axes, repetition, plan.repeat);
        const durationNs = windowNs(p.targetRatePerS);
        const schedule = p.targetRatePerS === null ? null : scheduleOf(p.targetRatePerS, calls);
        const nouns = nounsOf(plan.operation);
        // Whether the run was stopped before the window closed: a Ctrl-C while a backlog is verified comes after every call was made.
        let cutShort: boolean | undefined;
        // After the window, what progress waits for: the verification of the calls spilled during it.
        let spilled: number | undefined;
        const onVerifyingSpill = (kept: number, skip: () => void) => {
          cutShort = interruption.requested;
          spilled = kept;
          const skipped = () => {
            skip();
            ui.emit({ type: 'spill-skipped', configuration, nouns });
          };
          interruption.verifyingSpill(kept, nouns, skipped);
          ui.emit({ type: 'spill-verifying', configuration, calls: kept, nouns, stopping: interruption.requested });
        };
        ui.emit({ type: 'configuration-started', configuration });
        const tokens = setup.ready.slice(0, p.tokens);
        const stats = new ConfigurationStats(
          tokens.length,
          plan.workload.map((e) => e.operation),
        );
        live?.started({ name: files.configurationName, stats, tokens: tokens.map((t) => t.token), sessions: p.tokens * p.threadsPerToken, targetRatePerS: p.targetRatePerS, control });
        const startedMs = Date.now();
        const run = await runConfiguration(
          {
            ...signingWith(setup),
            workload: sizedWorkload(plan, setup.workload, p.dataSizeBytes),
            stats,
            tokens,
            threadsPerToken: p.threadsPerToken,
            warmupPerToken: plan.warmupPerToken,
            verifyEvery: plan.verify.every,
            verifyThreads: plan.verify.threads,
            stop: {
              // At a target rate the schedule holds the configuration's calls; flat out, each token makes its own.
              callsPerToken: plan.stop.kind === 'signatures' && p.targetRatePerS === null ? plan.stop.perToken : null,
              sharedSuccesses: null,
              durationNs,
              schedule,
            },
            recovery: null,
            callTimeoutMs: plan.callTimeoutMs,
            records: plan.records,
            onHung: (issue) => ui.emit({ type: 'session-hung', run: result(false), issue, configuration }),
            runDir: dir,
            ...files,
            onVerifyingSpill,
            releaseAtMs: releasesMs[index - 1],
          },
          control,
          (done) =>
            ui.emit(
              spilled === undefined
                ? {
                    type: 'configuration-progress',
                    configuration,
                    calls: done,
                    plannedCalls: calls,
                    nouns,
                    // From the window's agreed opening with --start-at (the wait for it is not elapsed), said while it is ahead.
                    elapsedS: Math.max(0, Date.now() - Math.max(startedMs, releasesMs[index - 1] ?? 0)) / 1000,
                    startsInS: releasesMs[index - 1] !== undefined && Date.now() < releasesMs[index - 1]! ? (releasesMs[index - 1]! - Date.now()) / 1000 : null,
                    windowS: durationNs === null ? null : Number(durationNs) / 1e9,
                    index,
                    of: plan.repeat * planned.length,
                  }
                : { type: 'spill-verifying', configuration, calls: spilled, nouns, stopping: true },
            ),
        );
        ui.progressDone();
        live?.ended();
        cutShort ??= interruption.requested;
        // Interrupted before its measured window opened (during warm-up): nothing was measured, and a 0/s would lie.
        if (run.setupS === undefined && interruption.requested) {
          ui.emit({ type: 'configuration-not-measured', configuration });
          break;
        }
        const summary = summarizeConfiguration(
          { ...run, ...(cutShort ? { partial: 'interrupted' as const } : {}) },
          setup.tokens.slice(0, p.tokens),
          p.threadsPerToken,
          schedule && { targetRatePerS: p.targetRatePerS!, calls: scheduledCalls(schedule, durationNs), interrupted: cutShort },
        );
        const c = { ...summary, ...payloadFields(p.dataSizeBytes, plan.multipartChunkBytes, summary.throughputPerS) };
        const key = configurationKey(axes);
        measured.set(key, [...(measured.get(key) ?? []), c]);
        ui.emit({ type: 'configuration-ended', configuration, result: c, nouns, cutShort });
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
