import hdr, { type Histogram, type JsHistogram } from 'hdr-histogram-js';
import type { ConfigurationStats } from './configuration-stats.js';
import { latencyHistogram } from './latency-histogram.js';

/** A histogram as kept: its counts (HdrHistogram's compressed encoding) and its exact extremes, which buckets round. */
interface HistogramSnapshot {
  $histogram: string;
  max: number;
  min: number;
}

const isHistogram = (v: unknown): v is Histogram => typeof v === 'object' && v !== null && typeof (v as Histogram).recordValue === 'function';

/** A value of the statistics as JSON: histograms encoded, maps as their entries, infinities as text. */
function snapshotOf(value: unknown): unknown {
  if (isHistogram(value)) return { $histogram: hdr.encodeIntoCompressedBase64(value), max: value.maxValue, min: value.minNonZeroValue } satisfies HistogramSnapshot;
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [k, snapshotOf(v)]) };
  if (Array.isArray(value)) return value.map(snapshotOf);
  if (typeof value === 'number' && !Number.isFinite(value)) return { $number: String(value) };
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, snapshotOf(v)]));
  return value;
}

/** `into` (an empty histogram of the same layout) filled as the snapshot's was. */
function restoreHistogram(into: Histogram, s: HistogramSnapshot): Histogram {
  into.reset();
  if (s.max === 0) return into;
  into.add(hdr.decodeFromCompressedBase64(s.$histogram, 'packed'));
  // The buckets hold 3 significant digits; the extremes recorded were exact, and reports show the max.
  const h = into as JsHistogram & { maxValue: number; minNonZeroValue: number };
  h.maxValue = s.max;
  h.minNonZeroValue = s.min;
  return into;
}

/**
 * A value restored from its snapshot into `existing` where there is one (the fresh statistics' own objects, so
 * classes keep their methods and histograms their layout); a new histogram is a latency histogram.
 */
function restored(snapshot: unknown, existing: unknown): unknown {
  if (typeof snapshot !== 'object' || snapshot === null) return snapshot;
  const s = snapshot as Record<string, unknown>;
  if ('$histogram' in s) return restoreHistogram(isHistogram(existing) ? existing : latencyHistogram(), s as unknown as HistogramSnapshot);
  if ('$number' in s) return Number(s.$number);
  if ('$map' in s) {
    const map = existing instanceof Map ? existing : new Map();
    for (const [k, v] of s.$map as [unknown, unknown][]) map.set(k, restored(v, map.get(k)));
    return map;
  }
  if (Array.isArray(snapshot)) {
    const before = Array.isArray(existing) ? existing : [];
    return snapshot.map((v, i) => restored(v, before[i]));
  }
  const into = (typeof existing === 'object' && existing !== null ? existing : {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(s)) {
    const value = restored(v, into[k]);
    // Arrays are filled in place: a class may hold one in a readonly field that others refer to.
    if (Array.isArray(into[k]) && Array.isArray(value) && into[k] !== value) (into[k] as unknown[]).splice(0, (into[k] as unknown[]).length, ...value);
    else into[k] = value;
  }
  return into;
}

/**
 * Everything a configuration's statistics hold, as JSON: what a burn-in that keeps only failures (or no records)
 * resumes from, since its records cannot be counted again. Restored, the statistics are those snapshotted.
 */
export const snapshotStats = (stats: ConfigurationStats): unknown => snapshotOf(stats);

/** Fills fresh statistics (made with the same tokens and operations) from a snapshot of snapshotStats. */
export function restoreStats(stats: ConfigurationStats, snapshot: unknown): void {
  restored(snapshot, stats);
}
