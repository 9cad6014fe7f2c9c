import { OTHER_STATUS_NAMES } from './record-status.js';

/**
 * One call as stored on disk. `token` is the token's index in run.json's `tokens` (labels and serials repeat in
 * real clusters; the index does not). `verified` is null where the output was not checked.
 */
export interface CallRecord {
  /** The configuration's name, as its records file is named (tokens-4-sessions-2-rate-100, -rep-2); older files: its token count. */
  configuration: string;
  token: number;
  thread: number;
  sequence: number;
  startOffsetUs: number;
  latencyUs: number;
  status: string;
  verified: boolean | null;
  /** The operation the call made (sign, decrypt…); empty in records written before operations (they signed). */
  operation: string;
  /**
   * Open loop (--rate): how long after its intended start the call began (response time = startLagUs + latencyUs),
   * and whether it was late (no session was free at its intended start); null in closed-loop runs and older records.
   */
  startLagUs: number | null;
  late: boolean | null;
}

/** A column's value as written, and read back (undefined: not a value this column holds). */
interface ColumnCodec<T> {
  write(value: T): string;
  read(text: string): T | undefined;
}

const INTEGER = /^-?\d+$/;
const STATUS = new RegExp(`^(CKR_[A-Z0-9_]+|${OTHER_STATUS_NAMES.join('|')})$`);
const OPERATION = /^[a-z]{0,16}$/;
const CONFIGURATION = /^(\d+|tokens-\d+(-sessions-\d+)?(-rate-\d+(\.\d+)?)?(-rep-\d+)?)$/;

const count: ColumnCodec<number> = { write: (v) => String(Math.round(v)), read: (t) => (INTEGER.test(t) && !t.startsWith('-') ? Number(t) : undefined) };
const integer: ColumnCodec<number> = { write: (v) => String(Math.round(v)), read: (t) => (INTEGER.test(t) ? Number(t) : undefined) };
const optionalInteger: ColumnCodec<number | null> = { write: (v) => (v === null ? '' : String(Math.round(v))), read: (t) => (t === '' ? null : INTEGER.test(t) ? Number(t) : undefined) };
const optionalBoolean: ColumnCodec<boolean | null> = { write: (v) => (v === null ? '' : String(v)), read: (t) => (t === '' ? null : t === 'true' ? true : t === 'false' ? false : undefined) };
const pattern = (p: RegExp): ColumnCodec<string> => ({ write: (v) => v, read: (t) => (p.test(t) ? t : undefined) });

/** A column: a field of the record and how it is written (each codec checked against its field's type). */
type Column = { [K in keyof CallRecord]: { name: K; codec: ColumnCodec<CallRecord[K]> } }[keyof CallRecord];

/**
 * The columns of a records file, in order: the one table from which the CSV header, writer and reader derive.
 * Older files have fewer: those before operations stop after `verified`, those before schedules after `operation`.
 */
export const RECORD_COLUMNS = [
  { name: 'configuration', codec: pattern(CONFIGURATION) },
  { name: 'token', codec: count },
  { name: 'thread', codec: count },
  { name: 'sequence', codec: integer },
  { name: 'startOffsetUs', codec: integer },
  { name: 'latencyUs', codec: count },
  { name: 'status', codec: pattern(STATUS) },
  { name: 'verified', codec: optionalBoolean },
  { name: 'operation', codec: pattern(OPERATION) },
  { name: 'startLagUs', codec: optionalInteger },
  { name: 'late', codec: optionalBoolean },
] as const satisfies readonly Column[];

/** A column missing from an older file reads as this. */
const ABSENT: Partial<CallRecord> = { operation: '', startLagUs: null, late: null };

/** A record's fields in the table's order, as text. */
export const recordFields = (r: CallRecord): string[] => RECORD_COLUMNS.map((c) => (c.codec as ColumnCodec<unknown>).write(r[c.name]));

/** A record from its fields (as many as the file's header has), or undefined where one is not a value of its column. */
export function recordOf(fields: readonly string[]): CallRecord | undefined {
  const r: Record<string, unknown> = { ...ABSENT };
  for (const [i, text] of fields.entries()) {
    const column = RECORD_COLUMNS[i];
    if (column === undefined) return undefined;
    const value = (column.codec as ColumnCodec<unknown>).read(text);
    if (value === undefined) return undefined;
    r[column.name] = value;
  }
  return r as unknown as CallRecord;
}
