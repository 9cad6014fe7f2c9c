import { LatencyPercentilesMs } from '../model/run-result.js';
import hdr, { type Histogram } from 'hdr-histogram-js';

/** An HDR histogram of latencies in µs: memory stays flat however many signatures are recorded. */
export function latencyHistogram(): Histogram {
  // 1 µs to 1 hour, 3 significant digits; the packed layout grows only with the buckets in use.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 'packed' });
}

const ms = (us: number) => Math.round(us) / 1000;

/** Percentiles in ms; null for an empty histogram, since percentiles of nothing do not exist. */
export function percentilesMs(h: Histogram, withP999 = false): LatencyPercentilesMs | null {
  if (h.totalCount === 0) return null;
  // HDR reports a percentile as the top of its bucket (3 significant digits), which can lie above the largest
  // value recorded: no percentile is shown above the max.
  const at = (p: number) => ms(Math.min(h.getValueAtPercentile(p), h.maxValue));
  return {
    p50: at(50),
    p90: at(90),
    p99: at(99),
    ...(withP999 ? { p999: at(99.9) } : {}),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/**
 * Flat out (a closed loop), each session starts its next call only when the last returns: a call that stalls holds
 * back the calls a client arriving on schedule would have made meanwhile, and the histogram never sees them (the
 * coordinated omission). HdrHistogram's correction adds them back, with each session's expected interval between
 * calls taken as the median service time. Null when there is nothing to correct from, or when the correction would
 * add more than this many values per slow call (a stall of hours against a 40 µs call): it is not computed then.
 */
const MAX_CORRECTION_STEPS = 1_000_000;

export function correctedPercentilesMs(h: Histogram): (Pick<LatencyPercentilesMs, 'p50' | 'p90' | 'p99' | 'max'> & { expectedIntervalMs: number }) | null {
  if (h.totalCount === 0) return null;
  const intervalUs = Math.max(1, h.getValueAtPercentile(50));
  if (h.maxValue / intervalUs > MAX_CORRECTION_STEPS) return null;
  const corrected = h.copyCorrectedForCoordinatedOmission(intervalUs);
  const p = percentilesMs(corrected)!;
  // The copy keeps buckets, not values: nothing it adds is slower than the slowest call measured.
  const top = ms(h.maxValue);
  return { expectedIntervalMs: ms(intervalUs), p50: Math.min(p.p50, top), p90: Math.min(p.p90, top), p99: Math.min(p.p99, top), max: top };
}
