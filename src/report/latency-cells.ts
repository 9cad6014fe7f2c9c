import type { ConfigurationResult, LatencyPercentilesMs } from '../model/run-result.js';
import { RECORD_RESOLUTION_MS, latencyText, percentileSupported } from '../core/latency-text.js';

/** The percentiles' numbers (0–100) by their names in run.json. */
const PERCENT = { p50: 50, p90: 90, p99: 99, p999: 99.9 } as const;

/**
 * A percentile of `calls` calls as a table shows it: scaled with its unit, 3 significant digits; '–' where no call
 * lies beyond it (the slowest call under another name) or none was measured.
 */
export function percentileCell(l: Partial<Record<keyof typeof PERCENT, number>> | null | undefined, p: keyof typeof PERCENT, calls: number): string {
  const v = l?.[p];
  return v === undefined || !percentileSupported(PERCENT[p], calls) ? '–' : latencyText(v, RECORD_RESOLUTION_MS);
}

/** "p50 40.0 µs, p90 41.0 µs, p99 77.0 µs, max 13.7 ms (n = 65,863)": the percentiles the sample supports, and its size. */
export function latencyLine(l: LatencyPercentilesMs | null | undefined, calls: number): string {
  if (!l) return `none (n = ${calls.toLocaleString('en-US')})`;
  const shown = (['p50', 'p90', 'p99'] as const).filter((p) => percentileSupported(PERCENT[p], calls)).map((p) => `${p} ${latencyText(l[p], RECORD_RESOLUTION_MS)}`);
  return `${[...shown, `max ${latencyText(l.max, RECORD_RESOLUTION_MS)}`].join(', ')} (n = ${calls.toLocaleString('en-US')})`;
}

/**
 * Flat out, what the service time leaves out: a session starts its next call only when the last returns, so a
 * slow call holds back the calls behind it (coordinated omission) and the tail is understated. Null at a target
 * rate, where the response time counts the wait.
 */
export function closedLoopNote(c: Pick<ConfigurationResult, 'openLoop' | 'correctedLatencyMs' | 'operationsOk'>): string | null {
  if (c.openLoop || c.correctedLatencyMs === undefined) return null;
  const k = c.correctedLatencyMs;
  const corrected = `corrected for coordinated omission (HdrHistogram's expected-interval correction, assuming a session's calls ${latencyText(k.expectedIntervalMs)} apart, as they were on average) it is p99 ${percentileSupported(99, c.operationsOk) ? latencyText(k.p99) : '–'}, max ${latencyText(k.max)}`;
  return `closed loop (flat out): a slow call held back the calls behind it, so this service time understates the tail a client arriving on schedule would see; ${corrected}; --rate measures response times from each call's intended start`;
}

/** Failed calls that returned (the ones with a time to fail): a call that never returned has none. */
export const failedReturned = (c: Pick<ConfigurationResult, 'operationsFailed' | 'perToken'>) => c.operationsFailed - c.perToken.reduce((n, t) => n + (t.operationsTimedOut ?? 0), 0);

/** The successful calls a configuration's rate rests on: in a merged run, those that ended in the common window. */
export const okInRate = (c: Pick<ConfigurationResult, 'operationsOk' | 'commonWindow'>) => c.commonWindow?.operationsOk ?? c.operationsOk;

/** The successful calls its percentiles rest on: a merged run's common window where its hosts kept their records. */
export const okInPercentiles = (c: Pick<ConfigurationResult, 'operationsOk' | 'commonWindow'>) => (c.commonWindow?.countedFrom === 'records' ? c.commonWindow.operationsOk : c.operationsOk);
