import { describe, expect, it } from 'vitest';
import { batchMeans, meanNoise, ratioInterval, t95 } from '../src/stats/ratio-noise.js';
import { callsForPercentile, IntervalLatency, MAX_INTERVALS, percentileByInterval } from '../src/stats/interval-latency.js';

describe('the noise of a ratio (pure statistics)', () => {
  it("a mean's relative standard error and degrees of freedom; none from fewer than 3 samples", () => {
    // 9, 10, 11: sd 1, se 1/√3, relative to the mean 10.
    const n = meanNoise([9, 10, 11])!;
    expect(n.mean).toBe(10);
    expect(n.relativeSe).toBeCloseTo(1 / Math.sqrt(3) / 10, 12);
    expect(n.df).toBe(2);
    expect(meanNoise([9, 11])).toBeNull();
    expect(meanNoise([0, 0, 0])).toBeNull();
  });

  it("Student's t at 95 %: the table's values, and towards 1.96", () => {
    expect(t95(1)).toBe(12.706);
    expect(t95(2)).toBe(4.303);
    expect(t95(30)).toBe(2.042);
    expect(t95(1000)).toBeCloseTo(1.96, 2);
    expect(t95(0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('the interval of a ratio propagates both relative errors on the log scale (Welch–Satterthwaite degrees of freedom)', () => {
    const a = { mean: 100, relativeSe: 0.03, df: 4 };
    const b = { mean: 140, relativeSe: 0.04, df: 4 };
    const r = ratioInterval(1.4, a, b);
    // df = (0.0009 + 0.0016)² / (0.0009²/4 + 0.0016²/4) = 7.4 → t of 7 df; ln(ratio) ± t × √(0.03² + 0.04²).
    expect(Math.log(r.high / 1.4)).toBeCloseTo(2.365 * 0.05, 10);
    expect(Math.log(1.4 / r.low)).toBeCloseTo(2.365 * 0.05, 10);
    // Noiseless sides: no width.
    const still = ratioInterval(2, { mean: 1, relativeSe: 0, df: 3 }, { mean: 2, relativeSe: 0, df: 3 });
    expect([still.low, still.high]).toEqual([2, 2]);
    // Large noise: a wide interval, longer above the ratio than below, never at or below 0 (ratio ± a width reached -0.7).
    const wide = ratioInterval(0.5, { mean: 1, relativeSe: 0.5, df: 2 }, { mean: 0.5, relativeSe: 0.5, df: 2 });
    expect(wide.low).toBeGreaterThan(0);
    expect(wide.high - 0.5).toBeGreaterThan(0.5 - wide.low);
    expect(wide.low * wide.high).toBeCloseTo(0.25, 10);
  });

  it('batch means: contiguous parts, each averaged, at most as many as asked', () => {
    expect(batchMeans([1, 2, 3, 4, 5, 6], 3)).toEqual([1.5, 3.5, 5.5]);
    expect(batchMeans([1, 2, 3], 20)).toEqual([1, 2, 3]);
    expect(batchMeans([], 20)).toEqual([]);
  });
});

describe('latency by interval of the window', () => {
  it('keeps at most MAX_INTERVALS intervals, merging neighbours as the window grows', () => {
    const l = new IntervalLatency();
    // One call ending in each second of 50 s: 1 s intervals become 2 s, then 4 s (13 of them).
    for (let s = 0; s < 50; s++) l.add(s * 1e6 + 5e5, 1000 + s);
    expect(l.intervals.length).toBeLessThanOrEqual(MAX_INTERVALS);
    expect(l.intervals.length).toBe(13);
    expect(l.intervals.reduce((n, h) => n + h.totalCount, 0)).toBe(50);
    expect(l.intervals[0]!.totalCount).toBe(4);
  });

  it('a percentile per run of intervals with calls enough for it: 20 for p50, 1,000 for p99; a thin tail is left out', () => {
    expect([callsForPercentile(50), callsForPercentile(90), callsForPercentile(99)]).toEqual([20, 100, 1000]);
    const l = new IntervalLatency();
    // 10 s, 300 calls a second: the first 5 s at 1 ms, the last 5 s at 2 ms.
    for (let s = 0; s < 10; s++) for (let i = 0; i < 300; i++) l.add(s * 1e6 + i * 3000, s < 5 ? 1000 : 2000);
    expect(percentileByInterval(l.intervals, 50)).toEqual([1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    // 1,000 calls per value: seconds 0–3, 4–7 (1 ms and 2 ms mixed: its p99 is 2 ms), and 8–9 too few.
    expect(percentileByInterval(l.intervals, 99)).toEqual([1, 2]);
    expect(percentileByInterval([], 99)).toEqual([]);
  });
});
