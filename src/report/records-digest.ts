import { recordInto } from '../stats/histogram-record.js';
import { join } from 'node:path';
import { failureOf } from '../model/record-status.js';
import type { ConfigurationResult } from '../model/run-result.js';
import { readRecords, type BadParts } from '../result/records-file.js';
import { intervalLogOf, readIntervalLog } from '../result/interval-log.js';
import { latencyHistogram, denseLatencyHistogram } from '../stats/latency-histogram.js';
import { percentileSupported } from '../core/latency-text.js';
import type { Histogram } from 'hdr-histogram-js';

export interface LatencyCurvePoint {
  percentile: number;
  latencyMs: number;
}

/** Percentiles plotted on a latency distribution chart: dense where the tail is. */
export const CURVE_PERCENTILES = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 99.5, 99.9, 99.99, 100];

/** What the charts need of a configuration beyond run.json: from its interval log, or by reading its records. */
export interface RecordsDigest {
  /** The latency distribution of the successful signatures. */
  curve: LatencyCurvePoint[];
  /** Per token (its index in run.json's tokens), successful signatures ending in each second of the window. */
  okPerSecondByToken: Map<number, number[]>;
  /** Where it came from: the interval log, or the records (older runs, or a log that does not hold every call). */
  source: 'interval-log' | 'records';
}

/** Counts a successful call (or `count` of them) in its token's second. */
function countIn(okPerSecondByToken: Map<number, number[]>, token: number, second: number, count: number): void {
  const series = okPerSecondByToken.get(token) ?? okPerSecondByToken.set(token, []).get(token)!;
  while (series.length <= second) series.push(0);
  series[second]! += count;
}

function curveOf(h: Histogram): LatencyCurvePoint[] {
  // Only percentiles with a call beyond them: a p99.99 of 125 calls is the slowest call under another name.
  const supported = CURVE_PERCENTILES.filter((p) => p === 100 || percentileSupported(p, h.totalCount));
  return h.totalCount === 0 ? [] : supported.map((percentile) => ({ percentile, latencyMs: (percentile === 100 ? h.maxValue : h.getValueAtPercentile(percentile)) / 1000 }));
}

/**
 * From the configuration's interval log when it holds every call run.json counts (a log cut by a kill, or a resumed
 * burn-in's that counts calls made again, does not): the per-second histograms, not every record again, added up as
 * they are read, so that memory holds the merged histogram and the per-second counts, not the log.
 */
async function digestIntervalLog(runDir: string, c: Pick<ConfigurationResult, 'recordsFile' | 'operationsOk' | 'operationsFailed'>): Promise<RecordsDigest | undefined> {
  const h = denseLatencyHistogram();
  const okPerSecondByToken = new Map<number, number[]>();
  let failed = 0;
  for await (const i of readIntervalLog(join(runDir, intervalLogOf(c.recordsFile)))) {
    if (i === null) return undefined;
    if (!i.ok) {
      failed += i.latencyUs.totalCount;
      continue;
    }
    h.add(i.latencyUs);
    countIn(okPerSecondByToken, i.token, i.second, i.latencyUs.totalCount);
  }
  if (h.totalCount !== c.operationsOk || failed !== c.operationsFailed) return undefined;
  return { curve: curveOf(h), okPerSecondByToken, source: 'interval-log' };
}

export async function digestConfiguration(runDir: string, c: Pick<ConfigurationResult, 'recordsFile' | 'operationsOk' | 'operationsFailed'>, bad?: BadParts): Promise<RecordsDigest> {
  const fromLog = await digestIntervalLog(runDir, c);
  if (fromLog) return fromLog;
  const h = latencyHistogram();
  const okPerSecondByToken = new Map<number, number[]>();
  for await (const r of readRecords(join(runDir, c.recordsFile), bad)) {
    if (failureOf(r) !== undefined) continue;
    recordInto(h, Math.max(1, r.latencyUs));
    // By the second the signature ended in, as run.json's time series counts them.
    countIn(okPerSecondByToken, r.token, Math.floor((r.startOffsetUs + r.latencyUs) / 1e6), 1);
  }
  return { curve: curveOf(h), okPerSecondByToken, source: 'records' };
}
