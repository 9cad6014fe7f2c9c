import { recordInto } from './histogram-record.js';
import type { Histogram } from 'hdr-histogram-js';
import { denseLatencyHistogram } from './latency-histogram.js';

/** At most this many intervals are kept: memory stays flat however long the window (a night's burn-in too). */
export const MAX_INTERVALS = 20;

/**
 * A configuration's latencies by when the calls ended, in at most MAX_INTERVALS contiguous intervals of the window:
 * 1 s wide at first, twice as wide (neighbours merged) whenever the window outgrows them. How a percentile moves from
 * one interval to the next is the run's own noise, which a comparison needs to tell a change from it.
 */
export class IntervalLatency {
  private widthUs = 1e6;
  readonly intervals: Histogram[] = [];

  add(endUs: number, latencyUs: number): void {
    while (Math.floor(endUs / this.widthUs) >= MAX_INTERVALS) this.coarsen();
    const i = Math.max(0, Math.floor(endUs / this.widthUs));
    while (this.intervals.length <= i) this.intervals.push(denseLatencyHistogram());
    recordInto(this.intervals[i]!, Math.max(1, Math.round(latencyUs)));
  }

  private coarsen(): void {
    const merged: Histogram[] = [];
    for (let i = 0; i < this.intervals.length; i += 2) merged.push(joined(this.intervals.slice(i, i + 2)));
    this.intervals.splice(0, this.intervals.length, ...merged);
    this.widthUs *= 2;
  }
}

const joined = (parts: readonly Histogram[]): Histogram => {
  const h = denseLatencyHistogram();
  for (const p of parts) h.add(p);
  return h;
};

/**
 * The calls a percentile needs to rest on ten values beyond it (20 for p50, 100 for p90, 1,000 for p99): fewer, and
 * an interval's p99 is its single slowest call.
 */
export const callsForPercentile = (percentile: number) => Math.ceil(1000 / (100 - percentile));

/**
 * `percentile` (ms) in each run of contiguous intervals holding enough calls for it, in time order; a tail with
 * too few calls is left out. Fewer values than intervals where calls are few: a thin run gives no noise for its p99.
 */
export function percentileByInterval(intervals: readonly Histogram[], percentile: number): number[] {
  const need = callsForPercentile(percentile);
  const out: number[] = [];
  let group: Histogram[] = [];
  let calls = 0;
  for (const h of intervals) {
    group.push(h);
    calls += h.totalCount;
    if (calls < need) continue;
    const g = joined(group);
    // As run.json's percentiles: never above the slowest call, in ms to the µs.
    out.push(Math.round(Math.min(g.getValueAtPercentile(percentile), g.maxValue)) / 1000);
    group = [];
    calls = 0;
  }
  return out;
}
