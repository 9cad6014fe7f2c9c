import { closeSync, openSync, readSync, fstatSync, ftruncateSync } from 'node:fs';
import { failureOf } from './record-status.js';
import type { ConfigurationStats } from '../stats/configuration-stats.js';
import { usageError } from '../errors.js';
import { readRecords, type BadLines } from './records-csv.js';

/**
 * Cuts a records file back to its last complete line: a process killed mid-write (kill -9, power loss) can leave
 * half a row, which is not a signature. Returns the number of bytes removed.
 */
export function truncateToLastLine(path: string): number {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, 4096));
    for (let end = size; end > 0;) {
      const start = Math.max(0, end - tail.length);
      readSync(fd, tail, 0, end - start, start);
      const newline = tail.subarray(0, end - start).lastIndexOf(0x0a);
      if (newline >= 0) {
        const keep = start + newline + 1;
        ftruncateSync(fd, keep);
        return size - keep;
      }
      end = start;
    }
    ftruncateSync(fd, 0);
    return size;
  } finally {
    closeSync(fd);
  }
}

export interface Replayed {
  records: number;
  /** Next sequence number per (token, thread), indexed token × threadsPerToken + thread. */
  nextSequenceByWorker: number[];
}

/**
 * Feeds every record of a file into `stats`, exactly as the recorder did when they were made. Records must name
 * the run's tokens and threads; anything else means the file is not this run's, and nothing is resumed.
 */
export async function replayRecords(path: string, tokenCount: number, threadsPerToken: number, stats: ConfigurationStats): Promise<Replayed> {
  const nextSequenceByWorker = new Array<number>(tokenCount * threadsPerToken).fill(0);
  const bad: BadLines = { count: 0 };
  let records = 0;
  for await (const r of readRecords(path, bad)) {
    if (r.token >= tokenCount || r.thread >= threadsPerToken) {
      throw usageError(
        `${path} has a record of token ${r.token}, thread ${r.thread}; the run has ${tokenCount} tokens × ${threadsPerToken} threads`,
        'the records file does not belong to this run; start a new burn-in',
      );
    }
    const worker = r.token * threadsPerToken + r.thread;
    nextSequenceByWorker[worker] = Math.max(nextSequenceByWorker[worker]!, r.sequence + 1);
    stats.add(r.token, r.startOffsetUs, r.latencyUs, failureOf(r));
    if (r.verified !== null) stats.signaturesVerified++;
    records++;
  }
  if (bad.count > 0) {
    throw usageError(
      `${path} has ${bad.count} line(s) that are not records (first: line ${bad.first!.lineNumber}, '${bad.first!.text}')`,
      'the records were changed by hand or by another program; start a new burn-in',
    );
  }
  return { records, nextSequenceByWorker };
}
