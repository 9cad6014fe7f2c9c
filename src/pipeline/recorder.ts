import type { RecordsFileWriter } from '../result/records-file.js';
import { recordsOfBatch } from '../result/batch-records.js';
import { CALL_TIMED_OUT_STATUS, failureOf } from '../model/record-status.js';
import type { IntervalHistograms } from '../stats/interval-histograms.js';
import type { ConfigurationStats } from '../stats/configuration-stats.js';
import type { CallBatch } from '../model/call-batch.js';
import type { RecordsKept } from '../model/plan.js';

/** Where the records go (the records file's writer, or a test's own). */
export type RecordSink = Pick<RecordsFileWriter, 'write'>;

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
    private readonly writer: RecordSink,
    readonly stats: ConfigurationStats,
    /** The workload's operations, by the index each call's record carries. */
    private readonly operations: readonly string[],
    /** Where this segment starts on the run's time axis (a resumed burn-in continues after the last record). */
    private readonly startOffsetBaseUs = 0,
    /** Which calls' records go to the file; the statistics count every call. */
    private readonly kept: RecordsKept = 'all',
    /** Per worker, the sequence of its next call, kept up to date here: where a resume continues when the records do not say it. */
    private readonly nextSequenceByWorker: number[] = [],
    /** Per-second histograms of the calls, for the interval log. */
    private readonly intervals?: IntervalHistograms,
  ) {}

  add(batch: CallBatch): void {
    const w = this.workers[batch.worker]!;
    const origin = { configuration: this.configuration, token: w.token, thread: w.thread, operations: this.operations, startOffsetBaseUs: this.startOffsetBaseUs };
    for (const record of recordsOfBatch(batch, origin)) {
      const failure = failureOf(record);
      if (this.kept === 'all' || (this.kept === 'failures' && failure !== undefined)) this.writer.write(record);
      this.stats.add(w.token, record, failure);
      // By the second the call ended in, as the statistics count it (one that never returned: when it started).
      const endUs = failure === CALL_TIMED_OUT_STATUS ? record.startOffsetUs : record.startOffsetUs + record.latencyUs;
      this.intervals?.add(w.token, record.operation, failure === undefined, endUs, record.latencyUs);
    }
    this.nextSequenceByWorker[batch.worker] = batch.firstSequence + batch.count;
  }
}
