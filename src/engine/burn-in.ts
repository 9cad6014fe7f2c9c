import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import { truncateToLastLine, replayRecords } from '../record/replay.js';
import { createRunDirectory, writeFileAtomic, writeRunJson } from '../result/run-directory.js';
import type { RunResult } from '../result/run-result.js';
import type { PinSource } from '../secrets/pin.js';
import { ConfigurationStats } from '../stats/configuration-stats.js';
import { summarizeConfiguration } from '../stats/summarize.js';
import { RunControl } from './control.js';
import { Interruption } from './interruption.js';
import { burnInPlan, type BurnInOptions, type BurnInPlan } from './plan.js';
import { buildRunResult } from './run-result-builder.js';
import { runConfiguration } from './run-configuration.js';
import type { RunOutcome, RunUi } from './scale.js';
import { setUpTokens } from './token-setup.js';

const RECORDS_FILE = join('records', 'burn-in.csv');
const CHECKPOINT_FILE = 'checkpoint.json';
const CHECKPOINT_MS = 10_000;

/**
 * checkpoint.json: what a resumed burn-in needs besides its records — the plan's options (never a PIN), the tokens
 * by serial, the segments so far — and the progress at the time it was written (atomically, every 10 s).
 * The records file stays the authority on what was signed: a resume recounts it.
 */
interface Checkpoint {
  schemaVersion: 1;
  runId: string;
  startedAt: string;
  options: BurnInOptions;
  tokenSerials: string[];
  segments: { startedAt: string; startOffsetS: number }[];
  progress: { signatures: number; signaturesOk: number; signaturesFailed: number; signingS: number };
  updatedAt: string;
  finished: boolean;
}

