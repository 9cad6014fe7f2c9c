import { nounsOf, workloadId } from '../render/operation-words.js';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import { PinRefusedError } from '../pkcs11/session.js';
import { CHECKPOINT_FILE, readCheckpoint, type Checkpoint } from '../record/checkpoint.js';
import { lockDirectory } from '../result/directory-lock.js';
import type { VerdictFlags } from '../verdict/thresholds.js';
import { truncateToLastLine, replayRecords } from '../record/replay.js';
import { createRunDirectory, writeFileAtomic, writeRunJson } from '../result/run-directory.js';
import type { RunResult } from '../result/run-result.js';
import type { PinSource } from '../secrets/pin.js';
import { ConfigurationStats } from '../stats/configuration-stats.js';
import { summarizeConfiguration, type Measured } from '../stats/summarize.js';
import { planLine, tokenLine, workerIssueText } from '../render/describe-run.js';
import { hms } from '../render/hms.js';
import { RunControl } from './control.js';
import { plural } from '../render/plural.js';
import { Interruption } from './interruption.js';
import { burnInPlan, durationMs, type BurnInOptions, type BurnInPlan } from './plan.js';
import { buildRunResult, thisCommandLine, tokenIdentity } from './run-result-builder.js';
import { scheduleOf } from './schedule.js';
import { runConfiguration } from './run-configuration.js';
import type { RunOutcome, RunUi } from './scale.js';
import { setUpTokens, signingWith } from './token-setup.js';

export const RECORDS_FILE = join('records', 'burn-in.csv');
const CHECKPOINT_MS = 10_000;

/** A burn-in to continue: its run directory, locked, and its checkpoint as read. */
export interface Resume {
  dir: string;
  checkpoint: Checkpoint;
}

/** Reads a burn-in's checkpoint for a resume, after taking its run directory: two resumes at once would both append. */
export function openResume(dir: string): Resume {
  lockDirectory(dir, 'the burn-in', 'it is running or being resumed already; wait for it to end');
  return { dir, checkpoint: readCheckpoint(dir) };
}

/**
 * The burn-in: N tokens sign until a total or a duration, surviving faults (workers reconnect, a token failing
 * for --give-up-after is lost, the others go on), writing records every 2 s and a checkpoint every 10 s.
 * `resume` continues a run that was killed, from what is on disk; `verdict` (the CI flags) goes into the
 * checkpoint so that a resume judges the run as it was meant to be judged.
 */
