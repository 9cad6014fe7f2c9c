import { RECORD_COLUMNS, recordFields, recordOf, type CallRecord } from '../model/record.js';
import { boundedLines } from '../core/bounded-lines.js';
import { closeSync, createReadStream, fstatSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { ExitCode, writeError, type HsmBenchError } from '../core/errors.js';
import { atExit } from '../core/exit-hooks.js';
import { openInputFile, type InputKind } from '../core/input-file.js';

const HEADER = RECORD_COLUMNS.map((c) => c.name).join(',');

const FLUSH_BYTES = 1 << 16;

/** Quotes a field only when CSV needs it (free text such as token labels in summary.csv). */
export function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Parses one CSV line (RFC 4180 quoting, no embedded newlines). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') ((value += '"'), (i += 2));
        else if (line[i] === '"') break;
        else value += line[i++];
      }
      fields.push(value);
      i += 2;
    } else {
      const end = line.indexOf(',', i);
      fields.push(line.slice(i, end === -1 ? line.length : end));
      i = end === -1 ? line.length + 1 : end + 1;
    }
  }
  return fields;
}

/**
 * Appends records to a CSV file with a header line, writing in 64 KiB blocks so the signing path never waits on
 * disk. A write that fails (disk full, file system gone) does not throw from a timer: the writer keeps the error,
 * calls `onFailure` so the run can stop, and the run reports it once the workers are done.
 */
export class RecordsCsvWriter {
  private readonly fd: number;
  private pending = '';
  private pendingRecords = 0;
  /** Records written to the file (not synced: a process that dies keeps them, a power cut may not). */
  private written = 0;
  failure: HsmBenchError | undefined;
  /** A process that exits at once (a third Ctrl-C) still writes what it recorded: every call recorded stays countable. */
  private readonly dropExitHook: () => void;

  /** `append` continues an existing file (a resumed burn-in); a file that is still empty gets its header. */
  constructor(
    readonly path: string,
    append = false,
    private readonly onFailure: (error: HsmBenchError) => void = () => {},
    /** After each write to the file: how many records this writer has written in all. */
    private readonly onWritten: (records: number) => void = () => {},
  ) {
    try {
      this.fd = openSync(path, append ? 'a' : 'w');
      this.pending = append && fstatSync(this.fd).size > 0 ? '' : HEADER + '\n';
    } catch (error) {
      throw writeError(path, error);
    }
    this.dropExitHook = atExit(() => this.flush());
  }

  write(r: CallRecord): void {
    if (this.failure) return;
    this.pendingRecords++;
    this.pending += `${recordFields(r).join(',')}\n`;
    if (this.pending.length >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.failure || this.pending.length === 0) return;
    try {
      // writeSync may write less than asked (a disk filling up): the rest is written, or the failure is kept.
      const bytes = Buffer.from(this.pending);
      for (let written = 0; written < bytes.length;) written += writeSync(this.fd, bytes, written);
      this.written += this.pendingRecords;
      this.onWritten(this.written);
    } catch (error) {
      this.failure = writeError(this.path, error);
      this.onFailure(this.failure);
    }
    this.pending = '';
    this.pendingRecords = 0;
  }

  close(): void {
    this.dropExitHook();
    this.flush();
    try {
      if (!this.failure) fsyncSync(this.fd);
    } catch (error) {
      this.failure = writeError(this.path, error);
    } finally {
      closeSync(this.fd);
    }
  }
}

/** Files written by earlier versions have fewer columns (none for operations, none for the schedule): their header says so. */
const OLDER_HEADERS = new Map(
  [RECORD_COLUMNS.length - 3, RECORD_COLUMNS.length - 2].map((n) => [
    RECORD_COLUMNS.slice(0, n)
      .map((c) => c.name)
      .join(','),
    n,
  ]),
);

/** One data line as a record, or undefined when it is torn or not a record at all; `columns`: as the file's header has them. */
export function parseRecordLine(line: string, columns: number = RECORD_COLUMNS.length): CallRecord | undefined {
  const fields = parseCsvLine(line);
  return fields.length === columns ? recordOf(fields) : undefined;
}

/** Lines of a records file that were not records: counted, and where the first one is (its text is never quoted). */
export interface BadLines {
  count: number;
  first?: { lineNumber: number };
}

/** A record line is some hundred bytes: one far longer is not a record, and is not gathered whole. */
const MAX_RECORD_LINE_BYTES = 4096;

const RECORDS_INPUT: InputKind = { what: 'records file', maxBytes: Number.MAX_SAFE_INTEGER, exitCode: ExitCode.setup, hint: 'give a run directory made by hsm-bench' };

/**
 * Reads a records file. A line that is not a record (a write torn by a crash, junk) is skipped and counted in
 * `bad`, never taken as a signature; a missing header (a file cut to nothing by a crash) is tolerated.
 */
export async function* readRecords(path: string, bad: BadLines = { count: 0 }): AsyncGenerator<CallRecord> {
  let lineNumber = 0;
  let columns: number = RECORD_COLUMNS.length;
  // Streamed, so any size; but a regular file only: a FIFO or /dev/zero in its place would be read for ever.
  const { fd } = openInputFile(path, RECORDS_INPUT);
  for await (const line of boundedLines(createReadStream('', { fd }), MAX_RECORD_LINE_BYTES)) {
    lineNumber++;
    if (lineNumber === 1 && line !== null) columns = OLDER_HEADERS.get(line) ?? columns;
    if (line === '' || (lineNumber === 1 && line !== null && (line === HEADER || OLDER_HEADERS.has(line)))) continue;
    const record = line === null ? null : parseRecordLine(line, columns);
    if (record) yield record;
    else {
      bad.count++;
      bad.first ??= { lineNumber };
    }
  }
}