const hms = (s: number) => `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

function readCheckpoint(runDir: string): Checkpoint {
  const path = join(runDir, CHECKPOINT_FILE);
  if (!existsSync(path)) throw usageError(`${runDir} has no ${CHECKPOINT_FILE}`, 'give the run directory of a burn-in to --resume');
  const doc = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  if (doc.schemaVersion !== 1) throw usageError(`${path} has checkpoint version ${doc.schemaVersion}; this hsm-bench reads version 1`);
  if (doc.finished) throw usageError(`the burn-in in ${runDir} has finished; there is nothing to resume`, 'start a new burn-in');
  return doc;
}

/**
 * The burn-in: N tokens sign until a total or a duration, surviving faults (workers reconnect, a token failing
 * for --give-up-after is lost, the others go on), writing records every 2 s and a checkpoint every 10 s.
 * `resumeDir` continues a run that was killed, from what is on disk.
 */
export async function runBurnIn(options: BurnInOptions, pinSource: PinSource, ui: RunUi, resumeDir?: string): Promise<RunOutcome> {
  const checkpoint = resumeDir !== undefined ? readCheckpoint(resumeDir) : undefined;
  const plan: BurnInPlan = burnInPlan(checkpoint?.options ?? options);
  const tokenCount = plan.tokenCounts[0]!;
  const setup = await setUpTokens(plan, tokenCount, pinSource, ui.log, checkpoint?.tokenSerials);
  const interruption = new Interruption();
  try {
    const now = new Date();
    const startedAt = checkpoint ? new Date(checkpoint.startedAt) : now;
    const { runId, dir } = checkpoint ? { runId: checkpoint.runId, dir: resumeDir! } : createRunDirectory(plan.outDir, startedAt, `burnin-${plan.algorithm.id}`);
    const stats = new ConfigurationStats(tokenCount);
    let firstSequenceByWorker = new Array<number>(tokenCount * plan.threadsPerToken).fill(0);
    let alreadySigned = 0;
    if (checkpoint) {
      const cut = truncateToLastLine(join(dir, RECORDS_FILE));
      const replayed = await replayRecords(join(dir, RECORDS_FILE), setup.tokens.map((t) => t.label), plan.threadsPerToken, stats);
      firstSequenceByWorker = replayed.nextSequenceByWorker;
      alreadySigned = replayed.records;
      ui.log(`resuming ${runId}: ${alreadySigned} signatures on disk${cut > 0 ? ` (a partial last line of ${cut} bytes was dropped)` : ''}`);
    }
    const startOffsetBaseUs = stats.windowEndUs;
    const segments = [...(checkpoint?.segments ?? []), { startedAt: now.toISOString(), startOffsetS: startOffsetBaseUs / 1e6 }];
    const remainingTotal = plan.stop.kind === 'total' ? Math.max(0, plan.stop.signatures - alreadySigned) : null;
    const remainingNs = plan.stop.kind === 'duration' ? Math.max(0, plan.stop.durationMs * 1e6 - startOffsetBaseUs * 1000) : null;

    const burnIn = { giveUpAfterS: plan.giveUpAfterMs / 1000, segments };
    let workerIssues: string[] = [];
    const current = () => summarizeConfiguration({ tokenCount, recordsFile: RECORDS_FILE, stats, workerIssues }, setup.tokens, plan.threadsPerToken);
    const result = (): RunResult => buildRunResult({ command: 'burn-in', runId, startedAt }, plan, setup, [current()], interruption.requested, burnIn);
    const saveCheckpoint = (finished: boolean) =>
      writeFileAtomic(
        join(dir, CHECKPOINT_FILE),
        JSON.stringify({
          schemaVersion: 1,
          runId,
          startedAt: startedAt.toISOString(),
          options: checkpoint?.options ?? options,
          tokenSerials: setup.tokens.map((t) => t.serial),
          segments,
          progress: { signatures: stats.signaturesOk + stats.signaturesFailed, signaturesOk: stats.signaturesOk, signaturesFailed: stats.signaturesFailed, signingS: stats.windowEndUs / 1e6 },
          updatedAt: new Date().toISOString(),
          finished,
        } satisfies Checkpoint, null, 2) + '\n',
      );
    saveCheckpoint(false);
    writeRunJson(dir, result());

    const control = new RunControl(tokenCount * plan.threadsPerToken);
    interruption.watch(control);
    const checkpointTimer = setInterval(() => saveCheckpoint(false), CHECKPOINT_MS);
    const segmentStartMs = Date.now();
    let last = { atMs: segmentStartMs, done: stats.signaturesOk + stats.signaturesFailed };
    const target = plan.stop.kind === 'total' ? plan.stop.signatures : null;
    ui.log(`burn-in ${runId}: ${tokenCount} tokens, ${target !== null ? `${target} signatures` : `${hms(plan.stop.kind === 'duration' ? plan.stop.durationMs / 1000 : 0)}`}; records in ${join(dir, RECORDS_FILE)}`);
    try {
      const run = await runConfiguration(
        {
          modulePath: setup.modulePath,
          mechanism: setup.mechanism,
          tokens: setup.ready,
          threadsPerToken: plan.threadsPerToken,
          warmupPerToken: checkpoint ? 0 : plan.warmupPerToken,
          verifyEvery: plan.verify.every,
          stop: { perTokenSignatures: null, sharedTotal: remainingTotal, durationNs: remainingNs },
          recovery: { giveUpAfterMs: plan.giveUpAfterMs, keyLabel: plan.keyLabel, pin: setup.pin },
          runDir: dir,
          recordsFile: RECORDS_FILE,
          stats,
          resume: checkpoint ? { firstSequenceByWorker, startOffsetBaseUs } : undefined,
        },
        control,
        () => {
          const nowMs = Date.now();
          const done = stats.signaturesOk + stats.signaturesFailed;
          const signingS = stats.windowEndUs / 1e6;
          const averagePerS = signingS > 0 ? stats.signaturesOk / signingS : 0;
          const currentPerS = nowMs > last.atMs ? ((done - last.done) * 1000) / (nowMs - last.atMs) : 0;
          if (nowMs - last.atMs >= 1000) last = { atMs: nowMs, done };
          const eta = target !== null && averagePerS > 0 ? `, ETA ${hms((target - done) / averagePerS)}` : '';
          ui.progress(`elapsed ${hms(signingS)}, ${done}${target !== null ? ` / ${target}` : ''} signatures, ${currentPerS.toFixed(1)}/s now, ${averagePerS.toFixed(1)}/s average, ${stats.signaturesFailed} failed${eta}`);
        },
      );
      workerIssues = run.workerIssues;
    } finally {
      clearInterval(checkpointTimer);
      ui.progressDone();
    }
    const final = result();
    writeRunJson(dir, final);
    saveCheckpoint(!interruption.requested);
    return { result: final, dir };
  } finally {
    interruption.dispose();
    setup.close();
  }
}