export async function runBurnIn(options: BurnInOptions, verdict: VerdictFlags, pinSource: PinSource, ui: RunUi, resume?: Resume): Promise<RunOutcome> {
  const checkpoint = resume?.checkpoint;
  const resumeDir = resume?.dir;
  const plan: BurnInPlan = burnInPlan(checkpoint?.options ?? options);
  const tokenCount = plan.tokenCounts[0]!;
  if (checkpoint && checkpoint.tokens.length !== tokenCount)
    throw usageError(
      `${join(resumeDir!, CHECKPOINT_FILE)} lists ${checkpoint.tokens.length} tokens for a ${tokenCount}-token plan`,
      'give --resume the run directory of a burn-in that hsm-bench started',
    );
  let setup: Awaited<ReturnType<typeof setUpTokens>>;
  try {
    setup = await setUpTokens(plan, tokenCount, pinSource, ui.log, checkpoint && { tokens: checkpoint.tokens, pinRefused: checkpoint.pinRefused });
  } catch (error) {
    // A PIN refused on resume is written into the checkpoint: the next resume must not present it again.
    if (checkpoint && error instanceof PinRefusedError) {
      writeFileAtomic(join(resumeDir!, CHECKPOINT_FILE), JSON.stringify({ ...checkpoint, pinRefused: [...checkpoint.pinRefused, error.token] }, null, 2) + '\n');
    }
    throw error;
  }
  const interruption = new Interruption();
  try {
    const now = new Date();
    const startedAt = checkpoint ? new Date(checkpoint.startedAt) : now;
    const { runId, dir } = checkpoint ? { runId: checkpoint.runId, dir: resumeDir! } : createRunDirectory(plan.outDir, startedAt, `burnin-${workloadId(plan.operation, plan.algorithm.id)}`);
    lockDirectory(dir, 'the burn-in', 'it is running or being resumed already; wait for it to end');
    const stats = new ConfigurationStats(tokenCount, plan.workload.length > 1 ? plan.workload.map((e) => e.operation) : []);
    let firstSequenceByWorker = new Array<number>(tokenCount * plan.threadsPerToken[0]!).fill(0);
    if (checkpoint) {
      const cut = truncateToLastLine(join(dir, RECORDS_FILE));
      const replayed = await replayRecords(
        join(dir, RECORDS_FILE),
        { configuration: tokenCount, tokenCount, threadsPerToken: plan.threadsPerToken[0]!, maxStartOffsetUs: (Date.now() - startedAt.getTime()) * 1000 },
        stats,
      );
      firstSequenceByWorker = replayed.nextSequenceByWorker;
      ui.log(`resuming ${runId}: ${replayed.records} records on disk${cut > 0 ? ` (a partial last line of ${cut} bytes was dropped)` : ''}`);
    }
    const startOffsetBaseUs = stats.windowEndUs;
    const segments = [...(checkpoint?.segments ?? []), { startedAt: now.toISOString(), startOffsetS: startOffsetBaseUs / 1e6 }];
    // At a target rate (open loop) the calls arrive on a schedule; --signatures then counts the calls scheduled
    // (made, successful or not: a request that failed is not asked again). Flat out it counts successful ones.
    const targetRatePerS = plan.targetRate ? plan.targetRate.perS[0]! * (plan.targetRate.per === 'token' ? tokenCount : 1) : null;
    const done = targetRatePerS === null ? stats.operationsOk : stats.operationsOk + stats.operationsFailed;
    // Those on disk are taken off the total.
    const remainingTotal = plan.stop.kind === 'total' ? Math.max(0, plan.stop.signatures - done) : null;
    const signedNs = BigInt(Math.round(startOffsetBaseUs)) * 1000n;
    const remainingNs = plan.stop.kind === 'duration' ? (plan.stop.durationNs > signedNs ? plan.stop.durationNs - signedNs : 0n) : null;

    const burnIn = { giveUpAfterS: plan.giveUpAfterMs / 1000, segments };
    // What the stages produced (worker issues, verification lag, event-loop stall), once signing has ended.
    let measured: Omit<Measured, 'stats' | 'recordsFile'> = { workerIssues: [] };
    // The whole run's schedule (every segment): until signing has ended, calls not made yet are not "not started".
    let ended = false;
    const scheduled =
      targetRatePerS === null ? 0 : plan.stop.kind === 'total' ? plan.stop.signatures : Math.ceil((durationMs(plan.stop.kind === 'duration' ? plan.stop.durationNs : 0n) / 1000) * targetRatePerS);
    const current = () =>
      summarizeConfiguration(
        { ...measured, recordsFile: RECORDS_FILE, stats },
        setup.tokens,
        plan.threadsPerToken[0]!,
        targetRatePerS === null ? null : { targetRatePerS, calls: scheduled, interrupted: !ended || interruption.requested },
      );
    // Until the run ends, run.json says it is interrupted: a kill -9 leaves a run that reads as partial.
    const commandLine = checkpoint ? checkpoint.commandLine : thisCommandLine();
    const result = (done: boolean): RunResult => buildRunResult({ command: 'burn-in', runId, startedAt, commandLine }, plan, setup, [current()], !done || interruption.requested, burnIn);
    const saveCheckpoint = (finished: boolean) =>
      writeFileAtomic(
        join(dir, CHECKPOINT_FILE),
        JSON.stringify(
          {
            schemaVersion: 2,
            runId,
            startedAt: startedAt.toISOString(),
            ...(commandLine === undefined ? {} : { commandLine }),
            options: checkpoint?.options ?? options,
            verdict,
            tokens: setup.tokens.map(tokenIdentity),
            pinRefused: setup.pinGuard.refusedTokens(),
            segments,
            progress: { signatures: stats.operationsOk + stats.operationsFailed, signaturesOk: stats.operationsOk, signaturesFailed: stats.operationsFailed, signingS: stats.windowEndUs / 1e6 },
            updatedAt: new Date().toISOString(),
            finished,
          } satisfies Checkpoint,
          null,
          2,
        ) + '\n',
      );
    saveCheckpoint(false);
    writeRunJson(dir, result(false));

    const control = new RunControl(tokenCount * plan.threadsPerToken[0]!);
    interruption.watch(control);
    let checkpointFailure: unknown;
    const checkpointTimer = setInterval(() => {
      try {
        saveCheckpoint(false);
      } catch (error) {
        // A checkpoint that cannot be written (disk full) stops the run; the records on disk stay resumable.
        checkpointFailure ??= error;
        control.requestStop();
      }
    }, CHECKPOINT_MS);
    const segmentStartMs = Date.now();
    let last = { atMs: segmentStartMs, ok: stats.operationsOk };
    const target = plan.stop.kind === 'total' ? plan.stop.signatures : null;
    ui.log(
      `burn-in ${runId}: ${plural(tokenCount, 'token')}, ${target !== null ? `${target} ${targetRatePerS === null ? 'successful ' : ''}${nounsOf(plan.operation)}` : `${hms(plan.stop.kind === 'duration' ? durationMs(plan.stop.durationNs) / 1000 : 0)}`}${targetRatePerS === null ? '' : ` at ${targetRatePerS}/s`}; records in ${join(dir, RECORDS_FILE)}`,
    );
    ui.log(`tokens:  ${tokenLine(result(false))}`);
    ui.log(`plan:    ${planLine(result(false))}`);
    if (targetRatePerS !== null && remainingTotal !== null)
      ui.log(`time:    the schedule takes ${hms(remainingTotal / targetRatePerS)} (h:m:s) at ${targetRatePerS}/s (longer where the tokens fall behind)`);
    // Rates count successes; the line goes on (from a timer) while every worker waits for its token to come back.
    const showProgress = () => {
      const nowMs = Date.now();
      const signingS = stats.windowEndUs / 1e6;
      const averagePerS = signingS > 0 ? stats.operationsOk / signingS : 0;
      const currentPerS = nowMs > last.atMs ? ((stats.operationsOk - last.ok) * 1000) / (nowMs - last.atMs) : 0;
      if (nowMs - last.atMs >= 1000) last = { atMs: nowMs, ok: stats.operationsOk };
      const eta = target !== null && averagePerS > 0 ? `, ETA ${hms(Math.max(0, target - stats.operationsOk) / averagePerS)}` : '';
      ui.progress(
        `elapsed ${hms((nowMs - segmentStartMs) / 1000 + startOffsetBaseUs / 1e6)}, ${stats.operationsOk}${target !== null ? ` / ${target}` : ''} ${nounsOf(plan.operation)} OK, ${currentPerS.toFixed(1)}/s now, ${averagePerS.toFixed(1)}/s average, ${stats.operationsFailed} failed${eta}`,
      );
    };
    const progressTimer = setInterval(showProgress, 1000);
    try {
      const run = await runConfiguration(
        {
          ...signingWith(setup),
          onPinRefused: () => saveCheckpoint(false),
          onHung: (issue) => ui.log(workerIssueText(result(false), issue)),
          callTimeoutMs: plan.callTimeoutMs,
          tokens: setup.ready,
          threadsPerToken: plan.threadsPerToken[0]!,
          warmupPerToken: checkpoint ? 0 : plan.warmupPerToken,
          verifyEvery: plan.verify.every,
          verifyThreads: plan.verify.threads,
          stop: {
            perTokenSignatures: null,
            sharedTotal: targetRatePerS === null ? remainingTotal : null,
            durationNs: remainingNs,
            schedule: targetRatePerS === null ? null : scheduleOf(targetRatePerS, remainingTotal),
          },
          recovery: { giveUpAfterMs: plan.giveUpAfterMs },
          runDir: dir,
          recordsFile: RECORDS_FILE,
          spillFile: null,
          stats,
          resume: checkpoint ? { firstSequenceByWorker, startOffsetBaseUs } : undefined,
        },
        control,
        showProgress,
      );
      measured = run;
      ended = true;
      if (checkpointFailure !== undefined) throw checkpointFailure;
    } finally {
      clearInterval(checkpointTimer);
      clearInterval(progressTimer);
      ui.progressDone();
    }
    const final = result(true);
    writeRunJson(dir, final);
    saveCheckpoint(!interruption.requested);
    return { result: final, dir };
  } finally {
    interruption.dispose();
    setup.close();
  }
}
