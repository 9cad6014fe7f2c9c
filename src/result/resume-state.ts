import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, usageError } from '../core/errors.js';
import type { InputKind } from '../core/input-file.js';
import { readJsonFile } from '../core/json-text.js';
import { shown } from '../core/quote.js';
import { restoreStats, snapshotStats } from '../stats/stats-snapshot.js';
import type { ConfigurationStats } from '../stats/configuration-stats.js';
import { writeFileAtomic } from './run-directory.js';

/**
 * resume-state.json: what a burn-in that does not keep every call's record (--records failures or none) resumes
 * from, since its records cannot be counted again: its statistics, each (token, thread)'s next sequence, and how long
 * the records file was. Written atomically with every checkpoint, before it.
 */
export const RESUME_STATE_FILE = 'resume-state.json';

export interface ResumeState {
  /** Calls counted in `stats`: the records a checkpoint of a run keeping all of them would have counted on disk. */
  calls: number;
  /** Where the latest call ended on the run's time axis (µs). */
  endOffsetUs: number;
  /** Per (token, thread), token × threadsPerToken + thread: the sequence of its next call. */
  nextSequenceByWorker: number[];
  /** Bytes of the records file when the state was written (synced): what a resume cuts it back to. */
  recordsBytes: number;
  /** Bytes of the interval log then (every interval flushed): what a resume cuts it back to. */
  intervalLogBytes: number;
  /** The statistics, as src/stats/stats-snapshot.ts keeps them. */
  stats: unknown;
}

/** Statistics of a long run: histograms and holes per token, some hundred KiB for many tokens. */
const RESUME_STATE_INPUT: InputKind = { what: 'resume state', maxBytes: 256 * 1024 * 1024, exitCode: ExitCode.usage, hint: 'give --resume the run directory of a burn-in that hsm-bench started' };

export function writeResumeState(dir: string, stats: ConfigurationStats, nextSequenceByWorker: readonly number[], recordsBytes: number, intervalLogBytes: number): void {
  const state: ResumeState = {
    calls: stats.operationsOk + stats.operationsFailed,
    endOffsetUs: stats.windowEndUs,
    nextSequenceByWorker: [...nextSequenceByWorker],
    recordsBytes,
    intervalLogBytes,
    stats: snapshotStats(stats),
  };
  writeFileAtomic(join(dir, RESUME_STATE_FILE), JSON.stringify(state) + '\n');
}

/** The state a burn-in last wrote, or null where it wrote none (it had not reached its first checkpoint). */
export function readResumeState(dir: string, workers: number): ResumeState | null {
  const path = join(dir, RESUME_STATE_FILE);
  if (!existsSync(path)) return null;
  const state = readJsonFile(path, RESUME_STATE_INPUT) as ResumeState;
  const whole = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  const valid =
    typeof state === 'object' &&
    state !== null &&
    whole(state.calls) &&
    whole(state.recordsBytes) &&
    whole(state.intervalLogBytes) &&
    typeof state.endOffsetUs === 'number' &&
    Array.isArray(state.nextSequenceByWorker) &&
    state.nextSequenceByWorker.length === workers &&
    state.nextSequenceByWorker.every(whole) &&
    typeof state.stats === 'object';
  if (!valid) throw usageError(`${shown(path)} is not a resume state of this run`, 'it was changed or does not belong to this run; start a new burn-in');
  return state;
}

/** Fills fresh statistics from a state. */
export const restoreFromState = (stats: ConfigurationStats, state: ResumeState): void => restoreStats(stats, state.stats);
