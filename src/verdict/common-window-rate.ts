import { latencyText } from '../core/latency-text.js';
import type { ConfigurationResult } from '../model/run-result.js';
import { MIN_WINDOW_S } from '../stats/repetitions.js';

/**
 * Why a merged configuration's throughput is not established: the hosts' windows overlapped for less than the window
 * a single run's rate is judged on (a few ms may hold no call's end at all: even 0/s says nothing of the tokens).
 * Undefined: established.
 */
export function rateNotEstablished(c: Pick<ConfigurationResult, 'commonWindow' | 'durationS'>): string | undefined {
  return c.commonWindow?.rateEstablished === false ? `rate not established: the hosts' common window is ${latencyText(c.durationS * 1000)} (under ${MIN_WINDOW_S} s)` : undefined;
}
