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
