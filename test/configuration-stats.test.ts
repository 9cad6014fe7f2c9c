import { describe, expect, it } from 'vitest';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { KEPT_HOLES, SuccessGaps } from '../src/stats/success-gaps.js';
import { summarizeConfiguration } from '../src/stats/summarize.js';

const call = (startOffsetUs: number, latencyUs: number) => ({ startOffsetUs, latencyUs, operation: '', verified: null, startLagUs: null, late: null });

/** `count` successful calls of `latencyUs` back to back from `fromUs` on `token`; returns when the last one ended. */
function succeed(s: ConfigurationStats, token: number, fromUs: number, count: number, latencyUs = 1000): number {
  for (let i = 0; i < count; i++) s.add(token, call(fromUs + i * latencyUs, latencyUs), undefined);
  return fromUs + count * latencyUs;
}

const summary = (s: ConfigurationStats) =>
  summarizeConfiguration(
    { stats: s, recordsFile: 'r.csv', workerIssues: [] },
    s.tokens.map((_, i) => ({ label: `t${i}`, serial: String(i), slotId: String(i) })),
    1,
  );

/** A call abandoned after `inFlightUs` (CALL_TIMED_OUT): its latency column says how long it was in flight. */
const hung = (s: ConfigurationStats, token: number, startUs: number, inFlightUs = 10_000_000) => s.add(token, call(startUs, inFlightUs), 'CALL_TIMED_OUT');

describe('configuration statistics', () => {
  it('keeps outages non-negative when several threads of a token report out of time order', () => {
    const s = new ConfigurationStats(1);
    // Thread 1 fails at 3 ms; thread 0's batch, with successes at 1–4 ms, arrives later; then a success at 9 ms.
    s.add(0, call(3000, 100), 'CKR_DEVICE_REMOVED');
    for (const start of [1000, 2000, 4000]) s.add(0, call(start, 100), undefined);
    s.add(0, call(2500, 100), 'CKR_DEVICE_REMOVED');
    s.add(0, call(9000, 100), undefined);
    const t = s.tokens[0]!;
    expect(t.outageUs).toBeGreaterThanOrEqual(0);
    // The first success after the streak began (4 ms) ends it; the late failure at 2.5 ms, recorded after that
    // success, opens no streak of its own (the token was serving again by then).
    expect(t.outages).toBe(1);
    expect(t.outageUs).toBe(1000);
    expect(t.failingSinceUs).toBeNull();
  });
});

describe('latency percentiles', () => {
  it('never lie above the max, though HDR buckets round up', async () => {
    const { latencyHistogram, percentilesMs } = await import('../src/stats/latency-histogram.js');
    const h = latencyHistogram();
    // 178,691 µs falls in a bucket whose top is 178,815 µs: the p99 of one value must be that value.
    h.recordValue(178_691);
    for (let i = 0; i < 50; i++) h.recordValue(1_000);
    const p = percentilesMs(h)!;
    expect(p.max).toBe(178.691);
    expect(p.p99).toBeLessThanOrEqual(p.max);
    expect(p.p99).toBe(178.691);
  });
});

