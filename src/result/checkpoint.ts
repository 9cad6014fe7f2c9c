import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanInput } from '../model/plan-input.js';
import type { VerdictFlags } from '../model/plan-input.js';
import { ExitCode, usageError } from '../core/errors.js';
import type { InputKind } from '../core/input-file.js';
import { readJsonFile, versionText } from '../core/json-text.js';
import { shown } from '../core/quote.js';
import type { BurnInRestart, LostRecords, ProcessDeath, TokenIdentity } from '../model/run-result.js';
import { readRunJson, writeFileAtomic, writeRunJson } from './run-directory.js';
import { schemaProblems } from './schemas.js';
import { recordsOnDisk } from './replay.js';
import { readResumeState } from './resume-state.js';
import type { HarnessFacts } from '../stats/harness-of-segments.js';

export const CHECKPOINT_FILE = 'checkpoint.json';
/** A burn-in's records, in its run directory. */
export const BURN_IN_RECORDS_FILE = join('records', 'burn-in.rec');

/** A checkpoint holds the plan, the tokens and the segments: a few KiB, a MiB for a long run resumed often. */
export const CHECKPOINT_INPUT: InputKind = {
  what: 'checkpoint',
  maxBytes: 4 * 1024 * 1024,
  exitCode: ExitCode.usage,
  hint: 'give --resume the run directory of a burn-in that hsm-bench started',
};

/**
 * checkpoint.json: what a resumed burn-in needs besides its records — the plan's input (never a PIN), the run's
 * tokens (their index is their identity in the records), the tokens whose PIN failed, the segments so far — and
 * the progress when it was written (atomically, every 10 s). The records file stays the authority on what was
 * signed: a resume recounts it, and refuses it when it holds fewer records than the checkpoint saw on disk.
 */
/** Version 5 keeps binary records (records/burn-in.rec); 4 kept them in CSV, 3 kept the flags' text. */
export const CHECKPOINT_VERSION = 5;

export interface Checkpoint {
  schemaVersion: typeof CHECKPOINT_VERSION;
  runId: string;
  startedAt: string;
  /** The command line of the first segment: the one that reproduces the run. */
  commandLine?: string;
  /** The plan as the run started; a resume plans from it alone. */
  plan: PlanInput;
  /** The CI flags of the run (thresholds, baseline, JUnit path), applied again on resume unless given anew. */
  verdict: VerdictFlags;
  tokens: TokenIdentity[];
  pinRefused: number[];
  /** planDigest() of this checkpoint when the run started; run.json keeps it too. */
  planDigest: string;
  segments: { startedAt: string; startOffsetS: number }[];
  /** `records`: the records in the file, written and synced to disk, when this checkpoint was written. */
  progress: { signatures: number; signaturesOk: number; signaturesFailed: number; signingS: number; records: number };
  restarts: BurnInRestart[];
  lostRecords: LostRecords[];
  /**
   * What the harness saw of itself (the host's stalls, the event loop's longest wait, verification's lag, the CPUs'
   * use) over the segments so far, this one to the checkpoint: measured anew by each process, not in the records.
   */
  harness?: HarnessFacts;
  updatedAt: string;
  /** The stop rule was reached: nothing to resume (a run whose tokens all ended before it, or that was stopped, is not finished). */
  finished: boolean;
}

