import type { RecordsFileWriter } from '../result/records-file.js';
import { recordsOfBatch } from '../result/batch-records.js';
import { failureOf } from '../model/record-status.js';
import type { ConfigurationStats } from '../stats/configuration-stats.js';
import type { CallBatch } from '../model/call-batch.js';

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
    /** The configuration's name, for the records' configuration column. */
    private readonly configuration: string,
    private readonly workers: readonly WorkerAssignment[],
    private readonly writer: RecordsFileWriter,
    readonly stats: ConfigurationStats,
    /** The workload's operations, by the index each call's record carries. */
    private readonly operations: readonly string[],
    /** Where this segment starts on the run's time axis (a resumed burn-in continues after the last record). */
    private readonly startOffsetBaseUs = 0,
  ) {}

  add(batch: CallBatch): void {
    const w = this.workers[batch.worker]!;
    const origin = { configuration: this.configuration, token: w.token, thread: w.thread, operations: this.operations, startOffsetBaseUs: this.startOffsetBaseUs };
    for (const record of recordsOfBatch(batch, origin)) {
      this.writer.write(record);
      this.stats.add(w.token, record, failureOf(record));
    }
  }
}
