import { join } from 'node:path';
import { failureOf } from '../record/record-status.js';
import { readRecords, type BadLines } from '../record/records-csv.js';
import { latencyHistogram } from './latency-histogram.js';

export interface LatencyCurvePoint {
  percentile: number;
  latencyMs: number;
}

/** Percentiles plotted on a latency distribution chart: dense where the tail is. */
export const CURVE_PERCENTILES = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 99.5, 99.9, 100];

/** The latency distribution of one configuration's successful signatures, rebuilt from its records file. */
export async function latencyCurve(runDir: string, recordsFile: string, bad?: BadLines): Promise<LatencyCurvePoint[]> {
  const h = latencyHistogram();
  for await (const r of readRecords(join(runDir, recordsFile), bad)) {
    if (failureOf(r) === undefined) h.recordValue(Math.max(1, r.latencyUs));
  }
  if (h.totalCount === 0) return [];
  return CURVE_PERCENTILES.map((percentile) => ({ percentile, latencyMs: (percentile === 100 ? h.maxValue : h.getValueAtPercentile(percentile)) / 1000 }));
}
