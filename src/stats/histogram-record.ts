import type { Histogram } from 'hdr-histogram-js';

/** What recording touches of hdr-histogram-js 3's typed-array histograms (JsHistogram, TypedArrayHistogram). */
interface TypedArrayHistogramFields {
  _counts?: { [index: number]: number };
  _totalCount: number;
  maxValue: number;
  minNonZeroValue: number;
  unitMagnitude: number;
  subBucketHalfCountMagnitude: number;
  countsArrayLength: number;
}

/** A lowest discernible value of 1 and 3 significant digits (every histogram of this project): 1,024 half sub-buckets. */
const HALF_SUB_BUCKET_MAGNITUDE = 10;

/**
 * Records a whole value into a histogram, as its recordValue does. hdr-histogram-js finds a value's bucket with
 * Math.log2 and Math.pow, some 0.25 µs a value: at millions of calls a second, with five histograms taking each call,
 * most of the main thread's time per call. For a dense histogram of this project's layout the index is the value's
 * leading zeros and one shift (HdrHistogram's own integer formula); any other histogram or value goes through
 * recordValue. test/histogram-record.test.ts holds the two to the same encoding.
 */
export function recordInto(h: Histogram, value: number): void {
  const f = h as unknown as TypedArrayHistogramFields;
  const counts = f._counts;
  if (counts !== undefined && f.unitMagnitude === 0 && f.subBucketHalfCountMagnitude === HALF_SUB_BUCKET_MAGNITUDE && value >= 0 && value <= 0xffffffff && Number.isInteger(value)) {
    // floor(log2(value)) − 10, at least 0: how many times the value is twice past the first bucket's 2,048.
    const bucket = Math.max(0, 21 - Math.clz32(value));
    const index = (bucket << HALF_SUB_BUCKET_MAGNITUDE) + (value >>> bucket);
    if (index < f.countsArrayLength) {
      counts[index]!++;
      f._totalCount++;
      if (value > f.maxValue) f.maxValue = value;
      if (value !== 0 && value < f.minNonZeroValue) f.minNonZeroValue = value;
      return;
    }
  }
  h.recordValue(value);
}
