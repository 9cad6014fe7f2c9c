import { configurationAxes, configurationSlug, payloadFields } from '../model/configuration.js';
import type { LiveMetrics } from './live-metrics.js';
import { workloadId } from '../model/workload.js';
import { workloadOfPlan } from '../plan/workload-plan.js';
import { nounsOf } from '../operations/words.js';
import { existsSync, statSync, truncateSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { usageError } from '../core/errors.js';
import { PinRefusedError } from '../pkcs11/session.js';
import { BURN_IN_RECORDS_FILE, CHECKPOINT_FILE, CHECKPOINT_VERSION, planDigest, readCheckpoint, type Checkpoint } from '../result/checkpoint.js';
import { lockDirectory } from '../core/directory-lock.js';
import type { VerdictFlags } from '../model/plan-input.js';
import type { FieldNames, PlanInput } from '../model/plan-input.js';
import { truncateToLastBlock, replayRecords } from '../result/replay.js';
import { readResumeState, restoreFromState, writeResumeState } from '../result/resume-state.js';
import { intervalLogOf } from '../result/interval-log.js';
import { createRunDirectory, readRunJson, syncFile, writeFileAtomic, writeRunJson } from '../result/run-directory.js';
import type { BurnInResult, LostRecords, RunResult, StartAtResult } from '../model/run-result.js';
import type { PinSource } from '../secrets/pin.js';
import { ConfigurationStats } from '../stats/configuration-stats.js';
import { summarizeConfiguration, type Measured } from '../stats/summarize.js';
import { harnessOfSegments, type HarnessFacts } from '../stats/harness-of-segments.js';
import { RunControl } from '../measure/control.js';
import type { RunEvent, RunEvents } from '../model/run-events.js';
import { Interruption } from './interruption.js';
import { burnInPlan, durationMs } from '../plan/plan.js';
import { startAtPassed } from '../plan/start-at.js';
import { clockSync } from './clock-sync.js';
import { type BurnInPlan } from '../model/plan.js';
import { buildRunResult, thisCommandLine, tokenIdentity } from './run-result-builder.js';
import { scheduleOf } from '../model/schedule.js';
import { runConfiguration } from './run-configuration.js';
import type { RunOutcome } from './scale.js';
import { setUpTokens, signingWith } from './token-setup.js';
import { shown } from '../core/quote.js';
import { fileType } from '../core/file-type.js';

const CHECKPOINT_MS = 10_000;
/**
 * How often a supervised burn-in tells the calls it made, as often as the signers hand over batches (at least every
 * 100 ms): a crash's uncounted calls are those of the last such interval.
 */
const CALLS_MADE_EVERY_MS = 100;

/**
 * A burn-in to continue: its run directory, locked, its checkpoint as read, and the user's decisions about what the
 * checkpoint says: records it counted that are no longer on disk, and tokens that refused the PIN.
 */
export interface Resume {
  dir: string;
  checkpoint: Checkpoint;
  /** --accept-lost-records: go on from the records there are, the loss recorded in run.json. */
  acceptLostRecords: boolean;
  /** --pin-corrected: the PIN given now may be presented (once) to tokens that refused one before. */
  pinCorrected: boolean;
}

/** Reads a burn-in's checkpoint for a resume, after taking its run directory: two resumes at once would both append. */
export function openResume(dir: string, decisions: Pick<Resume, 'acceptLostRecords' | 'pinCorrected'>): Resume {
  // Checked before the lock, which would create a missing folder (and fail on a file with a message about folders).
  const info = statSync(dir, { throwIfNoEntry: false });
  if (info === undefined) throw usageError(`--resume ${shown(dir)} does not exist`, 'give the run directory of a burn-in (the folder that holds its checkpoint.json)');
  if (!info.isDirectory()) {
    throw usageError(`--resume ${shown(dir)} is ${fileType(info)}, not a run directory`, `give the folder that holds the burn-in's checkpoint.json, e.g. --resume ${shown(dirname(dir))}`);
  }
  lockDirectory(dir, 'the burn-in', 'it is running or being resumed already; wait for it to end');
  return { dir, checkpoint: readCheckpoint(dir), ...decisions };
}

/** A field of a checkpoint's plan, as a message names it: the flags that set it cannot be given on resume. */
export const checkpointField: FieldNames = (field) => `${CHECKPOINT_FILE} $.plan.${field}`;

/** A burn-in's target rate of all its tokens together, or null: flat out. */
const burnInRatePerS = (plan: BurnInPlan) => (plan.targetRate ? plan.targetRate.perS[0]! * (plan.targetRate.per === 'token' ? plan.tokenCounts[0]! : 1) : null);

/** The name of a burn-in's one configuration in its records, as a scale run of the same axes would name it. */
const burnInConfiguration = (plan: BurnInPlan) => configurationSlug(configurationAxes(plan.tokenCounts[0]!, plan.threadsPerToken[0]!, burnInRatePerS(plan), burnInDataSize(plan)));

/** A burn-in's one data size (--data-size), or null: the operation's message. */
const burnInDataSize = (plan: BurnInPlan) => plan.dataSizesBytes?.[0] ?? null;

/** What a resume continues from: the records on disk, replayed into `stats`, checked against the checkpoint. */
async function recordsToContinue(
  resume: Resume,
  plan: BurnInPlan,
  stats: ConfigurationStats,
  emit: (event: RunEvent) => void,
): Promise<{ firstSequenceByWorker: number[]; records: number; lost: LostRecords[] }> {
  const { dir, checkpoint } = resume;
  const path = join(dir, BURN_IN_RECORDS_FILE);
  const tokenCount = plan.tokenCounts[0]!;
  const workers = tokenCount * plan.threadsPerToken[0]!;
  const cut = existsSync(path) ? truncateToLastBlock(path) : 0;
  // Without every call's record, the statistics and sequences are those of the last checkpoint's state, and the
  // records file (failures) is cut back to what it held then: the calls made after it are made again.
  const state = plan.records === 'all' ? undefined : readResumeState(dir, workers);
  const log = join(dir, intervalLogOf(BURN_IN_RECORDS_FILE));
  if (state && existsSync(path) && statSync(path).size > state.recordsBytes) truncateSync(path, state.recordsBytes);
  // Its interval log too, so that it holds the calls the statistics count, each once (the charts are drawn from it).
  if (state && existsSync(log) && statSync(log).size > state.intervalLogBytes) truncateSync(log, state.intervalLogBytes);
  if (state) restoreFromState(stats, state);
  const replayed =
    state !== undefined
      ? { records: state?.calls ?? 0, nextSequenceByWorker: state?.nextSequenceByWorker ?? new Array<number>(workers).fill(0) }
      : existsSync(path)
        ? await replayRecords(
            path,
            { configuration: burnInConfiguration(plan), tokenCount, threadsPerToken: plan.threadsPerToken[0]!, maxStartOffsetUs: (Date.now() - Date.parse(checkpoint.startedAt)) * 1000 },
            stats,
          )
        : { records: 0, nextSequenceByWorker: new Array<number>(tokenCount * plan.threadsPerToken[0]!).fill(0) };
  const counted = checkpoint.progress.records;
  let lost = checkpoint.lostRecords;
  // The checkpoint counts only records that were on disk (synced) when it was written: fewer now means records were lost.
  if (replayed.records < counted) {
    const missing = `${shown(path)} holds ${replayed.records} records; the checkpoint of ${checkpoint.updatedAt} had counted ${counted} on disk, so ${counted - replayed.records} are missing (the file was truncated, replaced or restored from an older copy)`;
    if (!resume.acceptLostRecords) {
      throw usageError(
        missing,
        `put the records file back if you can; to go on from the ${replayed.records} records there are (the lost ones are signed again, and run.json says what was lost), resume with --accept-lost-records`,
      );
    }
    emit({ type: 'burn-in-records-lost', path, records: replayed.records, counted, checkpointAt: checkpoint.updatedAt });
    lost = [...lost, { at: new Date().toISOString(), checkpointRecords: counted, recordsOnDisk: replayed.records }];
  }
  emit({ type: 'burn-in-resuming', runId: checkpoint.runId, records: replayed.records, cutBytes: cut });
  return { firstSequenceByWorker: replayed.nextSequenceByWorker, records: replayed.records, lost };
}

/**
 * The plan keeps the path of a mechanism's parameter file, not its bytes: a file changed since the run started would
 * make the resumed calls another mechanism call than the earlier ones, under the same run (run.json keeps the bytes).
 */
function refuseChangedParameter(plan: BurnInPlan, checkpoint: Checkpoint, dir: string): void {
  const parameter = plan.workload[0]?.asGiven?.parameter;
  if (parameter === undefined) return;
  const now = parameter === null ? undefined : Buffer.from(parameter).toString('hex');
  if (now === readRunJson(dir).mechanism.parameterHex) return;
  throw usageError(
    `the mechanism parameter file ${shown(checkpoint.plan.mechanismParams ?? '')} does not hold the bytes this burn-in started with (run.json's mechanism.parameterHex)`,
    'put the file back as it was to resume; a burn-in is continued only as it was planned',
  );
}

/**
 * Every session ended before the stop rule (lost, refused the PIN, crashed, or a call that did not return); a session
 * abandoned at the stop itself ended with it.
 */
function everySessionEnded(run: Pick<Measured, 'workerIssues' | 'hungSessions'>, sessions: number): boolean {
  const session = (x: { token: number; thread: number }) => `${x.token}/${x.thread}`;
  const atStop = new Set((run.hungSessions ?? []).filter((h) => h.outcome === 'abandoned-at-stop').map(session));
  return new Set(run.workerIssues.map(session).filter((s) => !atStop.has(s))).size === sessions;
}

/**
 * The burn-in: N tokens sign until a total or a duration, surviving faults (workers reconnect, a token failing
 * for --give-up-after is lost, the others go on), writing records every 2 s and a checkpoint every 10 s.
 * `resume` continues a run that was killed, from what is on disk; `verdict` (the CI flags) goes into the
 * checkpoint so that a resume judges the run as it was meant to be judged. The module is left open: it is
 * finalized at the end of the command, after the results.
 */
export async function runBurnIn(input: PlanInput, verdict: VerdictFlags, pinSource: PinSource, ui: RunEvents, resume?: Resume, live?: LiveMetrics): Promise<RunOutcome> {
  const checkpoint = resume?.checkpoint;
  const resumeDir = resume?.dir;
  const plan: BurnInPlan = checkpoint ? burnInPlan(checkpoint.plan, checkpointField) : burnInPlan(input);
  if (checkpoint) refuseChangedParameter(plan, checkpoint, resumeDir!);
  const tokenCount = plan.tokenCounts[0]!;
  if (checkpoint && checkpoint.tokens.length !== tokenCount)
    throw usageError(
      `${shown(join(resumeDir!, CHECKPOINT_FILE))} lists ${checkpoint.tokens.length} tokens for a ${tokenCount}-token plan`,
      'give --resume the run directory of a burn-in that hsm-bench started',
    );
  const stats = new ConfigurationStats(
    tokenCount,
    plan.workload.map((e) => e.operation),
  );
  // The records on disk are checked before the module is loaded or a PIN presented.
  const onDisk = resume ? await recordsToContinue(resume, plan, stats, ui.emit) : { firstSequenceByWorker: new Array<number>(tokenCount * plan.threadsPerToken[0]!).fill(0), records: 0, lost: [] };
  let setup: Awaited<ReturnType<typeof setUpTokens>>;
  try {
    setup = await setUpTokens(plan, tokenCount, pinSource, ui.emit, checkpoint && { tokens: checkpoint.tokens, pinRefused: checkpoint.pinRefused, pinCorrected: resume!.pinCorrected }, 'measure');
  } catch (error) {
    // A PIN refused on resume is written into the checkpoint: the next resume must not present it again.
    if (checkpoint && error instanceof PinRefusedError) {
      const pinRefused = [...new Set([...checkpoint.pinRefused, error.token])].sort((x, y) => x - y);
      writeFileAtomic(join(resumeDir!, CHECKPOINT_FILE), JSON.stringify({ ...checkpoint, pinRefused }, null, 2) + '\n');
    }
    throw error;
  }
  // The set-up (tokens, keys, trial calls) took until after the agreed moment: this host cannot start with the others.
  if (plan.startAt && Date.now() >= plan.startAt.atMs) throw startAtPassed(plan.startAt, Date.now(), true);
  const clock = plan.startAt && clockSync();
  const interruption = new Interruption(ui.emit);
  try {
    const now = new Date();
    const startedAt = checkpoint ? new Date(checkpoint.startedAt) : now;
    const { runId, dir } = checkpoint ? { runId: checkpoint.runId, dir: resumeDir! } : createRunDirectory(plan.outDir, startedAt, `burnin-${workloadId(plan.operation, plan.algorithm.id)}`);
    live?.runStarted(runId, workloadOfPlan(plan.workload));
    lockDirectory(dir, 'the burn-in', 'it is running or being resumed already; wait for it to end');
    await ui.started?.(dir);
    const firstSequenceByWorker = onDisk.firstSequenceByWorker;
    // Kept up to date by the recorder, for the resume state; and the records writer's flush, once it is made.
    const nextSequenceByWorker = [...firstSequenceByWorker];
    let flushRecords = () => {};
    // The plan as the run started: a resume keeps the tokens' identities and the digest of the first segment.
    // A resume starts at once: the agreed moment was the first segment's, and is not kept for it.
    const runInput = checkpoint?.plan ?? { ...input, startAt: undefined, settle: undefined };
    const tokens = checkpoint?.tokens ?? setup.tokens.map(tokenIdentity);
    const digest = checkpoint?.planDigest ?? planDigest({ runId, startedAt: startedAt.toISOString(), plan: runInput, tokens });
    // Records written to the file so far (those of earlier segments included); the checkpoint counts them once synced.
    let recordsWritten = onDisk.records;
    const startOffsetBaseUs = stats.windowEndUs;
    const segments = [...(checkpoint?.segments ?? []), { startedAt: now.toISOString(), startOffsetS: startOffsetBaseUs / 1e6 }];
    // At a target rate (open loop) the calls arrive on a schedule; --signatures then counts the calls scheduled
    // (made, successful or not: a request that failed is not asked again). Flat out it counts successful ones.
    const targetRatePerS = burnInRatePerS(plan);
    const done = targetRatePerS === null ? stats.operationsOk : stats.operationsOk + stats.operationsFailed;
    // Those on disk are taken off the total.
    const remainingTotal = plan.stop.kind === 'total' ? Math.max(0, plan.stop.signatures - done) : null;
    const signedNs = BigInt(Math.round(startOffsetBaseUs)) * 1000n;
    const remainingNs = plan.stop.kind === 'duration' ? (plan.stop.durationNs > signedNs ? plan.stop.durationNs - signedNs : 0n) : null;

    const burnIn: BurnInResult = { giveUpAfterS: plan.giveUpAfterMs / 1000, segments, planDigest: digest, restarts: checkpoint?.restarts ?? [], lostRecords: onDisk.lost };
    // What the stages produced (worker issues, verification lag, event-loop stall), once signing has ended.
    let measured: Omit<Measured, 'stats' | 'recordsFile'> = { workerIssues: [] };
    // What the harness saw of itself in the segments before this one, and in this one so far (once it runs).
    const earlierHarness = checkpoint?.harness;
    let harnessSoFar = (): HarnessFacts => ({});
    const harnessOfRun = (current: HarnessFacts) => harnessOfSegments(earlierHarness, current, startOffsetBaseUs);
    // The whole run's schedule (every segment): until signing has ended, calls not made yet are not "not started".
    let ended = false;
    const scheduled =
      targetRatePerS === null ? 0 : plan.stop.kind === 'total' ? plan.stop.signatures : Math.ceil((durationMs(plan.stop.kind === 'duration' ? plan.stop.durationNs : 0n) / 1000) * targetRatePerS);
    const current = () => {
      const summary = summarizeConfiguration(
        { ...measured, ...harnessOfRun(measured), recordsFile: BURN_IN_RECORDS_FILE, stats },
        setup.tokens,
        plan.threadsPerToken[0]!,
        targetRatePerS === null ? null : { targetRatePerS, calls: scheduled, interrupted: !ended || interruption.requested },
      );
      return { ...summary, ...payloadFields(burnInDataSize(plan), plan.multipartChunkBytes, summary.throughputPerS) };
    };
    // Until the run ends, run.json says it is interrupted: a kill -9 leaves a run that reads as partial.
    const commandLine = checkpoint ? checkpoint.commandLine : thisCommandLine();
    const startAt = (): StartAtResult | undefined =>
      plan.startAt && { given: plan.startAt.given, at: new Date(plan.startAt.atMs).toISOString(), firstWindowAt: measured.windowStartedAt ?? null, clock: clock! };
    const result = (done: boolean): RunResult =>
      buildRunResult({ command: 'burn-in', runId, startedAt, commandLine, startAt: startAt() }, plan, setup, [current()], !done || interruption.requested, burnIn);
    const saveCheckpoint = (finished: boolean) => {
      // Only records synced to disk are counted: a resume that finds fewer knows that some were lost.
      let records = recordsWritten;
      if (plan.records !== 'all') flushRecords();
      syncFile(join(dir, BURN_IN_RECORDS_FILE));
      // Without every call's record, the state is what a resume continues from: the calls it counts are those "on disk".
      if (plan.records !== 'all') {
        const bytes = (file: string) => statSync(join(dir, file), { throwIfNoEntry: false })?.size ?? 0;
        writeResumeState(dir, stats, nextSequenceByWorker, bytes(BURN_IN_RECORDS_FILE), bytes(intervalLogOf(BURN_IN_RECORDS_FILE)));
        records = stats.operationsOk + stats.operationsFailed;
      }
      writeFileAtomic(
        join(dir, CHECKPOINT_FILE),
        JSON.stringify(
          {
            schemaVersion: CHECKPOINT_VERSION,
            runId,
            startedAt: startedAt.toISOString(),
            ...(commandLine === undefined ? {} : { commandLine }),
            plan: runInput,
            verdict,
            tokens,
            pinRefused: setup.pinGuard.refusedTokens(),
            planDigest: digest,
            segments,
            progress: {
              signatures: stats.operationsOk + stats.operationsFailed,
              signaturesOk: stats.operationsOk,
              signaturesFailed: stats.operationsFailed,
              signingS: stats.windowEndUs / 1e6,
              records,
            },
            restarts: burnIn.restarts!,
            lostRecords: burnIn.lostRecords!,
            harness: harnessOfRun(ended ? measured : harnessSoFar()),
            updatedAt: new Date().toISOString(),
            finished,
          } satisfies Checkpoint,
          null,
          2,
        ) + '\n',
      );
    };
    // run.json first: a checkpoint is never without the run.json that holds its plan's digest.
    writeRunJson(dir, result(false));
    saveCheckpoint(false);

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
    const nouns = nounsOf(plan.operation);
    ui.emit({
      type: 'burn-in-started',
      runId,
      tokens: tokenCount,
      calls: target,
      successfulOnly: targetRatePerS === null,
      durationS: plan.stop.kind === 'duration' ? durationMs(plan.stop.durationNs) / 1000 : null,
      ratePerS: targetRatePerS,
      recordsPath: join(dir, BURN_IN_RECORDS_FILE),
      nouns,
    });
    ui.emit({ type: 'run-described', result: result(false) });
    if (plan.startAt) ui.emit({ type: 'start-at', at: new Date(plan.startAt.atMs).toISOString(), inS: Math.max(0, (plan.startAt.atMs - Date.now()) / 1000), settleS: null });
    if (targetRatePerS !== null && remainingTotal !== null) ui.emit({ type: 'schedule-length', seconds: remainingTotal / targetRatePerS, scope: 'burn-in', ratePerS: targetRatePerS });
    // Told at the first batch and then ten times a second: what a death of this process would cut from the records.
    let callsToldAtMs: number | undefined;
    const tellCallsMade = (nowMs: number) => {
      const windowStartNs = control.windowStartNs();
      if (windowStartNs === 0n || (callsToldAtMs !== undefined && nowMs - callsToldAtMs < CALLS_MADE_EVERY_MS)) return;
      callsToldAtMs = nowMs;
      // Made: recorded, or waiting for the host check (a call still in a session's batch or ring is not counted).
      ui.callsMade?.(stats.operationsOk + stats.operationsFailed + control.callsUnrecorded(), (startOffsetBaseUs + Number(process.hrtime.bigint() - windowStartNs) / 1000) / 1e6, true);
    };
    // Rates count successes; the line goes on (from a timer) while every worker waits for its token to come back.
    const showProgress = () => {
      const nowMs = Date.now();
      tellCallsMade(nowMs);
      const signingS = stats.windowEndUs / 1e6;
      const averagePerS = signingS > 0 ? stats.operationsOk / signingS : 0;
      const currentPerS = nowMs > last.atMs ? ((stats.operationsOk - last.ok) * 1000) / (nowMs - last.atMs) : 0;
      if (nowMs - last.atMs >= 1000) last = { atMs: nowMs, ok: stats.operationsOk };
      ui.emit({
        type: 'burn-in-progress',
        // From the window's agreed opening with --start-at (the wait for it is not elapsed), said while it is ahead.
        elapsedS: Math.max(0, nowMs - Math.max(segmentStartMs, plan.startAt?.atMs ?? 0)) / 1000 + startOffsetBaseUs / 1e6,
        startsInS: plan.startAt && nowMs < plan.startAt.atMs ? (plan.startAt.atMs - nowMs) / 1000 : null,
        ok: stats.operationsOk,
        target,
        currentPerS,
        averagePerS,
        failed: stats.operationsFailed,
        etaS: target !== null && averagePerS > 0 ? Math.max(0, target - stats.operationsOk) / averagePerS : null,
        nouns,
      });
    };
    const progressTimer = setInterval(showProgress, 1000);
    live?.started({
      name: burnInConfiguration(plan),
      stats,
      tokens: setup.ready.map((t) => t.token),
      sessions: tokenCount * plan.threadsPerToken[0]!,
      targetRatePerS,
      control,
    });
    try {
      const run = await runConfiguration(
        {
          ...signingWith(setup),
          onPinRefused: () => saveCheckpoint(false),
          onHung: (issue) => ui.emit({ type: 'session-hung', run: result(false), issue }),
          callTimeoutMs: plan.callTimeoutMs,
          records: plan.records,
          onRecordsWritten: (records) => (recordsWritten = onDisk.records + records),
          tokens: setup.ready,
          threadsPerToken: plan.threadsPerToken[0]!,
          warmupPerToken: checkpoint ? 0 : plan.warmupPerToken,
          verifyEvery: plan.verify.every,
          verifyThreads: plan.verify.threads,
          stop: {
            callsPerToken: null,
            sharedSuccesses: targetRatePerS === null ? remainingTotal : null,
            durationNs: remainingNs,
            schedule: targetRatePerS === null ? null : scheduleOf(targetRatePerS, remainingTotal),
          },
          recovery: { giveUpAfterMs: plan.giveUpAfterMs },
          runDir: dir,
          configurationName: burnInConfiguration(plan),
          recordsFile: BURN_IN_RECORDS_FILE,
          spillFile: null,
          stats,
          nextSequenceByWorker,
          onWriter: (flush) => (flushRecords = flush),
          onHarness: (soFar) => (harnessSoFar = soFar),
          resume: checkpoint ? { firstSequenceByWorker, startOffsetBaseUs } : undefined,
          releaseAtMs: plan.startAt?.atMs,
        },
        control,
        showProgress,
      );
      measured = run;
      ended = true;
      // Signing is over and every record written: a death from here on cuts nothing.
      ui.callsMade?.(stats.operationsOk + stats.operationsFailed, stats.windowEndUs / 1e6, false);
      if (checkpointFailure !== undefined) throw checkpointFailure;
    } finally {
      clearInterval(checkpointTimer);
      clearInterval(progressTimer);
      live?.ended();
      ui.progressDone();
    }
    // Finished means the stop rule was reached: a run whose tokens all ended before it stays resumable.
    if (!interruption.requested && everySessionEnded(measured, tokenCount * plan.threadsPerToken[0]!)) {
      burnIn.endedEarly = {
        signingLeftS: plan.stop.kind === 'duration' ? Math.max(0, Math.round((durationMs(plan.stop.durationNs) / 1000 - stats.windowEndUs / 1e6) * 1000) / 1000) : null,
        operationsLeft: plan.stop.kind === 'total' ? Math.max(0, plan.stop.signatures - (targetRatePerS === null ? stats.operationsOk : stats.operationsOk + stats.operationsFailed)) : null,
        pinRefusedTokens: setup.pinGuard.refusedTokens(),
      };
    }
    const final = result(true);
    writeRunJson(dir, final);
    saveCheckpoint(!interruption.requested && burnIn.endedEarly === undefined);
    return { result: final, dir };
  } finally {
    interruption.dispose();
  }
}
