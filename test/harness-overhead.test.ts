import { describe, expect, it } from 'vitest';
import { harnessPartOfNumber, HARNESS_SHARE_MULTIPLE, OverheadPeriods } from '../src/stats/harness-overhead.js';

describe('the harness is part of the number (the 10× rule)', () => {
  const overhead = { p50: 0.3 };

  it('holds when the median service time is under 10× the per-call overhead', () => {
    expect(HARNESS_SHARE_MULTIPLE).toBe(10);
    expect(harnessPartOfNumber(0, overhead)).toBe(true);
    expect(harnessPartOfNumber(1, overhead)).toBe(true);
    expect(harnessPartOfNumber(2.999, overhead)).toBe(true);
  });

  it("holds at the service times' 1 µs floor, where the median may be anything below it, however fast the loop", () => {
    expect(harnessPartOfNumber(1, { p50: 0.05 })).toBe(true);
    expect(harnessPartOfNumber(1.001, { p50: 0.05 })).toBe(false);
  });

  it('does not hold at 10× or beyond: a token 10× slower than the loop is measured, not the loop', () => {
    expect(harnessPartOfNumber(3, overhead)).toBe(false);
    // A SoftHSM2 ECDSA signature (~250 µs) against a loop of ~0.3 µs a call.
    expect(harnessPartOfNumber(250, overhead)).toBe(false);
  });
});

describe('the per-call overhead from null calls', () => {
  it('is the period between consecutive calls, median and p99 in µs to the ns', () => {
    const periods = new OverheadPeriods();
    // 100 calls 300 ns apart, then one 5 µs late (a preemption): 99 periods of 300 ns and one of 5,000 ns.
    let at = 1_000_000;
    for (let i = 0; i < 100; i++, at += 300) periods.add(at);
    periods.add(at - 300 + 5_000);
    expect(periods.summary('native')).toEqual({ p50: 0.3, p99: 0.3, calls: 100, engine: 'native' });
  });

  it('counts no period across a restart: the time between two runs of calls is not the loop’s', () => {
    const periods = new OverheadPeriods();
    for (const at of [1_000, 1_300, 1_600]) periods.add(at);
    periods.restart();
    for (const at of [90_000_000, 90_000_300]) periods.add(at);
    expect(periods.count).toBe(3);
    expect(periods.summary('native')).toEqual({ p50: 0.3, p99: 0.3, calls: 3, engine: 'native' });
  });

  it('has no figure without two calls', () => {
    const periods = new OverheadPeriods();
    expect(periods.summary('threads')).toBeNull();
    periods.add(5);
    expect(periods.summary('threads')).toBeNull();
  });
});
