import { recordInto } from '../stats/histogram-record.js';
import { join } from 'node:path';
import type { Histogram } from 'hdr-histogram-js';
import { failureOf } from '../model/record-status.js';
import { readRecords } from '../result/records-file.js';
import { IntervalLatency } from '../stats/interval-latency.js';
import { latencyHistogram } from '../stats/latency-histogram.js';

/** One host's calls of a configuration: its records file, and where its window opened against the common window's start. */
export interface WindowPart {
  dir: string;
  recordsFile: string;
  /** The host's window start minus the common window's start, µs (negative: it opened earlier). */
  offsetUs: number;
}

/** One host's calls that ended in the common window. */
export interface PartInWindow {
  ok: number;
  failed: number;
  latencyUs: Histogram;
  maxUs: number;
  sumUs: number;
}

/** Every host's calls that ended in the common window: per host, together, per second of it, by interval for the noise. */
export interface CallsInWindow {
  parts: PartInWindow[];
  latencyUs: Histogram;
  okPerSecond: number[];
  failedPerSecond: number[];
  byInterval: IntervalLatency;
}

/**
 * The calls of every host that ended within [0, windowUs) of the common window, counted from their records (each
 * call's start and duration, to the µs): the seconds of one host's window do not line up with another's, so its
 * per-second counts cannot say which calls fell in. Undefined where a records file cannot be read whole.
 */
export async function callsInWindow(parts: readonly WindowPart[], windowUs: number): Promise<CallsInWindow | undefined> {
  const seconds = Math.ceil(windowUs / 1e6);
  const all: CallsInWindow = {
    parts: [],
    latencyUs: latencyHistogram(),
    okPerSecond: new Array<number>(seconds).fill(0),
    failedPerSecond: new Array<number>(seconds).fill(0),
    byInterval: new IntervalLatency(),
  };
  for (const part of parts) {
    const mine: PartInWindow = { ok: 0, failed: 0, latencyUs: latencyHistogram(), maxUs: 0, sumUs: 0 };
    const bad = { count: 0 };
    try {
      for await (const r of readRecords(join(part.dir, part.recordsFile), bad)) {
        const endUs = r.startOffsetUs + r.latencyUs + part.offsetUs;
        if (endUs < 0 || endUs >= windowUs) continue;
        const second = Math.floor(endUs / 1e6);
        if (failureOf(r) !== undefined) {
          mine.failed++;
          all.failedPerSecond[second]!++;
          continue;
        }
        const us = Math.max(1, r.latencyUs);
        mine.ok++;
        recordInto(mine.latencyUs, us);
        mine.maxUs = Math.max(mine.maxUs, r.latencyUs);
        mine.sumUs += r.latencyUs;
        all.okPerSecond[second]!++;
        all.byInterval.add(endUs, r.latencyUs);
      }
    } catch {
      return undefined;
    }
    if (bad.count > 0) return undefined;
    all.latencyUs.add(mine.latencyUs);
    all.parts.push(mine);
  }
  return all;
}
