import { recordInto } from './histogram-record.js';
import type { Histogram } from 'hdr-histogram-js';
import type { OpenLoopResult } from '../model/run-result.js';
import { latencyHistogram, percentilesMs } from './latency-histogram.js';
import { percentileIntervalMs } from './percentile-interval.js';
import { PERCENTILE_SHARE } from './rate-window.js';

type Figure = NonNullable<OpenLoopResult['responseAtLeast']>[number];

/**
 * Response percentiles over every call of a schedule, the calls that never started included. Past capacity the
 * tokens leave a backlog, and percentiles of the calls that started alone shrink it away (survivor bias: the p99
 * would grow with the window). A call never started had waited, when the window closed, at least from its intended
 * start (call k at k intervals) to the window's end; and where the tokens fell behind (`queueGrew`), at least as
 * long as the latest start was late (`longestLagUs`), since sessions take calls in order from a queue that only
 * grew. It counts with that wait, and a figure it reaches is a lower bound. The calls not started are the
 * schedule's last. `histogram`: the response times of every call so counted.
 */
export function responseOfSchedule(
  responseUs: Histogram,
  schedule: { targetRatePerS: number; calls: number },
  notStarted: number,
  windowEndUs: number,
  queueGrew: boolean,
  longestLagUs: number,
): Pick<OpenLoopResult, 'responseMs' | 'responseAtLeast' | 'responseIntervalMs'> & { histogram: Histogram } {
  if (notStarted === 0) return { responseMs: percentilesMs(responseUs, true), ...intervalsOf(responseUs), histogram: responseUs };
  const all = latencyHistogram();
  all.add(responseUs);
  const intervalUs = 1e6 / schedule.targetRatePerS;
  for (let k = schedule.calls - notStarted; k < schedule.calls; k++) recordInto(all, Math.max(1, Math.round(windowEndUs - k * intervalUs), queueGrew ? longestLagUs : 0));
  const responseMs = percentilesMs(all, true)!;
  // A figure is exact where the calls that started reach it alone (its rank among them holds the same value); where
  // a call never started makes up its rank, the call's true wait was longer, and so may the figure be.
  const started = responseUs.totalCount;
  const startedReach = (share: number) => {
    const rank = Math.max(1, Math.ceil(share * all.totalCount - 1e-9));
    return rank <= started && responseUs.getValueAtPercentile((100 * (rank - 0.5)) / started) === all.getValueAtPercentile(100 * share);
  };
  const shares: [Figure, number][] = [
    ['p50', 0.5],
    ['p90', 0.9],
    ['p99', 0.99],
    ['p999', 0.999],
  ];
  const atLeast: Figure[] = shares.filter(([, share]) => !startedReach(share)).map(([f]) => f);
  if (all.maxValue > responseUs.maxValue) atLeast.push('max');
  atLeast.push('mean');
  return { responseMs, responseAtLeast: atLeast, ...intervalsOf(all), histogram: all };
}

/** Each response percentile's 95 % interval (none for an empty histogram). */
function intervalsOf(h: Histogram): Pick<OpenLoopResult, 'responseIntervalMs'> {
  if (h.totalCount === 0) return {};
  const entries = Object.entries(PERCENTILE_SHARE).map(([p, share]) => [p, percentileIntervalMs(h, share)!] as const);
  return { responseIntervalMs: Object.fromEntries(entries) };
}
