import { closeSync, constants, existsSync, openSync, fstatSync, ftruncateSync } from 'node:fs';
import { failureOf } from '../model/record-status.js';
import type { ConfigurationStats } from '../stats/configuration-stats.js';
import { usageError } from '../core/errors.js';
import { binaryRecords, isBinaryRecords, MAGIC, readRecords, type BadParts, type RecordsTail } from './records-file.js';
import { shown } from '../core/quote.js';

/**
 * Cuts a records file back to its last whole block: a process killed mid-write (kill -9, power loss) can leave
 * half a block, which is not a call. Returns the number of bytes removed.
 */
export function truncateToLastBlock(path: string): number {
  // Not blocking on a FIFO planted in its place, and cutting nothing but a regular file.
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw usageError(`${shown(path)} is not a regular file`, 'the records file was changed or does not belong to this run; start a new burn-in');
    // A file cut inside its magic holds nothing yet; one with other contents is refused when it is replayed.
    if (!isBinaryRecords(fd)) {
      if (info.size < MAGIC.length) ftruncateSync(fd, 0);
      return info.size < MAGIC.length ? info.size : 0;
    }
    const tail: RecordsTail = { completeBytes: 0 };
    for (const _ of binaryRecords(fd, { count: 0 }, tail));
    ftruncateSync(fd, tail.completeBytes);
    return info.size - tail.completeBytes;
  } finally {
    closeSync(fd);
  }
}

/**
 * The complete records in a file (a torn last block is not one), and where the latest of them ended on the run's
 * time axis (µs): what a process that died had put on disk. Nothing when there is no file.
 */
export function recordsOnDisk(path: string): { records: number; endOffsetUs: number } {
  const none = { records: 0, endOffsetUs: 0 };
  if (!existsSync(path)) return none;
  // Not blocking on a FIFO planted in its place: only a regular file holds records.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile() || !isBinaryRecords(fd)) return none;
    let records = 0;
    let endOffsetUs = 0;
    for (const block of binaryRecords(fd)) {
      records += block.length;
      for (const r of block) endOffsetUs = Math.max(endOffsetUs, r.startOffsetUs + r.latencyUs);
    }
    return { records, endOffsetUs };
  } finally {
    closeSync(fd);
  }
}

export interface Replayed {
  records: number;
  /** Next sequence number per (token, thread), indexed token × threadsPerToken + thread. */
  nextSequenceByWorker: number[];
}

/** What the records of a run must fit: its configuration, tokens and threads, and the time it has existed. */
export interface RecordsShape {
  configuration: string;
  tokenCount: number;
  threadsPerToken: number;
  /** No signature can have started later than the run's age: signing time is never more than wall time. */
  maxStartOffsetUs: number;
}

/**
 * Feeds every record of a file into `stats`, exactly as the recorder did when they were made. The records must be
 * this run's: its configuration, tokens and threads, each (token, thread) numbering its signatures 0, 1, 2 …
 * in file order (the engine writes them so, and a crash only cuts the end), and no start later than the run's
 * age. Anything else means the file was changed, and nothing is resumed or reported from it.
 */
export async function replayRecords(path: string, shape: RecordsShape, stats: ConfigurationStats): Promise<Replayed> {
  const { tokenCount, threadsPerToken } = shape;
  const nextSequenceByWorker = new Array<number>(tokenCount * threadsPerToken).fill(0);
  const bad: BadParts = { count: 0 };
  const refuse = (problem: string) => usageError(`${shown(path)} ${problem}`, 'the records file was changed or does not belong to this run; start a new burn-in');
  let records = 0;
  for await (const r of readRecords(path, bad)) {
    if (r.token >= tokenCount || r.thread >= threadsPerToken) {
      throw refuse(`has a record of token ${r.token}, thread ${r.thread}; the run has ${tokenCount} tokens × ${threadsPerToken} threads`);
    }
    if (r.configuration !== shape.configuration) throw refuse(`has a record of configuration ${r.configuration}; the run's is ${shape.configuration}`);
    const worker = r.token * threadsPerToken + r.thread;
    if (r.sequence !== nextSequenceByWorker[worker]) {
      throw refuse(`has signature ${r.sequence} of token ${r.token}, thread ${r.thread} where ${nextSequenceByWorker[worker]} comes next (a repeated or missing record)`);
    }
    if (r.startOffsetUs > shape.maxStartOffsetUs) throw refuse(`has a signature that started ${(r.startOffsetUs / 1e6).toFixed(1)} s into the run, later than the run has existed`);
    nextSequenceByWorker[worker] = r.sequence + 1;
    stats.add(r.token, r, failureOf(r));
    records++;
  }
  if (bad.count > 0) {
    throw usageError(
      `${shown(path)} has ${bad.count} ${bad.first!.unit}(s) that are not records (first: ${bad.first!.unit} ${bad.first!.number})`,
      'the records were changed by hand or by another program; start a new burn-in',
    );
  }
  return { records, nextSequenceByWorker };
}
