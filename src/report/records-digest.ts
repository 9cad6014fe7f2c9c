import { join } from 'node:path';
import { failureOf } from '../model/record-status.js';
import { readRecords, type BadParts } from '../result/records-file.js';
import { latencyHistogram } from '../stats/latency-histogram.js';
import { percentileSupported } from '../core/latency-text.js';

export interface LatencyCurvePoint {
  percentile: number;
  latencyMs: number;
}

/** Percentiles plotted on a latency distribution chart: dense where the tail is. */
export const CURVE_PERCENTILES = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 99.5, 99.9, 99.99, 100];

/** What the charts need of a configuration's records beyond run.json, read in one pass. */
export interface RecordsDigest {
  /** The latency distribution of the successful signatures. */
  curve: LatencyCurvePoint[];
  /** Per token (its index in run.json's tokens), successful signatures ending in each second of the window. */
  okPerSecondByToken: Map<number, number[]>;
}

export async function digestRecords(runDir: string, recordsFile: string, bad?: BadParts): Promise<RecordsDigest> {
  const h = latencyHistogram();
  const okPerSecondByToken = new Map<number, number[]>();
  for await (const r of readRecords(join(runDir, recordsFile), bad)) {
    if (failureOf(r) !== undefined) continue;
    h.recordValue(Math.max(1, r.latencyUs));
    // By the second the signature ended in, as run.json's time series counts them.
    const second = Math.floor((r.startOffsetUs + r.latencyUs) / 1e6);
    const series = okPerSecondByToken.get(r.token) ?? okPerSecondByToken.set(r.token, []).get(r.token)!;
    while (series.length <= second) series.push(0);
    series[second]!++;
  }
  // Only percentiles with a call beyond them: a p99.99 of 125 calls is the slowest call under another name.
  const supported = CURVE_PERCENTILES.filter((p) => p === 100 || percentileSupported(p, h.totalCount));
  const curve = h.totalCount === 0 ? [] : supported.map((percentile) => ({ percentile, latencyMs: (percentile === 100 ? h.maxValue : h.getValueAtPercentile(percentile)) / 1000 }));
  return { curve, okPerSecondByToken };
}
