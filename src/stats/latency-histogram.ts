import type { CorrectedLatencyMs, LatencyPercentilesMs } from '../model/run-result.js';
import hdr, { type Histogram, type JsHistogram } from 'hdr-histogram-js';

/** An HDR histogram of latencies in µs: memory stays flat however many signatures are recorded. */
export function latencyHistogram(): Histogram {
  // 1 µs to 1 hour, 3 significant digits; the packed layout grows only with the buckets in use.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 'packed' });
}

/**
 * latencyHistogram's range and precision with dense 64-bit counts (some 190 KiB, whatever it holds), for the few
 * histograms that take every call (a configuration's, each token's, each operation's) or that many histograms are
 * added into: recording into a packed one looks its bucket up through the packed index, which took 40 % of the main
 * thread's time on a null-speed token; adding is some 20 × faster (an hour's interval log of 8 tokens: 28,800).
 */
export function denseLatencyHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 64 });
}

/** HdrHistogram's own compressed encoding, in base64: lossless at the histogram's precision, and any HdrHistogram reads it. */
export const encodeHistogram = (h: Histogram): string => hdr.encodeIntoCompressedBase64(h);

/** A histogram encoded by encodeHistogram, as one of latencyHistogram()'s (undefined: not such an encoding). */
export function decodeHistogram(base64: string): Histogram | undefined {
  try {
    const h = latencyHistogram();
    h.add(hdr.decodeFromCompressedBase64(base64, 'packed'));
    return h;
  } catch {
    return undefined;
  }
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
    // Records hold whole µs: their mean carries one digit more (0.1 µs), and no more.
    mean: Math.round(h.mean * 10) / 10_000,
  };
}

/**
 * The interval between a session's calls that a closed loop achieved: the window × the sessions over the calls made
 * (failed ones too: they held their session as long). Not the median service time: a session also spends time between
 * calls (checking, recording), and a 40 µs median against a call every 900 µs would model a 20× overload that never was.
 */
export const achievedIntervalUs = (windowUs: number, sessions: number, calls: number): number => (calls > 0 ? (windowUs * sessions) / calls : 0);

/**
 * Flat out (a closed loop), each session starts its next call only when the last returns: a call that stalls holds
 * back the calls a client arriving on schedule would have made meanwhile, and the histogram never sees them (the
 * coordinated omission). HdrHistogram's correction adds them back, with `intervalUs` the expected interval between a
 * session's calls (achievedIntervalUs): a value v adds v − I, v − 2I … down to I. Counted from the histogram's
 * buckets, not recorded one by one (copyCorrectedForCoordinatedOmission takes minutes after a stall of seconds
 * against a 40 µs call).
 */
export function correctedPercentilesMs(h: Histogram, expectedIntervalUs: number): CorrectedLatencyMs | null {
  if (h.totalCount === 0) return null;
  const intervalUs = Math.max(1, expectedIntervalUs);
  const buckets: { valueUs: number; count: number }[] = [];
  const it = (h as JsHistogram).recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    buckets.push({ valueUs: Math.min(v.valueIteratedTo, h.maxValue), count: v.countAtValueIteratedTo });
  }
  const added = (valueUs: number) => Math.max(0, Math.floor(valueUs / intervalUs) - 1);
  const total = buckets.reduce((n, b) => n + b.count * (1 + added(b.valueUs)), 0);
  // Values at or below x, the added ones with them: of v − kI (k = 1 … added(v)), those with k ≥ (v − x) / I.
  const atOrBelow = (xUs: number) =>
    buckets.reduce((n, b) => {
      const m = added(b.valueUs);
      const fromK = Math.max(1, Math.ceil((b.valueUs - xUs) / intervalUs));
      return n + b.count * ((b.valueUs <= xUs ? 1 : 0) + Math.max(0, m - fromK + 1));
    }, 0);
  const at = (percentile: number) => {
    const rank = Math.max(1, Math.ceil((percentile / 100) * total));
    let [low, high] = [0, h.maxValue];
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      if (atOrBelow(mid) >= rank) high = mid;
      else low = mid;
    }
    return ms(high);
  };
  return { expectedIntervalMs: ms(intervalUs), p50: at(50), p90: at(90), p99: at(99), max: ms(h.maxValue) };
}
