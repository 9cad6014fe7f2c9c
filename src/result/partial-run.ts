import { statSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../core/json-text.js';
import { plannedConfigurations } from '../model/plan.js';
import { CHECKPOINT_FILE, CHECKPOINT_INPUT } from './checkpoint.js';
import { recordsOfBatch } from './batch-records.js';
import { failureOf } from '../model/record-status.js';
import { readRecords, type BadLines } from './records-csv.js';
import { ConfigurationStats } from '../stats/configuration-stats.js';
import { runFigures, summarizeConfiguration } from '../stats/summarize.js';
import { readSpillFile, type SpillTail } from './spill-file.js';
import { configurationAxes, configurationFiles, configurationName, sameConfiguration, targetRateOf, type ConfigurationAxes } from '../model/configuration.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';

/** A run as `report` reads it: run.json with what the records on disk add, and what was found on the way. */
export interface RecountedRun {
  result: RunResult;
  /** What was counted again, from which files, and what could not be (one line each). */
  notes: string[];
}

/** Only plain files are read: a FIFO or a device put in place of a records or spill file would block or never end. */
const isFile = (path: string) => statSync(path, { throwIfNoEntry: false })?.isFile() === true;

/**
 * A run that was killed (kill -9, power loss, a third Ctrl-C) left run.json as of its last write: without the
 * configuration it was in, and with calls still in a spill file waiting for verification. Every call on disk is
 * counted again here: a scale run's configurations that run.json lacks, from their records and spill files; a
 * burn-in whose checkpoint is not marked finished, from its records. What is counted is marked partial ('killed').
 */
export async function withRecordsOnDisk(dir: string, r: RunResult): Promise<RecountedRun> {
  const notes: string[] = [];
  let configurations = r.configurations;
  if (r.command === 'burn-in') {
    const c = r.configurations[0];
    if (!c || burnInFinished(dir)) return { result: r, notes };
    const counted = await countConfiguration(dir, r, c, { recordsFile: c.recordsFile, spillFile: null }, notes);
    configurations = [{ ...counted, workerIssues: c.workerIssues, ...(c.hungSessions ? { hungSessions: c.hungSessions } : {}) }];
  } else {
    const repeat = r.plan.repeat ?? 1;
    const planned = plannedConfigurations(r.plan.tokenCounts, r.plan.threadsPerToken, r.plan.targetRate ?? null);
    for (let repetition = 1; repetition <= repeat; repetition++) {
      for (const p of planned) {
        const axes = configurationAxes(p.tokens, p.threadsPerToken, p.targetRatePerS);
        const files = configurationFiles(axes, repetition, repeat);
        const held = configurations.find((c) => sameConfiguration(c, axes));
        if (held && [held, ...(held.repetitions ?? [])].some((x) => x.recordsFile === files.recordsFile)) continue;
        if (!isFile(join(dir, files.recordsFile)) && !isFile(join(dir, files.spillFile))) continue;
        const counted = await countConfiguration(dir, r, axes, files, notes);
        // Interrupted in its warm-up: its records file holds no call, and nothing was measured.
        if (counted.operationsOk + counted.operationsFailed === 0) continue;
        configurations = held ? configurations.map((c) => (c === held ? withRepetition(c, counted) : c)) : [...configurations, counted];
      }
    }
    if (configurations === r.configurations) return { result: r, notes };
  }
  return { result: { ...r, interrupted: true, ...runFigures(r.command, r.plan, configurations) }, notes };
}

function burnInFinished(dir: string): boolean {
  // Without a checkpoint (a run.json copied out of its run directory) run.json is all there is.
  const path = join(dir, CHECKPOINT_FILE);
  if (!isFile(path)) return true;
  try {
    return (readJsonFile(path, CHECKPOINT_INPUT) as { finished?: unknown })?.finished === true;
  } catch {
    return false;
  }
}

/** A configuration whose other repetitions run.json holds gets the counted one in its list; its figures stay those of the whole ones. */
function withRepetition(c: ConfigurationResult, counted: ConfigurationResult): ConfigurationResult {
  const asRepetition = (x: ConfigurationResult) => ({
    throughputPerS: x.throughputPerS,
    durationS: x.durationS,
    operationsOk: x.operationsOk,
    operationsFailed: x.operationsFailed,
    operationsVerified: x.operationsVerified,
    latencyMs: x.latencyMs,
    recordsFile: x.recordsFile,
    workerIssues: x.workerIssues,
    ...(x.openLoop ? { openLoop: x.openLoop } : {}),
    ...(x.partial ? { partial: x.partial } : {}),
  });
  return { ...c, partial: 'killed', repetitions: [...(c.repetitions ?? [asRepetition(c)]), asRepetition(counted)] };
}

/**
 * One configuration counted from its records and its spill file. The records of each (token, thread) run 0, 1, 2 …;
 * a spill file holds the batches that signer made after it started spilling, some of which the records may hold
 * already (a kill while the spill was being verified): only calls after the last record are added. A hole between
 * the last record and the first spilled call is calls made whose batches died with the process.
 */
async function countConfiguration(dir: string, r: RunResult, axes: ConfigurationAxes, files: { recordsFile: string; spillFile: string | null }, notes: string[]): Promise<ConfigurationResult> {
  const threads = axes.threadsPerToken;
  const operations = r.operation?.mix?.map((m) => m.name) ?? [r.operation?.name ?? 'sign'];
  const stats = new ConfigurationStats(axes.tokens, r.operation?.mix?.map((m) => m.name) ?? []);
  const nextSequence = new Array<number>(axes.tokens * threads).fill(0);
  const bad: BadLines = { count: 0 };
  let recorded = 0;
  const recordsPath = join(dir, files.recordsFile);
  if (isFile(recordsPath)) {
    for await (const record of readRecords(recordsPath, bad)) {
      // A line of another shape is not this configuration's call: counted as not a record.
      if (record.token >= axes.tokens || record.thread >= threads) {
        bad.count++;
        continue;
      }
      const worker = record.token * threads + record.thread;
      nextSequence[worker] = Math.max(nextSequence[worker]!, record.sequence + 1);
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
      for (const record of recordsOfBatch(batch, { configuration: axes.tokens, token, thread, operations, startOffsetBaseUs: 0 })) {
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
      (bad.count > 0 ? `; ${bad.count} line(s) that are not records skipped` : '') +
      (tail.tornBytes > 0 && tail.tornCalls === 0 ? `; the spill file ends in ${tail.tornBytes} bytes that are not a batch` : ''),
  );
  const rate = targetRateOf(axes);
  return summarizeConfiguration(
    {
      stats,
      recordsFile: files.recordsFile,
      workerIssues: [],
      partial: 'killed',
      ...(unverified > 0 ? { operationsUnverified: unverified } : {}),
      ...(lost > 0 ? { operationsLost: lost } : {}),
    },
    r.tokens.slice(0, axes.tokens),
    threads,
    rate === null ? null : { targetRatePerS: rate, calls: 0, interrupted: true },
  );
}
