import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { CallRecord } from '../model/record.js';
import { ExitCode, writeError, type HsmBenchError } from '../core/errors.js';
import { atExit } from '../core/exit-hooks.js';
import { openInputFile, type InputKind } from '../core/input-file.js';
import { readCsvRecords } from './records-csv.js';
import type { BadParts } from './bad-parts.js';

export type { BadParts } from './bad-parts.js';

/**
 * A records file: every call's record in a compact binary form, some 2–8 bytes a call where CSV took 39–47. The
 * file starts with MAGIC; then blocks, one per write to the file, each `[u32 bytes][u32 CRC-32 of them][raw
 * DEFLATE of its runs]`, so a block torn by a kill or changed on disk is seen and never taken as calls, and a file
 * can be cut after any block and appended to again. Inflated, a block is runs one after the other, each
 * `[varint payload bytes][payload]`: one (configuration, token, thread) stream's consecutive calls in the order they
 * were recorded, with its own strings (DEFLATE takes their repetition away).
 *
 * A run's payload: varint count of strings, each (varint bytes, UTF-8); varint configuration (a string's index), token,
 * thread, zigzag firstSequence, count, default status and default operation (strings' indexes); then per call:
 * zigzag start − previous start (µs; the first from 0), zigzag latencyUs, a tag byte (bits 0–1: verified null,
 * true, false; bits 2–3: no schedule, on time, late; bit 4: a status follows; bit 5: an operation follows), the
 * status and operation where not the defaults (varint indexes), and zigzag startLagUs where there is a schedule.
 */
export const MAGIC = Buffer.from('HSMREC1\n', 'latin1');

const BLOCK_HEADER_BYTES = 8;
/** Calls per run at most (a batch is 256 calls or 100 ms of them). */
const MAX_RUN_CALLS = 4096;
/** Runs gathered before a block is written (or every flush: 2 s in a run): some 1,500 calls, as 64 KiB of CSV held. */
const FLUSH_BYTES = 1 << 13;
/** A block larger than this is not one (one holds some 8 KiB before DEFLATE): it is never allocated. */
const MAX_BLOCK_BYTES = 1 << 22;
/** Its runs inflated: at most FLUSH_BYTES and one run of MAX_RUN_CALLS calls, far below this. */
const MAX_INFLATED_BYTES = 1 << 23;

const VERIFIED = [null, true, false] as const;
const LATE = [null, false, true] as const;

