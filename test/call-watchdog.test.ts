import { describe, expect, it } from 'vitest';
import { newBatch } from '../src/model/call-batch.js';
import { CALL_TIMED_OUT } from '../src/model/record-status.js';
import { CallWatchdog, type WatchedSessions } from '../src/measure/call-watchdog.js';

/**
 * The watchdog on calls that do not return (src/measure/call-watchdog.ts), on a clock the test sets: sessions whose
 * call (or opening) in flight began when the test says, swept at moments it chooses. The runs that hang for real are
 * test/hung-calls.test.ts.
 */
const s = (seconds: number) => BigInt(Math.round(seconds * 1e9));

/** Sessions as an engine shows them to the watchdog: in flight since when, and what it asked to abandon. */
class Sessions implements WatchedSessions {
  readonly inFlight: (bigint | null)[];
  readonly connecting: (bigint | null)[];
  readonly asked: string[] = [];
  /** Sessions whose call returned just before the watchdog asked: the engine refuses. */
  readonly returned = new Set<number>();
  constructor(count: number) {
    this.inFlight = Array.from({ length: count }, () => null);
    this.connecting = Array.from({ length: count }, () => null);
  }
  inFlightSince = (worker: number) => this.inFlight[worker]!;
  connectingSince = (worker: number) => this.connecting[worker]!;
  abandon = (worker: number, record: boolean) => {
    this.asked.push(`abandon ${worker}${record ? ' with a record' : ''}`);
    return !this.returned.has(worker);
  };
  abandonConnect = (worker: number) => {
    this.asked.push(`abandon opening ${worker}`);
    return !this.returned.has(worker);
  };
}

/** A batch of `token`'s calls that took `latenciesS` (a CALL_TIMED_OUT where `timedOut`). */
function batchOf(latenciesS: number[], timedOut: number[] = []) {
  const b = newBatch(0, latenciesS.length, 0);
  b.count = latenciesS.length;
  latenciesS.forEach((l, i) => {
    b.latencyNs[i] = l * 1e9;
    b.status[i] = timedOut.includes(i) ? CALL_TIMED_OUT : 0;
  });
  return b;
}

describe('the watchdog on calls in flight', () => {
  it('bounds a call by ten times its token’s slowest, at least 10 s, or by --call-timeout; a stop waits 5 s', () => {
    const w = new CallWatchdog(null, [2e6, 0]);
    expect([w.boundMs(0), w.boundMs(1)]).toEqual([10_000, 10_000]);
    w.observe(0, 3e9);
    expect(w.boundMs(0)).toBe(30_000);
    expect(w.verdict(0, 29_000, null)).toBe('wait');
    expect(w.verdict(0, 31_000, null)).toBe('timed-out');
    expect(w.verdict(1, 9_000, 4_000)).toBe('wait');
    expect(w.verdict(1, 9_000, 5_000)).toBe('abandoned-at-stop');
    expect(new CallWatchdog(500, [3e9]).boundMs(0)).toBe(500);
  });

  it("a hung call is found by its own token's service times: each token's bound from its calls that returned", () => {
    // Sessions 0 and 1 on token 0, session 2 on token 1; token 0's calls take up to 1.5 s, one timed out after 100 s.
    const w = new CallWatchdog(null, [0, 0]);
    w.observeBatch(0, batchOf([0.2, 1.5, 100], [2]));
    w.observeBatch(1, batchOf([0.001, 0.002]));
    const sessions = new Sessions(3);
    sessions.inFlight[0] = s(100);
    sessions.inFlight[2] = s(100);
    const tokens = [0, 0, 1];
    expect(w.sweep(s(109.9), false, tokens, sessions)).toEqual([]);
    // Token 1 is fast: its floor, 10 s; token 0's slowest that returned is 1.5 s: 15 s.
    expect(w.sweep(s(110.1), false, tokens, sessions)).toEqual([{ worker: 2, connecting: false, inFlightMs: 10_100, boundMs: 10_000, outcome: 'timed-out' }]);
    expect(w.sweep(s(114.9), false, tokens, sessions)).toEqual([]);
    const [hung] = w.sweep(s(115.1), false, tokens, sessions);
    expect(hung).toMatchObject({ worker: 0, boundMs: 15_000, outcome: 'timed-out' });
    // A timed-out call becomes a record; each session is given up once, and looked at no more.
    expect(sessions.asked).toEqual(['abandon 2 with a record', 'abandon 0 with a record']);
    expect(w.sweep(s(500), true, tokens, sessions)).toEqual([]);
    expect([w.isAbandoned(0), w.isAbandoned(1), w.isAbandoned(2)]).toEqual([true, false, true]);
  });

  it('--call-timeout bounds every call and every opening of a session, whatever the token took before', () => {
    const w = new CallWatchdog(500, [3e9]);
    w.observeBatch(0, batchOf([4]));
    const sessions = new Sessions(2);
    sessions.inFlight[0] = s(1);
    sessions.connecting[1] = s(1);
    expect(w.sweep(s(1.5), false, [0, 0], sessions)).toEqual([]);
    expect(w.sweep(s(1.501), false, [0, 0], sessions).map((a) => [a.worker, a.connecting, a.boundMs])).toEqual([
      [0, false, 500],
      [1, true, 500],
    ]);
    expect(sessions.asked).toEqual(['abandon 0 with a record', 'abandon opening 1']);
  });

  it('opening a session without --call-timeout is bounded as a set-up step (60 s), not by the calls', () => {
    const w = new CallWatchdog(null, [0]);
    const sessions = new Sessions(1);
    sessions.connecting[0] = s(0);
    // The bound of a call (10 s) does not apply to an opening.
    expect(w.sweep(s(59), false, [0], sessions)).toEqual([]);
    expect(w.sweep(s(60.5), false, [0], sessions)).toEqual([{ worker: 0, connecting: true, inFlightMs: 60_500, boundMs: 60_000, outcome: 'timed-out' }]);
    expect(sessions.asked).toEqual(['abandon opening 0']);
  });

  it('once the run stops, a call still in flight 5 s later is abandoned without a record, within its bound', () => {
    const w = new CallWatchdog(null, [0]);
    w.observe(0, 9e9);
    const sessions = new Sessions(2);
    sessions.inFlight[0] = s(10);
    expect(w.sweep(s(20), false, [0, 0], sessions)).toEqual([]);
    // The stop is seen at 30 s: the grace runs from then.
    expect(w.sweep(s(30), true, [0, 0], sessions)).toEqual([]);
    expect(w.sweep(s(34.9), true, [0, 0], sessions)).toEqual([]);
    sessions.inFlight[1] = s(34.95);
    expect(w.sweep(s(35), true, [0, 0], sessions).map((a) => [a.worker, a.outcome])).toEqual([
      [0, 'abandoned-at-stop'],
      [1, 'abandoned-at-stop'],
    ]);
    expect(sessions.asked).toEqual(['abandon 0', 'abandon 1']);
  });

  it('a call that returned as it was given up is not reported, and is looked at again; a session not in a call is left alone', () => {
    const w = new CallWatchdog(1000, [0]);
    const sessions = new Sessions(2);
    sessions.inFlight[0] = s(0);
    sessions.returned.add(0);
    expect(w.sweep(s(2), false, [0, 0], sessions)).toEqual([]);
    expect(w.isAbandoned(0)).toBe(false);
    sessions.returned.delete(0);
    expect(w.sweep(s(3), false, [0, 0], sessions).map((a) => a.worker)).toEqual([0]);
    expect(sessions.asked).toEqual(['abandon 0 with a record', 'abandon 0 with a record']);
  });
});