/** JSON with its object keys in order: the same plan gives the same text, whatever order it was built in. */
const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(',')}]`
    : value !== null && typeof value === 'object'
      ? `{${Object.keys(value)
          .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : JSON.stringify(value);

/**
 * What fixes a burn-in: its identity, its plan (target, tokens, algorithm …) and its tokens. Kept in the
 * checkpoint and in run.json, so that a plan edited in one of them is seen on resume; it guards against changes by
 * hand or by another program, not against someone who rewrites both files.
 */
export const planDigest = (c: Pick<Checkpoint, 'runId' | 'startedAt' | 'plan' | 'tokens'>): string =>
  createHash('sha256')
    .update(canonical({ runId: c.runId, startedAt: c.startedAt, plan: c.plan, tokens: c.tokens }))
    .digest('hex');

/**
 * Reads and checks a checkpoint against itself and against run.json: a torn, foreign or hand-edited file is the
 * user's input, not a crash (exit 2).
 */
export function readCheckpoint(runDir: string): Checkpoint {
  const path = join(runDir, CHECKPOINT_FILE);
  const bad = (problem: string) => usageError(`${shown(path)} ${problem}`, 'give --resume the run directory of a burn-in that hsm-bench started');
  if (!existsSync(path)) throw usageError(`${shown(runDir)} has no ${CHECKPOINT_FILE}`, 'give the run directory of a burn-in to --resume');
  const doc = readJsonFile(path, CHECKPOINT_INPUT) as Checkpoint;
  if (typeof doc !== 'object' || doc === null) throw bad('is not a checkpoint');
  if (doc.schemaVersion !== CHECKPOINT_VERSION) {
    throw usageError(
      `${shown(path)} has checkpoint version ${versionText(doc.schemaVersion)}; this hsm-bench resumes version ${CHECKPOINT_VERSION}`,
      'resume it with the hsm-bench version that started it (hsm-bench report reads its records with this one), or start a new burn-in',
    );
  }
  const problems = schemaProblems('checkpoint', doc);
  if (problems.length > 0) throw bad(`does not have the shape of schemas/checkpoint.schema.json: ${problems.slice(0, 3).join('; ')}`);
  // What a schema cannot say: a run id that is a file name, a real date, refused tokens that are tokens of the run.
  if (!/^[\w.-]+$/.test(doc.runId) || Number.isNaN(Date.parse(doc.startedAt))) throw bad('has no valid runId or startedAt');
  if (doc.tokens.length === 0 || !doc.pinRefused.every((t) => t < doc.tokens.length)) throw bad('has no valid token list');
  const started = readRunJson(runDir).burnIn?.planDigest;
  if (planDigest(doc) !== doc.planDigest || started !== doc.planDigest) {
    throw usageError(
      `the plan in ${shown(path)} is not the plan this burn-in started with (the digest kept in run.json): one of the files was changed since`,
      'a burn-in is continued only as it was planned: put checkpoint.json back as hsm-bench wrote it, or start a new burn-in with the plan you want',
    );
  }
  if (doc.finished === true) throw usageError(`the burn-in in ${shown(runDir)} has finished; there is nothing to resume`, 'start a new burn-in');
  return doc;
}

/** What the process last told its supervisor, brought to the moment of its death: calls made so far and the signing time. */
export interface MadeAtDeath {
  /** Calls made by the run (those of earlier processes included), as last told. */
  calls: number;
  /** Where on the run's time axis the tokens were signing when the process died. */
  signingS: number;
}

/**
 * Adds the death of a burn-in's process to its checkpoint and run.json, with the records on disk at that moment and
 * what the crash cut from them (against what the process had said it made), for the supervisor that continues it
 * (which holds the run directory meanwhile). Returns the death as recorded.
 */
export function appendRestart(runDir: string, death: ProcessDeath, made: MadeAtDeath | undefined): BurnInRestart {
  const checkpoint = readCheckpoint(runDir);
  // Without every call's record, what is on disk is the state of the last checkpoint.
  const state = (checkpoint.plan.records ?? 'all') === 'all' ? null : readResumeState(runDir, checkpoint.tokens.length * (checkpoint.plan.threadsPerToken[0] ?? 1));
  const onDisk = state ? { records: state.calls, endOffsetUs: state.endOffsetUs } : recordsOnDisk(join(runDir, BURN_IN_RECORDS_FILE));
  const restart: BurnInRestart = {
    ...death,
    recordsOnDisk: onDisk.records,
    // A process that died before it signed told nothing, and cut nothing from the records.
    callsNotRecorded: made === undefined ? 0 : Math.max(0, made.calls - onDisk.records),
    signingLostS: made === undefined ? 0 : Math.max(0, Math.round((made.signingS - onDisk.endOffsetUs / 1e6) * 1000) / 1000),
  };
  writeFileAtomic(join(runDir, CHECKPOINT_FILE), JSON.stringify({ ...checkpoint, restarts: [...checkpoint.restarts, restart] }, null, 2) + '\n');
  const run = readRunJson(runDir);
  writeRunJson(runDir, { ...run, burnIn: { ...run.burnIn!, restarts: [...(run.burnIn?.restarts ?? []), restart] } });
  return restart;
}
