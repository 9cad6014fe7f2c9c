import { closeSync, openSync, readSync, fstatSync, ftruncateSync } from 'node:fs';
import { VERIFY_FAILED } from '../engine/recorder.js';
import type { ConfigurationStats } from '../stats/configuration-stats.js';
import { readRecords } from './records-csv.js';

/**
 * Cuts a records file back to its last complete line: a process killed mid-write (kill -9, power loss) can leave
 * half a row, which is not a signature. Returns the number of bytes removed.
 */
export function truncateToLastLine(path: string): number {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, 4096));
    for (let end = size; end > 0; ) {
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

/** Feeds every record of a file into `stats`, exactly as the recorder did when they were made. */
export async function replayRecords(path: string, tokenLabels: readonly string[], threadsPerToken: number, stats: ConfigurationStats): Promise<Replayed> {
  const nextSequenceByWorker = new Array<number>(tokenLabels.length * threadsPerToken).fill(0);
  let records = 0;
  for await (const r of readRecords(path)) {
    const token = tokenLabels.indexOf(r.token);
    if (token < 0) throw new Error(`records of ${path} name a token '${r.token}' that the run does not have`);
    const worker = token * threadsPerToken + r.thread;
    nextSequenceByWorker[worker] = Math.max(nextSequenceByWorker[worker]!, r.sequence + 1);
    stats.add(token, r.startOffsetUs, r.latencyUs, r.status !== 'CKR_OK' ? r.status : r.verified === false ? VERIFY_FAILED : undefined);
    if (r.verified !== null) stats.signaturesVerified++;
    records++;
  }
  return { records, nextSequenceByWorker };
}
