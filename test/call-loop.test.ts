import pkcs11 from 'pkcs11js';
import { describe, expect, it } from 'vitest';
import { BATCH_CAPACITY } from '../src/model/call-batch.js';
import { sessionCalls } from '../src/model/stop.js';
import { scheduleOf } from '../src/model/schedule.js';
import { ABANDONED } from '../src/measure/call-loop.js';
import { FAILURE_LIMIT_REACHED, MAX_CONSECUTIVE_FAILURES } from '../src/measure/failure-limit.js';
import type { CallRecord } from '../src/model/record.js';
import { runScriptedSessions, type ScriptedCall } from './helpers/scripted-loop.js';

/**
 * The timed loop's rules, on a scripted module in-process (no token, no thread): the module says each call's status,
 * output length and time taken, and the session's clock moves only by those and by the loop's own waits.
 */
const { CKR_DEVICE_ERROR } = pkcs11;
const ms = (n: number) => BigInt(n) * 1_000_000n;
const sequences = (records: CallRecord[]) => records.map((r) => r.sequence);
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const succeeds = (): ScriptedCall => ({ tookMs: 1 });

describe('stop rules', () => {
  it("a count per token is split among the token's sessions; each makes its share, numbered on from its first sequence", () => {
    const stop = { callsPerToken: 7, sharedSuccesses: null, durationNs: null, schedule: null };
    const run = runScriptedSessions({
      module: { call: succeeds },
      sessions: [0, 1].map((session) => ({ calls: sessionCalls(stop, 2, session), firstSequence: 100 })),
      stop,
    });
    expect(sequences(run.records[0]!)).toEqual(range(100, 4));
    expect(sequences(run.records[1]!)).toEqual(range(100, 3));
    expect(run.gaveUp).toEqual([undefined, undefined]);
  });

  it('a shared total counts successes: failed calls (an error, a wrong-size output) give their claims back', () => {
    const run = runScriptedSessions({
      module: { call: ({ sequence }) => (sequence % 3 === 1 ? { status: CKR_DEVICE_ERROR } : sequence % 3 === 2 ? { outputBytes: 63 } : { tookMs: 1 }) },
      sessions: [{ calls: null }],
      stop: { sharedSuccesses: 10 },
    });
    const records = run.records[0]!;
    expect(records.filter((r) => r.status === 'CKR_OK')).toHaveLength(10);
    expect(records.filter((r) => r.status !== 'CKR_OK').length).toBeGreaterThan(0);
    expect(run.control.totalReached(10)).toBe(true);
  });

  it('a session that fails hands its claims to the others: the total is made by the session whose token works', () => {
    const run = runScriptedSessions({
      module: { call: ({ session }) => (session === 0 ? { status: CKR_DEVICE_ERROR } : succeeds()) },
      sessions: [{ calls: null }, { calls: null }],
      stop: { sharedSuccesses: 25 },
    });
    expect(run.gaveUp[0]).toBe(FAILURE_LIMIT_REACHED);
    expect(run.records[0]!.every((r) => r.status === 'CKR_DEVICE_ERROR')).toBe(true);
    expect(run.records[1]!.map((r) => r.status)).toEqual(Array(25).fill('CKR_OK'));
  });

  it('the deadline: no call starts after it, the call in flight at it is recorded whole', () => {
    const run = runScriptedSessions({ module: { call: () => ({ tookMs: 30 }) }, sessions: [{ calls: null }], stop: { durationNs: ms(100) } });
    const records = run.records[0]!;
    expect(records.map((r) => r.startOffsetUs)).toEqual([0, 30_000, 60_000, 90_000]);
    expect(records.at(-1)!.latencyUs).toBe(30_000);
  });

  it('a stop request ends the session after its call in flight, which is recorded', () => {
    const run = runScriptedSessions({
      module: { call: ({ sequence, control }) => (sequence === 5 && control.requestStop(), succeeds()) },
      sessions: [{ calls: null }],
      stop: {},
    });
    expect(sequences(run.records[0]!)).toEqual(range(0, 6));
  });
});

