import type { RecordsCsvWriter } from '../record/records-csv.js';
import { failureOf, statusOf } from '../record/record-status.js';
import type { ConfigurationStats } from '../stats/configuration-stats.js';
import { VERIFIED_BAD, VERIFIED_OK, type SignatureBatch } from './batch.js';

export interface WorkerAssignment {
  token: number;
  thread: number;
  messageSeed: Buffer;
}

/**
 * Turns verified batches into records and statistics, in the main thread and off the signing path. A signature
 * that did not verify is a failure (VERIFY_FAILED); one that was not checked counts as made.
 */
export class ConfigurationRecorder {
  constructor(
    private readonly configuration: number,
    private readonly workers: readonly WorkerAssignment[],
    private readonly writer: RecordsCsvWriter,
    readonly stats: ConfigurationStats,
    /** The workload's operations, by the index each call's record carries. */
    private readonly operations: readonly string[],
    /** Where this segment starts on the run's time axis (a resumed burn-in continues after the last record). */
    private readonly startOffsetBaseUs = 0,
  ) {}

  add(batch: SignatureBatch): void {
    const w = this.workers[batch.worker]!;
    for (let i = 0; i < batch.count; i++) {
      const check = batch.verified[i]!;
      const record = {
        configuration: this.configuration,
        token: w.token,
        thread: w.thread,
        sequence: batch.firstSequence + i,
        // Whole µs, as the records keep them: a resume that counts the records again gets the same statistics.
        startOffsetUs: Math.round(this.startOffsetBaseUs + batch.startOffsetNs[i]! / 1000),
        latencyUs: Math.round(batch.latencyNs[i]! / 1000),
        status: statusOf(batch.status[i]!),
        verified: check === VERIFIED_OK ? true : check === VERIFIED_BAD ? false : null,
        operation: this.operations[batch.operation[i]!]!,
        startLagUs: Number.isNaN(batch.startLagNs[i]!) ? null : Math.round(batch.startLagNs[i]! / 1000),
        late: Number.isNaN(batch.startLagNs[i]!) ? null : batch.late[i] === 1,
      };
      this.writer.write(record);
      this.stats.add(w.token, record, failureOf(record));
    }
  }
}
