import { repetitionOf } from '../stats/repetitions.js';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readJsonFile } from '../core/json-text.js';
import { plannedConfigurations } from '../model/plan.js';
import { BURN_IN_RECORDS_FILE, CHECKPOINT_FILE, CHECKPOINT_INPUT } from './checkpoint.js';
import { recordsOfBatch } from './batch-records.js';
import { failureOf } from '../model/record-status.js';
import { readRecords, type BadParts } from './records-file.js';
import { ConfigurationStats } from '../stats/configuration-stats.js';
import { runFigures, summarizeConfiguration } from '../stats/summarize.js';
import { harnessOfSegments, type HarnessFacts } from '../stats/harness-of-segments.js';
import { schemaProblems } from './schemas.js';
import { readSpillFile, type SpillTail } from './spill-file.js';
import {
  configurationAxes,
  configurationFiles,
  configurationName,
  configurationSlug,
  dataSizeOf,
  payloadFields,
  sameConfiguration,
  targetRateOf,
  type ConfigurationAxes,
} from '../model/configuration.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import { readRunJson } from './run-directory.js';
import { readResumeState, restoreFromState, RESUME_STATE_FILE, type ResumeState } from './resume-state.js';

/** A run as `report` reads it: run.json with what the records on disk add, and what was found on the way. */
export interface RecountedRun {
  result: RunResult;
  /** What was counted again, from which files, and what could not be (one line each). */
  notes: string[];
}

/**
 * A run as every reader of run directories takes it (report, compare, trend, --baseline, a lab's baseline): its
 * run.json with every call its records and spill files on disk add, so that no two commands tell one run apart.
 * `path`: a run directory, or a run.json (its directory's records are counted where they are beside it).
 */
export async function readRunDirectory(path: string): Promise<RecountedRun & { dir: string }> {
  const dir = path.endsWith('.json') ? dirname(path) : path;
  return { dir, ...(await withRecordsOnDisk(dir, readRunJson(path))) };
}

/** Only plain files are read: a FIFO or a device put in place of a records or spill file would block or never end. */
const isFile = (path: string) => statSync(path, { throwIfNoEntry: false })?.isFile() === true;

/**
 * A burn-in that kept only failures' records (or none), counted from the statistics its last checkpoint kept
 * (resume-state.json): the calls after it died with the process.
 */
/** A counted configuration with its data size's fields (--data-size), as the run would have written them. */
const withDataFields = (c: ConfigurationResult, axes: ConfigurationAxes, r: RunResult): ConfigurationResult => ({
  ...c,
  ...payloadFields(dataSizeOf(axes), r.plan.multipartChunkBytes ?? null, c.throughputPerS),
});

/** A killed run's facts of the harness to the end of its calls on the run's time axis (µs): see harnessOfKilled. */
type HarnessTo = (endUs: number) => HarnessFacts;

function countedFromState(r: RunResult, axes: ConfigurationAxes, state: ResumeState, notes: string[], harnessTo: HarnessTo): ConfigurationResult {
  const stats = new ConfigurationStats(axes.tokens, r.operation?.mix?.map((m) => m.name) ?? []);
  restoreFromState(stats, state);
  notes.push(
    `${configurationName(axes)}: the run stopped in it; its calls counted from ${RESUME_STATE_FILE} (its records keep ${r.plan.records === 'none' ? 'no call' : 'only failures'}): ${state.calls}`,
  );
  const rate = targetRateOf(axes);
  return withDataFields(
    summarizeConfiguration(
      {
        stats,
        recordsFile: BURN_IN_RECORDS_FILE,
        workerIssues: [],
        partial: 'killed',
        ...harnessTo(stats.windowEndUs),
        // An operation the host cannot check: every success is unverified, as the run itself counts them.
        ...(r.operation?.checkSkipped && stats.operationsOk > stats.operationsVerified ? { operationsUnverified: stats.operationsOk - stats.operationsVerified } : {}),
      },
      r.tokens.slice(0, axes.tokens),
      axes.threadsPerToken,
      rate === null ? null : { targetRatePerS: rate, calls: 0, interrupted: true },
    ),
    axes,
    r,
  );
}

/**
 * A run that was killed (kill -9, power loss, a third Ctrl-C) left run.json as of its last write: without the
 * configuration it was in, and with calls still in a spill file waiting for verification. Every call on disk is
 * counted again here: a scale run's configurations that run.json lacks, from their records and spill files; a
 * burn-in whose checkpoint is not marked finished, from its records. What is counted is marked partial ('killed').
 */