/** Appends varints and strings to a growing buffer. */
class ByteSink {
  bytes = Buffer.alloc(1 << 12);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = Buffer.alloc(Math.max(this.bytes.length * 2, this.length + n));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  /** A non-negative integer up to 2^53, 7 bits a byte (arithmetic, not 32-bit shifts: offsets of a night exceed 2^32). */
  varint(value: number): void {
    this.room(8);
    let v = value;
    while (v >= 0x80) {
      this.bytes[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.bytes[this.length++] = v;
  }

  zigzag(value: number): void {
    this.varint(value < 0 ? -2 * value - 1 : 2 * value);
  }

  byte(value: number): void {
    this.room(1);
    this.bytes[this.length++] = value;
  }

  raw(b: Buffer): void {
    this.room(b.length);
    b.copy(this.bytes, this.length);
    this.length += b.length;
  }
}

/** Reads what ByteSink wrote; throws RangeError past the end (a block that is not one). */
class ByteSource {
  at = 0;
  constructor(private readonly bytes: Buffer) {}

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.bytes.length || scale > 2 ** 56) throw new RangeError('varint');
      const b = this.bytes[this.at++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
  }

  zigzag(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  byte(): number {
    if (this.at >= this.bytes.length) throw new RangeError('byte');
    return this.bytes[this.at++]!;
  }

  text(): string {
    const n = this.varint();
    if (this.at + n > this.bytes.length) throw new RangeError('text');
    const s = this.bytes.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }

  /** The next `n` bytes, as a buffer of their own. */
  slice(n: number): Buffer {
    if (this.at + n > this.bytes.length) throw new RangeError('slice');
    const b = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }

  get done(): boolean {
    return this.at === this.bytes.length;
  }
}

/** One run of calls, as they are gathered: one stream's consecutive records. */
class RunBuilder {
  readonly records: CallRecord[] = [];

  /** Whether `r` continues this run: the same stream, the next sequence, room left. */
  takes(r: CallRecord): boolean {
    const last = this.records[this.records.length - 1];
    return (
      last === undefined || (this.records.length < MAX_RUN_CALLS && r.configuration === last.configuration && r.token === last.token && r.thread === last.thread && r.sequence === last.sequence + 1)
    );
  }

  /** The run as written: its length and payload, after what `out` holds. */
  encode(out: ByteSink): void {
    const rs = this.records;
    const first = rs[0]!;
    const strings = new Map<string, number>();
    const index = (s: string) => strings.get(s) ?? strings.set(s, strings.size).get(s)!;
    index(first.configuration);
    for (const r of rs) (index(r.status), index(r.operation));
    const p = new ByteSink();
    p.varint(strings.size);
    for (const s of strings.keys()) {
      const b = Buffer.from(s, 'utf8');
      p.varint(b.length);
      p.raw(b);
    }
    p.varint(index(first.configuration));
    p.varint(first.token);
    p.varint(first.thread);
    p.zigzag(first.sequence);
    p.varint(rs.length);
    p.varint(index(first.status));
    p.varint(index(first.operation));
    let previousStartUs = 0;
    for (const r of rs) {
      p.zigzag(r.startOffsetUs - previousStartUs);
      previousStartUs = r.startOffsetUs;
      p.zigzag(r.latencyUs);
      const status = r.status !== first.status;
      const operation = r.operation !== first.operation;
      const scheduled = r.startLagUs !== null;
      p.byte(VERIFIED.indexOf(r.verified) | ((scheduled ? LATE.indexOf(r.late ?? false) : 0) << 2) | ((status ? 1 : 0) << 4) | ((operation ? 1 : 0) << 5));
      if (status) p.varint(index(r.status));
      if (operation) p.varint(index(r.operation));
      if (scheduled) p.zigzag(r.startLagUs!);
    }
    out.varint(p.length);
    out.raw(p.bytes.subarray(0, p.length));
    rs.length = 0;
  }
}

/** A block's records, run after run, or undefined where it is not a block (a CRC that matched junk). */
function decodeRuns(deflated: Buffer): CallRecord[] | undefined {
  let runs: Buffer;
  try {
    runs = inflateRawSync(deflated, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch {
    return undefined;
  }
  const s = new ByteSource(runs);
  const records: CallRecord[] = [];
  try {
    while (!s.done) {
      const run = decodeRun(s.slice(s.varint()));
      if (run === undefined) return undefined;
      records.push(...run);
    }
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
  return records;
}

/** A run's records, or undefined where its payload is not a run. */
function decodeRun(payload: Buffer): CallRecord[] | undefined {
  try {
    const s = new ByteSource(payload);
    const strings = Array.from({ length: s.varint() }, () => s.text());
    const string = (i: number) => {
      if (i >= strings.length) throw new RangeError('string');
      return strings[i]!;
    };
    const configuration = string(s.varint());
    const token = s.varint();
    const thread = s.varint();
    const firstSequence = s.zigzag();
    const count = s.varint();
    const defaultStatus = string(s.varint());
    const defaultOperation = string(s.varint());
    const records: CallRecord[] = [];
    let startOffsetUs = 0;
    for (let i = 0; i < count; i++) {
      startOffsetUs += s.zigzag();
      const latencyUs = s.zigzag();
      const tag = s.byte();
      const verified = VERIFIED[tag & 3];
      const late = LATE[(tag >> 2) & 3];
      if (verified === undefined || late === undefined || tag >= 64) return undefined;
      const status = tag & 16 ? string(s.varint()) : defaultStatus;
      const operation = tag & 32 ? string(s.varint()) : defaultOperation;
      const startLagUs = late === null ? null : s.zigzag();
      records.push({ configuration, token, thread, sequence: firstSequence + i, startOffsetUs, latencyUs, status, verified, operation, startLagUs, late });
    }
    return s.done ? records : undefined;
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

/**
 * Appends records to a records file, in blocks written 64 KiB at a time so the signing path never waits on disk.
 * A write that fails (disk full, file system gone) does not throw from a timer: the writer keeps the error, calls
 * `onFailure` so the run can stop, and the run reports it once the workers are done.
 */
export class RecordsFileWriter {
  private readonly fd: number;
  private out = new ByteSink();
  /** The run being gathered: records stay in the order they were given (a batch's calls, then another's). */
  private readonly run = new RunBuilder();
  private pendingRecords = 0;
  /** The file is new: its magic goes before the first block. */
  private magic: boolean;
  /** Records written to the file (not synced: a process that dies keeps them, a power cut may not). */
  private written = 0;
  failure: HsmBenchError | undefined;
  /** A process that exits at once (a third Ctrl-C) still writes what it recorded: every call recorded stays countable. */
  private readonly dropExitHook: () => void;

  /** `append` continues an existing file (a resumed burn-in); a file that is still empty gets its magic. */
  constructor(
    readonly path: string,
    append = false,
    private readonly onFailure: (error: HsmBenchError) => void = () => {},
    /** After each write to the file: how many records this writer has written in all. */
    private readonly onWritten: (records: number) => void = () => {},
  ) {
    try {
      this.fd = openSync(path, append ? 'a' : 'w');
      this.magic = !append || fstatSync(this.fd).size === 0;
      if (this.magic) this.out.raw(MAGIC);
    } catch (error) {
      throw writeError(path, error);
    }
    this.dropExitHook = atExit(() => this.flush());
  }

  write(r: CallRecord): void {
    if (this.failure) return;
    if (!this.run.takes(r)) this.run.encode(this.out);
    this.run.records.push(r);
    this.pendingRecords++;
    if (this.out.length >= FLUSH_BYTES) this.flush();
  }

  /** What was gathered, as a block on disk (the magic first where the file is new). */
  private block(): Buffer {
    const runs = this.out.bytes.subarray(this.magic ? MAGIC.length : 0, this.out.length);
    const deflated = deflateRawSync(runs);
    const header = Buffer.alloc(BLOCK_HEADER_BYTES);
    header.writeUInt32LE(deflated.length, 0);
    header.writeUInt32LE(crc32(deflated), 4);
    const block = Buffer.concat([...(this.magic ? [MAGIC] : []), header, deflated]);
    this.magic = false;
    return block;
  }

  /** Writes every record so far (the run being gathered is cut there, and a block written: the file is complete at every flush). */
  flush(): void {
    if (this.failure) return;
    if (this.run.records.length > 0) this.run.encode(this.out);
    if (this.out.length === 0) return;
    try {
      // writeSync may write less than asked (a disk filling up): the rest is written, or the failure is kept.
      const bytes = this.block();
      for (let written = 0; written < bytes.length;) written += writeSync(this.fd, bytes, written);
      this.written += this.pendingRecords;
      this.onWritten(this.written);
    } catch (error) {
      this.failure = writeError(this.path, error);
      this.onFailure(this.failure);
    }
    this.out.length = 0;
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

/** How a binary records file ends: `completeBytes` up to the end of its last whole block. */
export interface RecordsTail {
  completeBytes: number;
}

export const RECORDS_INPUT: InputKind = { what: 'records file', maxBytes: Number.MAX_SAFE_INTEGER, exitCode: ExitCode.setup, hint: 'give a run directory made by hsm-bench' };

/** Whether an open file is a binary records file (else a CSV one, or empty). */
export function isBinaryRecords(fd: number): boolean {
  const head = Buffer.alloc(MAGIC.length);
  return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(MAGIC);
}

/**
 * The records of an open binary records file, block by block. A block whose length runs past the end or whose CRC
 * does not match is counted in `bad`: one inside the file is skipped (its length is trusted no further than the
 * file), one at the end (a kill tore it) ends the reading. `tail` gets where the last whole block ends.
 */
export function* binaryRecords(fd: number, bad: BadParts = { count: 0 }, tail: RecordsTail = { completeBytes: 0 }): Generator<CallRecord[]> {
  const size = fstatSync(fd).size;
  let at = MAGIC.length;
  tail.completeBytes = Math.min(size, at);
  const header = Buffer.alloc(BLOCK_HEADER_BYTES);
  for (let n = 1; at < size; n++) {
    const isBad = () => {
      bad.count++;
      bad.first ??= { unit: 'block', number: n };
    };
    if (readSync(fd, header, 0, BLOCK_HEADER_BYTES, at) < BLOCK_HEADER_BYTES) return isBad();
    const bytes = header.readUInt32LE(0);
    if (bytes > MAX_BLOCK_BYTES || at + BLOCK_HEADER_BYTES + bytes > size) return isBad();
    const payload = Buffer.alloc(bytes);
    for (let got = 0; got < bytes;) got += readSync(fd, payload, got, bytes - got, at + BLOCK_HEADER_BYTES + got);
    at += BLOCK_HEADER_BYTES + bytes;
    tail.completeBytes = at;
    const records = crc32(payload) === header.readUInt32LE(4) ? decodeRuns(payload) : undefined;
    if (records === undefined) isBad();
    else yield records;
  }
}

/**
 * Reads a records file: binary, or CSV as older runs wrote it. A part that is not a record (a write torn by a
 * crash, junk) is skipped and counted in `bad`, never taken as a call.
 */
export async function* readRecords(path: string, bad: BadParts = { count: 0 }): AsyncGenerator<CallRecord> {
  // Streamed, so any size; but a regular file only: a FIFO or /dev/zero in its place would be read for ever.
  const { fd } = openInputFile(path, RECORDS_INPUT);
  if (!isBinaryRecords(fd)) return yield* readCsvRecords(fd, bad);
  try {
    for (const block of binaryRecords(fd, bad)) yield* block;
  } finally {
    closeSync(fd);
  }
}
