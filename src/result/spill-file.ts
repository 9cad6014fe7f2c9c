import { closeSync, fstatSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { openOutputFile } from '../core/output-file.js';
import { CALL_COLUMNS, newBatch, type CallBatch } from '../model/call-batch.js';
import { ExitCode } from '../core/errors.js';
import { openInputFile, type InputKind } from '../core/input-file.js';

/** Read back in batches, so any size; but a regular file only (a FIFO in its place would block for ever). */
const SPILL_INPUT: InputKind = { what: 'spill file', maxBytes: Number.MAX_SAFE_INTEGER, exitCode: ExitCode.setup, hint: 'the run directory was changed while the run wrote to it' };

/** Calls of a batch whose output was kept for the host check: those its verification would check. */
export function keptOutputs(batch: CallBatch): number {
  // Counted in place: a filtered copy per batch showed in the main thread's profile at millions of calls a second.
  let kept = 0;
  for (let i = 0; i < batch.count; i++) if (batch.kept[i] === 1) kept++;
  return kept;
}

/** How a spill file read from disk ended: whole, or inside a batch (a kill while it was written). */
export interface SpillTail {
  /** Calls of a batch whose header was read but whose data is cut off (0 when the file is whole). */
  tornCalls: number;
  /** Bytes after the last whole batch that are not one (0 when the file is whole). */
  tornBytes: number;
}

/** The columns a spill file keeps, in this order, and their bytes per call (besides the outputs). */
const SPILLED = CALL_COLUMNS.filter((c) => c.spilled);
const BYTES_PER_CALL = SPILLED.reduce((sum, c) => sum + c.type.BYTES_PER_ELEMENT, 0);

/**
 * The batches of an open spill file, in the order they were written. A header that does not describe a batch that
 * fits in what is left of the file (a batch torn by a kill, or a file that is not a spill file) ends the reading:
 * nothing is allocated beyond the file's size. Returns how the file ended.
 */
function* batchesIn(fd: number): Generator<CallBatch, SpillTail> {
  const size = fstatSync(fd).size;
  let at = 0;
  const readFully = (into: Uint8Array): boolean => {
    let got = 0;
    while (got < into.length) {
      const n = readSync(fd, into, got, into.length - got, at + got);
      if (n === 0) break;
      got += n;
    }
    at += got;
    return got === into.length;
  };
  // worker, firstSequence, count, bytes of kept outputs: float64s, so sequences beyond 2^31 survive.
  const header = new Float64Array(4);
  while (at < size) {
    const start = at;
    if (!readFully(new Uint8Array(header.buffer))) return { tornCalls: 0, tornBytes: size - start };
    const [worker, firstSequence, count, kept] = header as unknown as [number, number, number, number];
    const whole = [worker, firstSequence, count, kept].every((v) => Number.isSafeInteger(v) && v >= 0);
    if (!whole || count === 0 || count * BYTES_PER_CALL + kept > size - at) return { tornCalls: whole ? count : 0, tornBytes: size - start };
    // Typed arrays of their own (aligned), filled from the file one after the other.
    const batch: CallBatch = { ...newBatch(worker, count, 0), firstSequence, count, outputs: new Uint8Array(kept) };
    for (const a of [...SPILLED.map((c) => batch[c.name]), batch.outputs]) readFully(new Uint8Array(a.buffer));
    yield batch;
  }
  return { tornCalls: 0, tornBytes: 0 };
}

/**
 * Reads a spill file a run left behind (it was killed, or exited at a third Ctrl-C, before verifying it), without
 * changing it: `hsm-bench report` counts its calls every time it is asked. `tail` is filled in once the last batch is read.
 */
export function* readSpillFile(path: string, tail: SpillTail = { tornCalls: 0, tornBytes: 0 }): Generator<CallBatch> {
  const fd = openSync(path, 'r');
  try {
    Object.assign(tail, yield* batchesIn(fd));
  } finally {
    closeSync(fd);
  }
}

/**
 * Batches whose verification has to wait for the end of the measured window, on disk in the run directory: the
 * signers get their buffers back at once and memory stays bounded however far verification falls behind.
 * Batches are appended whole (timings, statuses, operations, kept outputs) and read back in the order they were written.
 */
export class SpillFile {
  private fd: number | null = null;
  /** A batch as it goes to disk, reused. */
  private staging = Buffer.alloc(0);
  batches = 0;
  outputsKept = 0;

  constructor(readonly path: string) {}

  write(batch: CallBatch): void {
    this.fd ??= openOutputFile(this.path, { mode: 0o600 });
    const n = batch.count;
    const kept = batch.outputBytes.subarray(0, n).reduce((sum, bytes) => sum + bytes, 0);
    const parts = [new Float64Array([batch.worker, batch.firstSequence, n, kept]), ...SPILLED.map((c) => batch[c.name].subarray(0, n)), batch.outputs.subarray(0, kept)];
    // One write per batch, not one per column: at millions of calls a second the system calls were most of the main thread's time.
    const length = parts.reduce((sum, p) => sum + p.byteLength, 0);
    if (this.staging.length < length) this.staging = Buffer.allocUnsafe(length);
    let offset = 0;
    for (const p of parts) offset += Buffer.from(p.buffer, p.byteOffset, p.byteLength).copy(this.staging, offset);
    for (let at = 0; at < length;) at += writeSync(this.fd, this.staging, at, length - at);
    this.batches++;
    this.outputsKept += keptOutputs(batch);
  }

  /** Every batch written, in order; the file is removed after the last one. */
  *read(): Generator<CallBatch> {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = openInputFile(this.path, SPILL_INPUT).fd;
    try {
      const tail = yield* batchesIn(this.fd);
      if (tail.tornBytes > 0) throw new Error(`${this.path} ends inside a batch`);
    } finally {
      this.close();
      rmSync(this.path, { force: true });
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** Closes and removes the file, its batches unread. */
  discard(): void {
    this.close();
    rmSync(this.path, { force: true });
  }
}