export async function withRecordsOnDisk(dir: string, r: RunResult): Promise<RecountedRun> {
  const notes: string[] = [];
  let configurations = r.configurations;
  let finishedAt = r.finishedAt;
  if (r.command === 'burn-in') {
    const c = r.configurations[0];
    // A run.json written at the end (not interrupted: finished, or ended early by its tokens) holds every record.
    const checkpoint = checkpointOf(dir);
    if (!c || !r.interrupted || checkpoint === null || checkpoint.finished === true) return { result: r, notes };
    const state = r.plan.records === undefined ? null : readResumeState(dir, r.plan.tokenCounts[0]! * r.plan.threadsPerToken[0]!);
    const harnessTo = harnessOfKilled(checkpoint);
    let counted = state ? countedFromState(r, c, state, notes, harnessTo) : await countConfiguration(dir, r, c, { recordsFile: c.recordsFile, spillFile: null }, notes, harnessTo);
    // The records file alone is not trusted: one cut short (truncated, edited) would read as a shorter night.
    const recordsAtCheckpoint = typeof checkpoint.progress?.records === 'number' ? checkpoint.progress.records : 0;
    const held = counted.operationsOk + counted.operationsFailed;
    // Records missing between others are counted lost already.
    const missing = recordsAtCheckpoint - held - (counted.operationsLost ?? 0);
    if (missing > 0) {
      notes.push(
        `the checkpoint says ${recordsAtCheckpoint} records were on disk, and ${c.recordsFile} holds ${held}: ${missing} records are missing from its end (cut short or edited); they count as lost`,
      );
      counted = { ...counted, operationsLost: (counted.operationsLost ?? 0) + missing };
    }
    configurations = [{ ...counted, workerIssues: c.workerIssues, ...(c.hungSessions ? { hungSessions: c.hungSessions } : {}) }];
    // Its run.json was last written when its last segment began: it stopped at its last record, not then.
    finishedAt = lastRecordAt(r, counted.durationS) ?? finishedAt;
  } else {
    const repeat = r.plan.repeat ?? 1;
    const planned = plannedConfigurations(r.plan.tokenCounts, r.plan.threadsPerToken, r.plan.targetRate ?? null, r.plan.dataSizesBytes ?? null);
    for (let repetition = 1; repetition <= repeat; repetition++) {
      for (const p of planned) {
        const axes = configurationAxes(p.tokens, p.threadsPerToken, p.targetRatePerS, p.dataSizeBytes);
        const files = configurationFiles(axes, repetition, repeat);
        const held = configurations.find((c) => sameConfiguration(c, axes));
        if (held && [held, ...(held.repetitions ?? [])].some((x) => x.recordsFile === files.recordsFile)) continue;
        if (!isFile(join(dir, files.recordsFile)) && !isFile(join(dir, files.spillFile))) continue;
        const counted = await countConfiguration(dir, r, axes, files, notes, harnessOfKilled(null));
        // Interrupted in its warm-up: its records file holds no call, and nothing was measured.
        if (counted.operationsOk + counted.operationsFailed === 0) continue;
        configurations = held ? configurations.map((c) => (c === held ? withRepetition(c, counted) : c)) : [...configurations, counted];
      }
    }
    if (configurations === r.configurations) return { result: r, notes };
  }
  return { result: { ...r, finishedAt, interrupted: true, ...runFigures(r.command, r.plan, configurations) }, notes };
}

/**
 * When a burn-in's last record ended, from where it lies on the time axis (`endS`): its segment's start plus the
 * signing time since (the sessions' set-up before the first call makes it a little early, never late).
 */
function lastRecordAt(r: RunResult, endS: number): string | undefined {
  const segment = r.burnIn?.segments.at(-1);
  if (segment === undefined || Number.isNaN(Date.parse(segment.startedAt))) return undefined;
  return new Date(Date.parse(segment.startedAt) + Math.max(0, endS - segment.startOffsetS) * 1000).toISOString();
}

interface CheckpointSeen {
  finished?: unknown;
  progress?: { records?: unknown };
  harness?: HarnessFacts;
}
/**
 * A burn-in's checkpoint as far as a recount needs it; null without one (a run.json copied out of its run directory:
 * run.json is all there is). One that cannot be read is an unfinished burn-in with nothing to check the records against.
 */
function checkpointOf(dir: string): CheckpointSeen | null {
  const path = join(dir, CHECKPOINT_FILE);
  if (!isFile(path)) return null;
  try {
    return (readJsonFile(path, CHECKPOINT_INPUT) as CheckpointSeen | null) ?? {};
  } catch {
    return {};
  }
}

/**
 * A killed run's facts of the harness (host stalls, event loop, CPU), as a resume takes them: those saved (a burn-in's
 * last checkpoint; a scale run saves none before its configuration ends), the stretch from there to its last call not
 * known (it died with the process), so that a stall in it is not blamed on the tokens. A checkpoint not of the
 * schema's shape saved none that can be trusted.
 */
function harnessOfKilled(checkpoint: CheckpointSeen | null): HarnessTo {
  const saved = checkpoint !== null && schemaProblems('checkpoint', checkpoint).length === 0 ? checkpoint.harness : undefined;
  return (endUs) => harnessOfSegments(saved ?? { harnessUntilUs: 0 }, {}, endUs);
}

