import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BurnInOptions } from '../engine/plan.js';
import type { VerdictFlags } from '../verdict/thresholds.js';
import { ExitCode, usageError } from '../errors.js';
import type { InputKind } from '../core/input-file.js';
import { readJsonFile, versionText } from '../core/json-text.js';
import type { TokenIdentity } from '../result/run-result.js';
import { schemaProblems } from '../result/schemas.js';
import { shown } from '../core/quote.js';

export const CHECKPOINT_FILE = 'checkpoint.json';

/** A checkpoint holds the plan, the tokens and the segments: a few KiB, a MiB for a long run resumed often. */
export const CHECKPOINT_INPUT: InputKind = {
  what: 'checkpoint',
  maxBytes: 4 * 1024 * 1024,
  exitCode: ExitCode.usage,
  hint: 'give --resume the run directory of a burn-in that hsm-bench started',
};

/**
 * checkpoint.json: what a resumed burn-in needs besides its records — the plan's options (never a PIN), the run's
 * tokens (their index is their identity in the records), the tokens whose PIN failed, the segments so far — and
 * the progress when it was written (atomically, every 10 s). The records file stays the authority on what was
 * signed: a resume recounts it.
 */
export interface Checkpoint {
  schemaVersion: 2;
  runId: string;
  startedAt: string;
  /** The command line of the first segment: the one that reproduces the run. */
  commandLine?: string;
  options: BurnInOptions;
  /** The CI flags of the run (thresholds, baseline, JUnit path), applied again on resume unless given anew. */
  verdict: VerdictFlags;
  tokens: TokenIdentity[];
  pinRefused: number[];
  segments: { startedAt: string; startOffsetS: number }[];
  progress: { signatures: number; signaturesOk: number; signaturesFailed: number; signingS: number };
  updatedAt: string;
  finished: boolean;
}

/** Reads and checks a checkpoint: a torn, foreign or hand-edited file is the user's input, not a crash (exit 2). */
export function readCheckpoint(runDir: string): Checkpoint {
  const path = join(runDir, CHECKPOINT_FILE);
  const bad = (problem: string) => usageError(`${shown(path)} ${problem}`, 'give --resume the run directory of a burn-in that hsm-bench started');
  if (!existsSync(path)) throw usageError(`${shown(runDir)} has no ${CHECKPOINT_FILE}`, 'give the run directory of a burn-in to --resume');
  const doc = readJsonFile(path, CHECKPOINT_INPUT) as Checkpoint;
  if (typeof doc !== 'object' || doc === null) throw bad('is not a checkpoint');
  if (doc.schemaVersion !== 2) throw bad(`has checkpoint version ${versionText(doc.schemaVersion)}; this hsm-bench reads version 2`);
  const problems = schemaProblems('checkpoint', doc);
  if (problems.length > 0) throw bad(`does not have the shape of schemas/checkpoint.schema.json: ${problems.slice(0, 3).join('; ')}`);
  // What a schema cannot say: a run id that is a file name, a real date, refused tokens that are tokens of the run.
  if (!/^[\w.-]+$/.test(doc.runId) || Number.isNaN(Date.parse(doc.startedAt))) throw bad('has no valid runId or startedAt');
  if (doc.tokens.length === 0 || !doc.pinRefused.every((t) => t < doc.tokens.length)) throw bad('has no valid token list');
  if (doc.finished === true) throw usageError(`the burn-in in ${shown(runDir)} has finished; there is nothing to resume`, 'start a new burn-in');
  return doc;
}
