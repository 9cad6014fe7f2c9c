import { RECORD_COLUMNS, recordFields, recordOf, type CallRecord } from '../model/record.js';
import { boundedLines } from '../core/bounded-lines.js';
import { createReadStream } from 'node:fs';
import type { BadParts } from './bad-parts.js';

/** The header line of a records CSV (without its newline). */
export const CSV_HEADER = RECORD_COLUMNS.map((c) => c.name).join(',');

/** A record as a line of the records CSV (without its newline). */
export const csvLine = (r: CallRecord): string => recordFields(r).join(',');

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

/** A record line is some hundred bytes: one far longer is not a record, and is not gathered whole. */
const MAX_RECORD_LINE_BYTES = 4096;

/**
 * Reads an open records file in CSV, as runs before the binary format wrote it (src/result/records-file.ts reads
 * both). A line that is not a record (a write torn by a crash, junk) is skipped and counted in `bad`, never taken as
 * a signature; a missing header (a file cut to nothing by a crash) is tolerated.
 */
export async function* readCsvRecords(fd: number, bad: BadParts): AsyncGenerator<CallRecord> {
  let lineNumber = 0;
  let columns: number = RECORD_COLUMNS.length;
  for await (const line of boundedLines(createReadStream('', { fd }), MAX_RECORD_LINE_BYTES)) {
    lineNumber++;
    if (lineNumber === 1 && line !== null) columns = OLDER_HEADERS.get(line) ?? columns;
    if (line === '' || (lineNumber === 1 && line !== null && (line === CSV_HEADER || OLDER_HEADERS.has(line)))) continue;
    const record = line === null ? null : parseRecordLine(line, columns);
    if (record) yield record;
    else {
      bad.count++;
      bad.first ??= { unit: 'line', number: lineNumber };
    }
  }
}
