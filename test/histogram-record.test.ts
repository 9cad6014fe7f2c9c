import { describe, expect, it } from 'vitest';
import hdr, { type Histogram } from 'hdr-histogram-js';
import { recordInto } from '../src/stats/histogram-record.js';
import { denseLatencyHistogram, encodeHistogram, latencyHistogram } from '../src/stats/latency-histogram.js';

const build = (bitBucketSize: 32 | 64 | 'packed', highestTrackableValue = 3_600_000_000): Histogram =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue, numberOfSignificantValueDigits: 3, bitBucketSize });

/** Values at every bucket's edges (2^k − 1, 2^k, 2^k + 1), 0, and a spread of others. */
function values(): number[] {
  const out = [0, 1, 2, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 3_600_000_000, 0xffffffff];
  for (let k = 1; k < 32; k++) out.push(2 ** k - 1, 2 ** k, 2 ** k + 1);
  let x = 12345;
  for (let i = 0; i < 20_000; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(x % 10 ** (1 + (i % 10)));
  }
  return out;
}

describe('recordInto: the fast path records as recordValue does', () => {
  for (const size of [32, 64] as const) {
    it(`into ${size}-bit dense histograms: the same encoding, count, min, max, mean and percentiles`, () => {
      const fast = build(size);
      const slow = build(size);
      for (const v of values()) {
        if (v > 3_600_000_000) continue;
        recordInto(fast, v);
        slow.recordValue(v);
      }
      expect(encodeHistogram(fast)).toBe(encodeHistogram(slow));
      expect([fast.totalCount, fast.minNonZeroValue, fast.maxValue, fast.mean]).toEqual([slow.totalCount, slow.minNonZeroValue, slow.maxValue, slow.mean]);
      for (const p of [1, 50, 90, 99, 99.9, 100]) expect(fast.getValueAtPercentile(p)).toBe(slow.getValueAtPercentile(p));
    });
  }

  it('leaves what the fast path does not cover to recordValue: a packed histogram, a value past the range, a fraction', () => {
    const packed = latencyHistogram();
    recordInto(packed, 1500);
    expect(packed.totalCount).toBe(1);
    // Past the counts' range the histogram grows (hdr.build's autoResize), and later values take the grown counts.
    const small = build(64, 1_000_000);
    const smallSlow = build(64, 1_000_000);
    for (const v of [10_000_000, 500, 20_000_000]) {
      recordInto(small, v);
      smallSlow.recordValue(v);
    }
    expect(encodeHistogram(small)).toBe(encodeHistogram(smallSlow));
    const wide = build(64, 2 ** 42);
    const wideSlow = build(64, 2 ** 42);
    for (const v of [2 ** 33 + 5, 2 ** 40, 7.5]) {
      recordInto(wide, v);
      wideSlow.recordValue(v);
    }
    expect(encodeHistogram(wide)).toBe(encodeHistogram(wideSlow));
  });

  it('keeps the dense histograms of this project in the layout it assumes (a library upgrade that changes it fails here)', () => {
    const h = denseLatencyHistogram() as unknown as { unitMagnitude: number; subBucketHalfCountMagnitude: number; _counts: unknown };
    expect([h.unitMagnitude, h.subBucketHalfCountMagnitude, h._counts instanceof Float64Array]).toEqual([0, 10, true]);
  });
});
