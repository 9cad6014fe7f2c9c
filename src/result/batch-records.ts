import { VERIFIED_BAD, VERIFIED_OK, type CallBatch } from '../model/call-batch.js';
import { statusOf } from '../model/record-status.js';
import type { CallRecord } from '../model/record.js';

/** Where a batch's calls belong: the configuration (its name, as its records file has it), the signer that made them, and the run's time axis. */
export interface BatchOrigin {
  configuration: string;
  token: number;
  thread: number;
  /** The workload's operations, by the index each call carries. */
  operations: readonly string[];
  /** Where this segment starts on the run's time axis (a resumed burn-in continues after the last record). */
  startOffsetBaseUs: number;
}

/** A batch's calls as records: the one translation the recorder and `report` (reading a spill file) share. */
export function* recordsOfBatch(batch: CallBatch, o: BatchOrigin): Generator<CallRecord> {
  for (let i = 0; i < batch.count; i++) {
    const check = batch.verified[i]!;
    const lagNs = batch.startLagNs[i]!;
    yield {
      configuration: o.configuration,
      token: o.token,
      thread: o.thread,
      sequence: batch.firstSequence + i,
      // Whole µs, as the records keep them: a resume that counts the records again gets the same statistics.
      startOffsetUs: Math.round(o.startOffsetBaseUs + batch.startOffsetNs[i]! / 1000),
      latencyUs: Math.round(batch.latencyNs[i]! / 1000),
      status: statusOf(batch.status[i]!),
      verified: check === VERIFIED_OK ? true : check === VERIFIED_BAD ? false : null,
      operation: o.operations[batch.operation[i]!] ?? '',
      startLagUs: Number.isNaN(lagNs) ? null : Math.round(lagNs / 1000),
      late: Number.isNaN(lagNs) ? null : batch.late[i] === 1,
    };
  }
}