describe('the open-loop schedule', () => {
  it('calls start at their intended times while the session keeps up: no lag, none late', () => {
    const run = runScriptedSessions({ module: { call: () => ({ tookMs: 4 }) }, sessions: [{ calls: null }], stop: { schedule: scheduleOf(100, 5) } });
    const records = run.records[0]!;
    expect(records.map((r) => r.startOffsetUs)).toEqual([0, 10_000, 20_000, 30_000, 40_000]);
    expect(records.map((r) => [r.startLagUs, r.late])).toEqual(Array(5).fill([0, false]));
  });

  it('a call whose intended start passed while its session was busy is late, and its lag is the wait', () => {
    const run = runScriptedSessions({ module: { call: () => ({ tookMs: 25 }) }, sessions: [{ calls: null }], stop: { schedule: scheduleOf(100, 5) } });
    const records = run.records[0]!;
    // Intended at 0, 10, 20, 30, 40 ms; each starts when the one before returns.
    expect(records.map((r) => r.startOffsetUs)).toEqual([0, 25_000, 50_000, 75_000, 100_000]);
    expect(records.map((r) => r.startLagUs)).toEqual([0, 15_000, 30_000, 45_000, 60_000]);
    expect(records.map((r) => r.late)).toEqual([false, true, true, true, true]);
  });

  it('with a deadline, a scheduled call that could not start by it is not made', () => {
    const run = runScriptedSessions({ module: { call: () => ({ tookMs: 25 }) }, sessions: [{ calls: null }], stop: { schedule: scheduleOf(100, null), durationNs: ms(45) } });
    // Calls intended at 0 and 10 ms start at 0 and 25 ms; the one intended at 20 ms could start only at 50 ms.
    expect(run.records[0]!.map((r) => r.startOffsetUs)).toEqual([0, 25_000]);
  });

  it('a session does not wait past the deadline for a scheduled call it could not make', () => {
    const run = runScriptedSessions({ module: { call: () => ({ tookMs: 1 }) }, sessions: [{ calls: null }], stop: { schedule: scheduleOf(10, null), durationNs: ms(150) } });
    expect(run.records[0]!.map((r) => r.startOffsetUs)).toEqual([0, 100_000]);
    expect(run.endedAtMs[0]).toBeLessThan(150);
  });

  it("the sessions take the schedule's calls from one counter: each call is made once, by one session", () => {
    const run = runScriptedSessions({ module: { call: () => ({ tookMs: 4 }) }, sessions: [{ calls: null }, { calls: null }], stop: { schedule: scheduleOf(100, 6) } });
    expect(run.records.flat()).toHaveLength(6);
  });
});

describe('ordering', () => {
  it("each session's records are contiguous from its first sequence, in batches posted in order, a failure ending its batch", () => {
    const failing = new Set([47, 300, 301, 555]);
    const run = runScriptedSessions({
      module: { call: ({ sequence }) => (failing.has(sequence) ? { status: CKR_DEVICE_ERROR } : { tookMs: 0.01 }) },
      sessions: [{ calls: 600, firstSequence: 40, warmupCalls: 3 }, { calls: 300 }],
      stop: {},
      verifyEvery: 10,
    });
    expect(sequences(run.records[0]!)).toEqual(range(40, 600));
    expect(sequences(run.records[1]!)).toEqual(range(0, 300));
    for (const worker of [0, 1]) {
      const batches = run.batches.filter((b) => b.worker === worker);
      batches.slice(1).forEach((b, i) => expect(b.firstSequence).toBe(batches[i]!.firstSequence + batches[i]!.count));
      expect(batches.every((b) => b.count > 0 && b.count <= BATCH_CAPACITY)).toBe(true);
    }
    // Every failure is the last call of its batch: the recorder sees a failing token at once.
    for (const sequence of failing) expect(run.batches.some((b) => b.worker === 0 && b.firstSequence + b.count - 1 === sequence)).toBe(true);
    // Every 10th successful output is kept for the host check, no other.
    const kept = run.batches.filter((b) => b.worker === 0).reduce((n, b) => n + b.kept, 0);
    expect(kept).toBe(range(40, 600).filter((s) => s % 10 === 0 && !failing.has(s)).length);
    // Warm-up calls are not records, and come before the barrier.
    expect(run.messages.indexOf('ready')).toBeLessThan(run.messages.indexOf('batch'));
  });

  it('a batch is posted once it is full or 100 ms old, whichever comes first', () => {
    const run = runScriptedSessions({ module: { call: () => ({ tookMs: 1 }) }, sessions: [{ calls: 250 }], stop: {} });
    // 1 ms a call: the first batch goes when 100 ms have passed since the window opened, not at 256 calls.
    expect(run.batches[0]!.count).toBe(100);
    expect(run.records[0]).toHaveLength(250);
  });
});

