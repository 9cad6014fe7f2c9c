import { latencyText } from '../core/latency-text.js';
import type { ConfigurationResult } from '../model/run-result.js';
import { MIN_WINDOW_S, windowTooShort } from '../stats/repetitions.js';

/**
 * The calls (ended in the common window, successful or failed) that measure a rate over a window under MIN_WINDOW_S:
 * counting alone moves 100 calls by about 10 % (√100), far less than the tenfold miss a short window still fails on.
 */
export const MIN_RATE_CALLS = 100;

/**
 * Whether a merged configuration's common window measures a rate: a window a single run's rate is judged on, or a
 * shorter one holding enough calls for the single run's short-window rule. Windows that overlap by a few ms may hold
 * no call's end at all: even 0/s would say nothing of the tokens.
 */
export const rateEstablishedOver = (durationS: number, calls: number) => !windowTooShort(durationS) || calls >= MIN_RATE_CALLS;

/** Why a merged configuration's throughput is not established (see rateEstablishedOver). Undefined: established. */
export function rateNotEstablished(c: Pick<ConfigurationResult, 'commonWindow' | 'durationS'>): string | undefined {
  if (c.commonWindow?.rateEstablished !== false) return undefined;
  const calls = c.commonWindow.operationsOk + c.commonWindow.operationsFailed;
  return `rate not established: the hosts' common window is ${latencyText(c.durationS * 1000)} (under ${MIN_WINDOW_S} s) and holds ${calls} calls (fewer than ${MIN_RATE_CALLS})`;
}

/** A rate as a table or check shows it: not established, with the common window it is not established over. */
export const notEstablishedText = (c: Pick<ConfigurationResult, 'durationS'>) => `not established (common window ${latencyText(c.durationS * 1000)})`;
