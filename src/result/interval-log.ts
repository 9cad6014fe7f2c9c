import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { writeError } from '../core/errors.js';
import type { IntervalHistogram } from '../stats/interval-histograms.js';

/**
 * A configuration's interval log: HdrHistogram's interval-log format (version 1.3), one line per second, token,
 * operation and outcome, tagged `token-T/OPERATION/ok` or `…/failed`, with timestamps in seconds on the run's time
 * axis and latencies in µs (the max column in ms). HdrHistogram's own tools (HistogramLogProcessor, the JS
 * HistogramLogReader) read it; an interval may come twice (calls recorded late), and readers add them up.
 */
export const intervalTag = (h: Pick<IntervalHistogram, 'token' | 'operation' | 'ok'>) => `token-${h.token}/${h.operation || 'call'}/${h.ok ? 'ok' : 'failed'}`;

const TAG = /^token-(\d+)\/([a-z]+)\/(ok|failed)$/;

/** The interval log beside a records file: records/X.rec → histograms/X.hlog. */
export const intervalLogOf = (recordsFile: string) => recordsFile.replace(/^records\//, 'histograms/').replace(/\.(rec|csv)$/, '.hlog');

/** Appends intervals to a log, writing its header when the file is new or empty. */
export class IntervalLogWriter {
  private readonly fd: number;
  private readonly writer: InstanceType<typeof hdr.HistogramLogWriter>;
  private pending = '';

  constructor(
    readonly path: string,
    append = false,
  ) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.fd = openSync(path, append ? 'a' : 'w');
    } catch (error) {
      throw writeError(path, error);
    }
    this.writer = new hdr.HistogramLogWriter((text) => (this.pending += text));
    if (fstatSync(this.fd).size === 0) {
      this.writer.outputLogFormatVersion();
      this.writer.outputComment('[hsm-bench: latencies in µs by token, operation and outcome; timestamps in seconds on the run time axis]');
      this.writer.outputLegend();
    }
  }

  /** A write that failed: the log stops there (reports then count the records instead: its totals fall short). */
  failure: Error | undefined;

  /** Writes the intervals; a failure is kept, never thrown from a timer into the run. */
  write(intervals: readonly IntervalHistogram[]): void {
    if (this.failure) return;
    for (const h of intervals) {
      h.latencyUs.tag = intervalTag(h);
      this.writer.outputIntervalHistogram(h.latencyUs, h.second, h.second + 1, 1000);
    }
    if (this.pending.length === 0) return;
    const bytes = Buffer.from(this.pending);
    this.pending = '';
    try {
      for (let at = 0; at < bytes.length;) at += writeSync(this.fd, bytes, at);
    } catch (error) {
      this.failure = writeError(this.path, error);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** The reader's next interval; undefined where its line is not one (a torn line's base64 does not decode). */
function nextOf(reader: InstanceType<typeof hdr.HistogramLogReader>): Histogram | null | undefined {
  try {
    return reader.nextIntervalHistogram();
  } catch {
    return undefined;
  }
}

/** A log's intervals, read with HdrHistogram's reader; lines whose tag is not one of ours are left out. Null: no log. */
export function readIntervalLog(path: string): { second: number; token: number; operation: string; ok: boolean; latencyUs: Histogram }[] | null {
  if (!existsSync(path)) return null;
  // Decoded into 32-bit counts (a second of one token's calls fits): some 7 × faster to decode and to add than packed.
  const reader = new hdr.HistogramLogReader(readFileSync(path, 'latin1'), 32);
  const out = [];
  for (let h; (h = nextOf(reader)) !== null;) {
    // A line torn by a full disk or a kill: the log does not hold every call, and is not drawn from.
    if (h === undefined) return null;
    const tag = TAG.exec(h.tag ?? '');
    if (!tag) continue;
    // The buckets hold 3 significant digits; the line's max (ms, to the µs) is the exact one, which reports show.
    const fields = reader.lines[reader.currentLineIndex - 1]!.split(',');
    (h as Histogram & { maxValue: number }).maxValue = Math.round(Number(fields[fields.length - 2]) * 1000);
    out.push({ second: Math.round(h.startTimeStampMsec / 1000), token: Number(tag[1]), operation: tag[2] === 'call' ? '' : tag[2]!, ok: tag[3] === 'ok', latencyUs: h });
  }
  return out;
}
