import pkcs11 from 'pkcs11js';
import { describe, expect, it } from 'vitest';
import { newBatch, VERIFIED_BAD, VERIFIED_OK } from '../src/model/call-batch.js';
import type { RecordsKept } from '../src/model/plan.js';
import type { CallRecord } from '../src/model/record.js';
import { CALL_TIMED_OUT } from '../src/model/record-status.js';
import { ConfigurationRecorder } from '../src/pipeline/recorder.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';

/**
 * The recorder (src/pipeline/recorder.ts) on a hand-built batch whose checks are done: what each call's record says,
 * which records --records keeps, and that the statistics count every call whatever is kept.
 */

/** Session 1 (token 1, thread 0) made calls 40–44: verified, found wrong, not sampled, a CKR error, timed out. */
function checkedBatch() {
  const b = newBatch(1, 5, 0);
  b.firstSequence = 40;
  b.count = 5;
  const calls = [
    { status: 0, verified: VERIFIED_OK },
    { status: 0, verified: VERIFIED_BAD },
    { status: 0, verified: 0 },
    { status: pkcs11.CKR_DEVICE_ERROR, verified: 0 },
    { status: CALL_TIMED_OUT, verified: 0 },
  ];
  calls.forEach((c, i) => {
    b.status[i] = c.status;
    b.verified[i] = c.verified;
    b.startOffsetNs[i] = (i + 1) * 1e6;
    b.latencyNs[i] = 500e3;
    b.startLagNs[i] = Number.NaN;
  });
  return b;
}

function record(kept: RecordsKept) {
  const written: CallRecord[] = [];
  const stats = new ConfigurationStats(2, ['sign']);
  const nextSequence: number[] = [];
  const recorder = new ConfigurationRecorder(
    'tokens-2',
    [
      { token: 0, thread: 0, messageSeed: Buffer.alloc(16) },
      { token: 1, thread: 0, messageSeed: Buffer.alloc(16) },
    ],
    { write: (r) => void written.push(r) },
    stats,
    ['sign'],
    1_000_000,
    kept,
    nextSequence,
  );
  recorder.add(checkedBatch());
  return { written, stats, nextSequence };
}

describe('the recorder', () => {
  it("writes each call's record in order, with its check's outcome; a wrong output is a failure, a call not sampled one made", () => {
    const { written, stats, nextSequence } = record('all');
    expect(written.map((r) => [r.token, r.thread, r.sequence, r.status, r.verified])).toEqual([
      [1, 0, 40, 'CKR_OK', true],
      [1, 0, 41, 'CKR_OK', false],
      [1, 0, 42, 'CKR_OK', null],
      [1, 0, 43, 'CKR_DEVICE_ERROR', null],
      [1, 0, 44, 'CALL_TIMED_OUT', null],
    ]);
    // On the run's time axis: after where this segment starts.
    expect(written.map((r) => r.startOffsetUs)).toEqual([1_001_000, 1_002_000, 1_003_000, 1_004_000, 1_005_000]);
    expect(written.every((r) => r.configuration === 'tokens-2' && r.operation === 'sign')).toBe(true);
    // Checked: two, the wrong one among them.
    expect([stats.operationsOk, stats.operationsFailed, stats.operationsVerified]).toEqual([2, 3, 2]);
    expect(Object.fromEntries(stats.failuresByStatus)).toEqual({ VERIFY_FAILED: 1, CKR_DEVICE_ERROR: 1, CALL_TIMED_OUT: 1 });
    // Where a resume of this session continues.
    expect(nextSequence[1]).toBe(45);
  });

  it('--records failures writes only the failures, --records none nothing; the statistics count every call either way', () => {
    const failures = record('failures');
    expect(failures.written.map((r) => r.sequence)).toEqual([41, 43, 44]);
    const none = record('none');
    expect(none.written).toEqual([]);
    for (const { stats } of [failures, none]) expect([stats.operationsOk, stats.operationsFailed, stats.operationsVerified]).toEqual([2, 3, 2]);
  });
});