describe('failures and recovery', () => {
  it('an output of a size the operation does not make is a failure of its own, never kept for the host check', () => {
    const run = runScriptedSessions({ module: { call: ({ sequence }) => (sequence === 2 ? { outputBytes: 65 } : succeeds()) }, sessions: [{ calls: 4 }], stop: {}, verifyEvery: 1 });
    expect(run.records[0]!.map((r) => r.status)).toEqual(['CKR_OK', 'CKR_OK', 'WRONG_OUTPUT_SIZE', 'CKR_OK']);
    expect(run.batches.reduce((n, b) => n + b.kept, 0)).toBe(3);
  });

  it('an output whose length the token would not show is not checked, and not a failure', () => {
    const run = runScriptedSessions({ module: { call: () => ({ outputBytes: null }) }, sessions: [{ calls: 3 }], stop: {}, verifyEvery: 1 });
    expect(run.records[0]!.map((r) => r.status)).toEqual(['CKR_OK', 'CKR_OK', 'CKR_OK']);
    expect(run.batches.reduce((n, b) => n + b.kept, 0)).toBe(0);
  });

  it(`without recovery (scale), a session whose calls fail ${MAX_CONSECUTIVE_FAILURES} times in a row gives up, never reconnecting`, () => {
    const run = runScriptedSessions({ module: { call: ({ sequence }) => (sequence >= 3 ? { status: CKR_DEVICE_ERROR } : succeeds()) }, sessions: [{ calls: null }], stop: {} });
    expect(run.gaveUp[0]).toBe(FAILURE_LIMIT_REACHED);
    expect(run.records[0]).toHaveLength(3 + MAX_CONSECUTIVE_FAILURES);
    expect(run.connectsAtMs[0]).toEqual([]);
  });

  it('with recovery (burn-in), a device error is followed by a reconnect, and the session goes on with the next sequence', () => {
    let attempts = 0;
    const run = runScriptedSessions({
      module: {
        call: ({ sequence }) => (sequence === 3 ? { status: CKR_DEVICE_ERROR, tookMs: 1 } : succeeds()),
        // The token is back at the second attempt.
        connect: () => (++attempts === 1 ? { ok: false, reason: 'absent', detail: 'no token in the slot' } : { ok: true }),
      },
      sessions: [{ calls: 8 }],
      stop: {},
      recovery: { giveUpAfterMs: 5_000 },
    });
    const records = run.records[0]!;
    expect(sequences(records)).toEqual(range(0, 8));
    expect(records.map((r) => r.status)).toEqual(['CKR_OK', 'CKR_OK', 'CKR_OK', 'CKR_DEVICE_ERROR', 'CKR_OK', 'CKR_OK', 'CKR_OK', 'CKR_OK']);
    expect(run.connectsAtMs[0]).toHaveLength(2);
    // The first reconnect is at once; the second waits (a token that is gone is not asked again in a tight loop).
    const [first, second] = run.connectsAtMs[0]!;
    expect(first).toBe(4);
    expect(second).toBeGreaterThan(first!);
    expect(records[4]!.startOffsetUs / 1000).toBeGreaterThanOrEqual(second!);
    expect(run.gaveUp[0]).toBeUndefined();
  });

  it('with recovery, a token failing for --give-up-after is lost, asked again with growing waits, not in a tight loop', () => {
    const run = runScriptedSessions({
      module: { call: () => ({ status: CKR_DEVICE_ERROR, tookMs: 1 }), connect: () => ({ ok: false, reason: 'absent', detail: 'no token in the slot' }) },
      sessions: [{ calls: null }],
      stop: {},
      recovery: { giveUpAfterMs: 3_000 },
    });
    expect(run.gaveUp[0]).toMatch(/^lost after failing for 3\.0 s/);
    expect(run.records[0]).toHaveLength(1);
    const connects = run.connectsAtMs[0]!;
    expect(connects.at(-1)).toBeLessThanOrEqual(3_001);
    expect(connects.length).toBeLessThan(3_000 / 100);
    const waits = connects.slice(1).map((at, i) => at - connects[i]!);
    expect(waits[0]).toBeGreaterThan(0);
    expect(waits).toEqual([...waits].sort((a, b) => a - b));
  });

  it('with recovery, a PIN refused on reconnect is final: said at once, never presented again', () => {
    const run = runScriptedSessions({
      module: {
        call: ({ sequence }) => (sequence === 1 ? { status: CKR_DEVICE_ERROR } : succeeds()),
        connect: () => ({ ok: false, reason: 'pin-refused', detail: 'the token refused the PIN (CKR_PIN_INCORRECT)' }),
      },
      sessions: [{ calls: 10 }],
      stop: {},
      recovery: { giveUpAfterMs: 60_000 },
    });
    expect(run.messages).toContain('pin-refused');
    expect(run.connectsAtMs[0]).toHaveLength(1);
    expect(run.gaveUp[0]).toMatch(/refused the PIN/);
    expect(sequences(run.records[0]!)).toEqual([0, 1]);
  });

  it('with recovery, a reconnect is watched as a call in flight: abandoned meanwhile (its token gave no session in time), the session ends touching nothing', () => {
    let seenConnecting = false;
    const run = runScriptedSessions({
      module: {
        call: ({ sequence }) => (sequence === 2 ? { status: CKR_DEVICE_ERROR } : succeeds()),
        // The watchdog's side, while the session waits for its token: it sees a connection in flight, and gives it up.
        connect: ({ session, control }) => {
          seenConnecting = control.connecting(session) && control.inFlightSince(session) !== null;
          control.abandonCall(session);
          return { ok: true };
        },
      },
      sessions: [{ calls: 10 }],
      stop: {},
      recovery: { giveUpAfterMs: 60_000 },
    });
    expect(seenConnecting).toBe(true);
    expect(run.gaveUp[0]).toBe(ABANDONED);
    // The failure was posted at once; nothing after the abandoned reconnect.
    expect(sequences(run.records[0]!)).toEqual([0, 1, 2]);
  });

  it('with recovery, the end of the run comes first: a session failing at the deadline does not wait for its token', () => {
    const run = runScriptedSessions({
      module: { call: ({ atMs }) => (atMs >= 50 ? { status: CKR_DEVICE_ERROR, tookMs: 10 } : { tookMs: 10 }), connect: () => ({ ok: false, reason: 'absent', detail: 'no token in the slot' }) },
      sessions: [{ calls: null }],
      stop: { durationNs: ms(100) },
      recovery: { giveUpAfterMs: 60_000 },
    });
    expect(run.gaveUp[0]).toBeUndefined();
    expect(run.records[0]!.every((r) => r.startOffsetUs < 100_000)).toBe(true);
  });
});
