import { closeSync, createReadStream, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { boundedLines } from '../core/bounded-lines.js';
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

/** A log line longer than this is not one hsm-bench wrote (a second's histogram takes a few KB). */
const MAX_LINE_BYTES = 1024 * 1024;

/**
 * A log's intervals, one line at a time as HdrHistogram's reader parses them, so that a night's log is never held
 * whole: its reader (HistogramLogReader) takes the whole text, and a night of 8 tokens is 70–210 MB. Lines whose tag
 * is not one of ours are left out. Yields null (and ends) where the log cannot be drawn from: there is none, or a
 * line is torn (a full disk, a kill), so it does not hold every call.
 */
export async function* readIntervalLog(path: string): AsyncGenerator<IntervalHistogram | null> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    yield null;
    return;
  }
  for await (const line of boundedLines(createReadStream('', { fd }), MAX_LINE_BYTES)) {
    if (line === null) {
      yield null;
      return;
    }
    // Comments, the legend and lines without fields are not intervals, as for HistogramLogReader.
    if (line.startsWith('#') || line.startsWith('"StartTimestamp"') || !line.includes(',')) continue;
    const fields = line.split(',');
    const tag = TAG.exec(fields[0]!.startsWith('Tag=') ? fields.shift()!.slice('Tag='.length) : '');
    if (!tag) continue;
    const [startS, , maxMs, base64] = fields;
    let latencyUs: Histogram;
    try {
      // Decoded into 32-bit counts (a second of one token's calls fits): some 7 × faster to decode and to add than packed.
      latencyUs = hdr.decodeFromCompressedBase64(base64 ?? '', 32);
    } catch {
      yield null;
      return;
    }
    // The buckets hold 3 significant digits; the line's max (ms, to the µs) is the exact one, which reports show.
    (latencyUs as Histogram & { maxValue: number }).maxValue = Math.round(Number(maxMs) * 1000);
    yield { second: Math.round(Number(startS)), token: Number(tag[1]), operation: tag[2] === 'call' ? '' : tag[2]!, ok: tag[3] === 'ok', latencyUs };
  }
}