describe('a call that never returned', () => {
  it('stretches no window: the configuration ends with the last call that returned, and is rated over that', () => {
    const s = new ConfigurationStats(2);
    const lastEndUs = succeed(s, 0, 0, 2999);
    succeed(s, 1, 0, 200);
    hung(s, 1, 200_000);
    expect(s.windowEndUs).toBe(lastEndUs);
    const c = summary(s);
    expect(c.durationS).toBe(2.999);
    expect(c.throughputPerS).toBeCloseTo(3199 / 2.999, 2);
    // Counted as failed in the second it started in; no empty seconds after the window.
    expect(c.timeSeries.ok).toEqual([1199, 1000, 1000]);
    expect(c.timeSeries.failed).toEqual([1, 0, 0]);
  });

  it('has no latency: the hung token’s percentiles leave it out, and run.json counts it per token', () => {
    const s = new ConfigurationStats(1);
    succeed(s, 0, 0, 10, 2000);
    hung(s, 0, 20_000);
    const t = summary(s).perToken[0]!;
    expect(t.latencyMs!.max).toBe(2);
    expect(t.operationsFailed).toBe(1);
    expect(t.operationsTimedOut).toBe(1);
  });

  it('of one session, recorded when it is given up, leaves a token whose other sessions served on not failing', () => {
    const s = new ConfigurationStats(1);
    // Session 1 hangs at 0.1 s; session 0 signs on to 3 s; session 1's call is recorded when it is given up, at 10 s.
    succeed(s, 0, 0, 100);
    succeed(s, 0, 0, 3000);
    hung(s, 0, 100_000);
    const t = summary(s).perToken[0]!;
    expect(t.stillFailingS).toBeNull();
    // Session 0's 1 ms calls ended a success every millisecond throughout.
    expect(t.longestGapMs).toBe(1);
    expect(t.operationsTimedOut).toBe(1);
  });

  it('leaves the hung token rated over its own active window', () => {
    const s = new ConfigurationStats(2);
    succeed(s, 0, 0, 3000);
    const hungAtUs = succeed(s, 1, 0, 200);
    hung(s, 1, hungAtUs);
    // 200 calls in 0.2 s, however long the configuration went on without it.
    expect(summary(s).perToken[1]!.throughputPerS).toBe(1000);
  });

  it('is measured to the deadline when the harness says so: every session hung before it', () => {
    const s = new ConfigurationStats(1);
    const hungAtUs = succeed(s, 0, 0, 410);
    hung(s, 0, hungAtUs);
    s.windowLastsUntil(3_000_000);
    const c = summary(s);
    expect(c.durationS).toBe(3);
    expect(c.throughputPerS).toBeCloseTo(410 / 3, 2);
    expect(c.timeSeries).toEqual({ intervalS: 1, ok: [410, 0, 0], failed: [1, 0, 0] });
    // Never shortened by it.
    s.windowLastsUntil(1_000_000);
    expect(s.windowEndUs).toBe(3_000_000);
  });
});