/** A configuration whose other repetitions run.json holds gets the counted one in its list; its figures stay those of the whole ones. */
function withRepetition(c: ConfigurationResult, counted: ConfigurationResult): ConfigurationResult {
  return { ...c, partial: 'killed', repetitions: [...(c.repetitions ?? [repetitionOf(c)]), repetitionOf(counted)] };
}

/**
 * One configuration counted from its records and its spill file. The records of each (token, thread) run 0, 1, 2 …;
 * a spill file holds the batches that signer made after it started spilling, some of which the records may hold
 * already (a kill while the spill was being verified): only calls after the last record are added. A hole between
 * the last record and the first spilled call is calls made whose batches died with the process.
 */
async function countConfiguration(
  dir: string,
  r: RunResult,
  axes: ConfigurationAxes,
  files: { recordsFile: string; spillFile: string | null },
  notes: string[],
  harnessTo: HarnessTo,
): Promise<ConfigurationResult> {
  const threads = axes.threadsPerToken;
  const operations = r.operation?.mix?.map((m) => m.name) ?? [r.operation?.name ?? 'sign'];
  const stats = new ConfigurationStats(axes.tokens, r.operation?.mix?.map((m) => m.name) ?? []);
  const nextSequence = new Array<number>(axes.tokens * threads).fill(0);
  const bad: BadParts = { count: 0 };
  let recorded = 0;
  let repeated = 0;
  let missing = 0;
  const recordsPath = join(dir, files.recordsFile);
  if (isFile(recordsPath)) {
    for await (const record of readRecords(recordsPath, bad)) {
      // A line of another shape is not this configuration's call: counted as not a record.
      if (record.token >= axes.tokens || record.thread >= threads) {
        bad.count++;
        continue;
      }
      const worker = record.token * threads + record.thread;
      // Each session's records run 0, 1, 2 … in the file (the writer keeps that order; a crash only cuts the end): a
      // sequence seen before is a repeated line, not another call; one further on leaves calls missing.
      if (record.sequence < nextSequence[worker]!) {
        repeated++;
        continue;
      }
      missing += record.sequence - nextSequence[worker]!;
      nextSequence[worker] = record.sequence + 1;
      stats.add(record.token, record, failureOf(record));
      recorded++;
    }
  }
  let spilled = 0;
  let unverified = 0;
  let lost = 0;
  const spillPath = files.spillFile === null ? null : join(dir, files.spillFile);
  const tail: SpillTail = { tornCalls: 0, tornBytes: 0 };
  if (spillPath !== null && isFile(spillPath)) {
    for (const batch of readSpillFile(spillPath, tail)) {
      const worker = batch.worker;
      if (worker >= nextSequence.length) continue;
      const [token, thread] = [Math.floor(worker / threads), worker % threads];
      const from = nextSequence[worker]!;
      lost += Math.max(0, batch.firstSequence - from);
      for (const record of recordsOfBatch(batch, { configuration: configurationSlug(axes), token, thread, operations, startOffsetBaseUs: 0 })) {
        if (record.sequence < from) continue;
        stats.add(token, record, failureOf(record));
        spilled++;
        if (batch.kept[record.sequence - batch.firstSequence] === 1) unverified++;
      }
      nextSequence[worker] = Math.max(from, batch.firstSequence + batch.count);
    }
    lost += tail.tornCalls;
  }
  const name = configurationName(axes);
  const found = [`${recorded} from ${files.recordsFile}`, ...(spillPath !== null && isFile(spillPath) ? [`${spilled} from ${files.spillFile}, never verified`] : [])];
  notes.push(
    `${name}: the run stopped in it; its calls counted from disk: ${found.join(', ')}` +
      (lost > 0 ? `; ${lost} calls were made but their outcome died with the process` : '') +
      (repeated > 0 ? `; ${repeated} repeated record(s) skipped (the file was edited or copied into)` : '') +
      (missing > 0 ? `; ${missing} record(s) missing between others (the file was edited): counted lost` : '') +
      (bad.count > 0 ? `; ${bad.count} line(s) that are not records skipped` : '') +
      (tail.tornBytes > 0 && tail.tornCalls === 0 ? `; the spill file ends in ${tail.tornBytes} bytes that are not a batch` : ''),
  );
  // An operation the host cannot check: every success is unverified, as the run itself counts them.
  if (r.operation?.checkSkipped) unverified = stats.operationsOk - stats.operationsVerified;
  const rate = targetRateOf(axes);
  return withDataFields(
    summarizeConfiguration(
      {
        stats,
        recordsFile: files.recordsFile,
        workerIssues: [],
        partial: 'killed',
        ...(unverified > 0 ? { operationsUnverified: unverified } : {}),
        ...(lost + missing > 0 ? { operationsLost: lost + missing } : {}),
        ...harnessTo(stats.windowEndUs),
      },
      r.tokens.slice(0, axes.tokens),
      threads,
      rate === null ? null : { targetRatePerS: rate, calls: 0, interrupted: true },
    ),
    axes,
    r,
  );
}