describe('the longest gap', () => {
  it('of a token that hung runs from its last success to the end of the window, as its streak still open does', () => {
    const s = new ConfigurationStats(2);
    succeed(s, 0, 0, 3000);
    const hungAtUs = succeed(s, 1, 0, 10);
    hung(s, 1, hungAtUs);
    const [good, bad] = summarizeConfiguration(
      { stats: s, recordsFile: 'r.csv', workerIssues: [], hungSessions: [{ token: 1, thread: 0, inFlightS: 10, boundS: 10, outcome: 'timed-out' }] },
      s.tokens.map((_, i) => ({ label: `t${i}`, serial: String(i), slotId: String(i) })),
      1,
    ).perToken;
    expect(bad!.longestGapMs).toBe(3000 - 10);
    expect(bad!.stillFailingS).toBe(2.99);
    // A token given up inside a call was out to the end: an outage, though one call failed.
    expect([bad!.outages, bad!.outageS]).toEqual([1, 2.99]);
    expect(good!.longestGapMs).toBe(1);
  });

  it('of a token whose call was still in flight at a stop (no record) runs to the end of the window', () => {
    const s = new ConfigurationStats(2);
    succeed(s, 0, 0, 1000);
    const hungAtUs = succeed(s, 1, 0, 10);
    const c = summarizeConfiguration(
      { stats: s, recordsFile: 'r.csv', workerIssues: [], hungSessions: [{ token: 1, thread: 0, inFlightS: 5.99, boundS: 10, outcome: 'abandoned-at-stop' }] },
      s.tokens.map((_, i) => ({ label: `t${i}`, serial: String(i), slotId: String(i) })),
      1,
    );
    expect(c.perToken[1]!.longestGapMs).toBe((1_000_000 - hungAtUs) / 1000);
    expect(c.perToken[1]!.stillFailingS).toBeNull();
  });

  it('of a token failing from 0.41 s to the end is the time since its last success', () => {
    const s = new ConfigurationStats(2);
    succeed(s, 0, 0, 3000);
    const failingFromUs = succeed(s, 1, 0, 410);
    for (let startUs = failingFromUs; startUs < 3_000_000; startUs += 800_000) s.add(1, call(startUs, 1000), 'CKR_DEVICE_REMOVED');
    const t = summary(s).perToken[1]!;
    expect(t.longestGapMs).toBe(2590);
    expect(t.stillFailingS).toBe(2.59);
  });

  it('counts a streak that ended between successes, and the time before the first success', () => {
    const s = new ConfigurationStats(1);
    s.add(0, call(0, 1000), 'CKR_DEVICE_ERROR');
    succeed(s, 0, 500_000, 100);
    s.add(0, call(600_000, 1000), 'CKR_DEVICE_ERROR');
    succeed(s, 0, 1_800_000, 100);
    const t = summary(s).perToken[0]!;
    // From the end of the success at 0.6 s to the end of the next, at 1.801 s.
    expect(t.longestGapMs).toBe(1201);
    expect(t.stillFailingS).toBeNull();
    expect([t.outages, t.outageS]).toEqual([2, 1.7]);
  });

  it('does not count the end of a token that made its share and stopped', () => {
    const s = new ConfigurationStats(2);
    succeed(s, 0, 0, 3000);
    succeed(s, 1, 0, 200);
    // Its 1 ms calls, one after the other: a success every millisecond, then done.
    expect(summary(s).perToken[1]!.longestGapMs).toBe(1);
  });

  it('is the time no session of the token ended a successful call, whatever order their batches came in', () => {
    const s = new ConfigurationStats(1);
    // Session 0 stalls from 0.1 s to 2 s; session 1, recorded later, covered that time but for 0.5–0.8 s.
    succeed(s, 0, 0, 100);
    succeed(s, 0, 2_000_000, 100);
    succeed(s, 0, 100_000, 400);
    succeed(s, 0, 800_000, 1300);
    // From the end of the success at 0.499 s (0.5 s) to the end of the one at 0.8 s (0.801 s).
    expect(summary(s).perToken[0]!.longestGapMs).toBe(301);
  });
});

describe('SuccessGaps', () => {
  it('keeps memory bounded over a long run and its longest hole exact', () => {
    const g = new SuccessGaps();
    let atUs = 0;
    for (let i = 0; i < 20 * KEPT_HOLES; i++) {
      // A success every 1.01 ms; one 5 s stall in the middle.
      atUs += i === 10 * KEPT_HOLES ? 5_000_000 : 1010;
      g.add(atUs);
    }
    expect(g.longestUs(0, atUs, false)).toBe(5_000_000);
    expect((g as unknown as { starts: number[] }).starts.length).toBeLessThanOrEqual(2 * KEPT_HOLES + 1);
  });

  it('takes successes in any order, a late one splitting a hole, and counts the end only while failing', () => {
    const g = new SuccessGaps();
    g.add(10);
    g.add(40);
    g.add(70);
    expect(g.longestUs(0, 70, false)).toBe(30);
    g.add(25);
    g.add(40);
    g.add(55);
    expect(g.holes(0, 100, false)).toEqual([
      { startUs: 0, endUs: 10 },
      { startUs: 10, endUs: 25 },
      { startUs: 25, endUs: 40 },
      { startUs: 40, endUs: 55 },
      { startUs: 55, endUs: 70 },
    ]);
    expect(g.longestUs(0, 100, true)).toBe(30);
    expect(new SuccessGaps().longestUs(0, 100, true)).toBe(100);
  });

  it('sees a call held for seconds: its success is no success until it returns', () => {
    const g = new SuccessGaps();
    // A success every 5 ms, then one call held 1.2 s inside the token, then every 5 ms again.
    for (let atUs = 5000; atUs <= 100_000; atUs += 5000) g.add(atUs);
    g.add(1_300_000);
    for (let atUs = 1_305_000; atUs <= 1_400_000; atUs += 5000) g.add(atUs);
    expect(g.longestUs(0, 1_400_000, false)).toBe(1_200_000);
  });
});
