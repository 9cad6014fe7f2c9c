import { NATIVE } from '../core/native-abi.js';

/**
 * The columns a batch keeps per call, widest first (so that views laid one after another in one buffer stay
 * aligned): the one table from which batches are made, copied, transferred between threads, spilled to disk and
 * read back. `spilled`: kept in a spill file (the host check's result is not: a spilled batch is checked later).
 */
export const CALL_COLUMNS = [
  { name: 'startOffsetNs', type: Float64Array, spilled: true },
  { name: 'latencyNs', type: Float64Array, spilled: true },
  /** Open loop (src/model/schedule.ts): how long after its intended start the call began; NaN without a schedule. */
  { name: 'startLagNs', type: Float64Array, spilled: true },
  /** CKR code; negative for a status that did not come from the module (src/model/record-status.ts). */
  { name: 'status', type: Int32Array, spilled: true },
  /** Byte length of the output kept for the host check (0 where none was kept). */
  { name: 'outputBytes', type: Uint16Array, spilled: true },
  /** 1 where the call's output was kept for the host check (its bytes are in `outputs`); 0 where it was not sampled. */
  { name: 'kept', type: Uint8Array, spilled: true },
  /** Filled by the verification stage: VERIFIED_OK, VERIFIED_BAD, or 0 where the output was not checked. */
  { name: 'verified', type: Uint8Array, spilled: false },
  /** Which operation of the workload the call made (index into its operations; 0 for a single one). */
  { name: 'operation', type: Uint8Array, spilled: true },
  /** Open loop: 1 where the call was late (no session was free at its intended start). */
  { name: 'late', type: Uint8Array, spilled: true },
] as const;

type Column = (typeof CALL_COLUMNS)[number];
type ColumnArrays = { [C in Column as C['name']]: InstanceType<C['type']> };

/**
 * Calls travel from a session's loop to the recorder in batches of typed arrays (transferred, not copied), so the
 * loop does no per-call allocation and no per-call message passing. The recorder sends each batch back once
 * recorded, and the loop fills it again: a fixed set of buffers circulates for the whole run. (Allocating a fresh
 * 128 KiB output buffer per batch in one thread and freeing it in another let the process grow by some 30 MB over a
 * million verified calls.) The native loop fills a batch's arrays by their names (native/timed-loop.c, drain).
 */
export interface CallBatch extends ColumnArrays {
  worker: number;
  firstSequence: number;
  count: number;
  /** The kept outputs, one after the other (their lengths in `outputBytes`). */
  outputs: Uint8Array;
}

/** A batch's columns as views of `buffer` from `offset` on (each `length` long), or in arrays of their own. */
function columnsOf(length: number, buffer?: ArrayBufferLike, offset = 0): { columns: ColumnArrays; bytes: number } {
  let at = offset;
  const columns = Object.fromEntries(
    CALL_COLUMNS.map((c) => {
      const view = buffer === undefined ? new c.type(length) : new c.type(buffer as ArrayBuffer, at, length);
      at += c.type.BYTES_PER_ELEMENT * length;
      return [c.name, view];
    }),
  ) as ColumnArrays;
  return { columns, bytes: at - offset };
}

/** Bytes of a batch's columns for `length` calls. */
const columnBytes = (length: number) => CALL_COLUMNS.reduce((sum, c) => sum + c.type.BYTES_PER_ELEMENT * length, 0);

export const VERIFIED_OK = 1;
export const VERIFIED_BAD = 2;

/** Calls per batch: a worker posts (and the native engine drains) once this many are made, or every 100 ms. */
export const BATCH_CAPACITY = NATIVE.batchCapacity;

/**
 * The batch a worker thread is filling, in memory the main thread can read: should the worker's call never return,
 * the main thread takes the records it made before that call (not posted yet) without it. `count` is published
 * last, so a reader that loads it sees every record below it whole.
 */
export class StagedBatch {
  readonly batch: CallBatch;
  /** firstSequence, and the bytes of kept outputs so far. */
  private readonly header: Float64Array;
  private readonly published: Int32Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    worker: number,
    readonly capacity: number,
    readonly maxOutputBytes: number,
  ) {
    // firstSequence and the bytes of kept outputs so far (float64s), then the count published (int32s), then the
    // columns, then the outputs: widest first, so that every view is aligned.
    this.header = new Float64Array(buffer, 0, 2);
    this.published = new Int32Array(buffer, 16, 2);
    const { columns, bytes } = columnsOf(capacity, buffer, 24);
    this.batch = { worker, firstSequence: 0, count: 0, ...columns, outputs: new Uint8Array(buffer, 24 + bytes, capacity * maxOutputBytes) };
  }

  static bytes(capacity: number, maxOutputBytes: number): number {
    return 24 + columnBytes(capacity) + capacity * maxOutputBytes;
  }

  /** A staged batch in memory of its own (the main thread makes the workers' and hands them the buffer). */
  static create(worker: number, capacity: number, maxOutputBytes: number): StagedBatch {
    return new StagedBatch(new SharedArrayBuffer(StagedBatch.bytes(capacity, maxOutputBytes)), worker, capacity, maxOutputBytes);
  }

  get count(): number {
    return Atomics.load(this.published, 0);
  }

  get firstSequence(): number {
    return this.header[0]!;
  }

  /** Worker: adds a record (`output`: kept for the host check; undefined where it was not sampled or the call failed). */
  add(startOffsetNs: number, latencyNs: number, status: number, output: Uint8Array | undefined, operation: number, startLagNs: number, late: boolean): void {
    const b = this.batch;
    const i = this.count;
    b.operation[i] = operation;
    b.startLagNs[i] = startLagNs;
    b.late[i] = late ? 1 : 0;
    b.startOffsetNs[i] = startOffsetNs;
    b.latencyNs[i] = latencyNs;
    b.status[i] = status;
    b.kept[i] = output ? 1 : 0;
    b.outputBytes[i] = output ? output.length : 0;
    if (output) {
      b.outputs.set(output, this.header[1]!);
      this.header[1]! += output.length;
    }
    Atomics.store(this.published, 0, i + 1);
  }

  /** Worker: empties the batch; the next record is call `firstSequence`. */
  restart(firstSequence: number): void {
    this.header[0] = firstSequence;
    this.header[1] = 0;
    Atomics.store(this.published, 0, 0);
  }

  /** The records staged so far, copied into `into` (a batch of the same capacity, not shared: it can be posted). */
  copyInto(into: CallBatch): CallBatch {
    const n = this.count;
    const b = this.batch;
    for (const c of CALL_COLUMNS) into[c.name].set(b[c.name].subarray(0, n) as never);
    into.verified.fill(0);
    into.outputs.set(b.outputs.subarray(0, this.header[1]!));
    into.firstSequence = this.firstSequence;
    into.count = n;
    return into;
  }
}

/** A worker thread's batches: filled in its staged batch, posted as copies in batches the recorder sends back. */
export class BatchBuilder {
  constructor(
    private readonly staged: StagedBatch,
    firstSequence: number,
    /** A batch the recorder has sent back, if one is waiting. */
    private readonly recycled: () => CallBatch | undefined,
  ) {
    staged.restart(firstSequence);
  }

  get count(): number {
    return this.staged.count;
  }

  get capacity(): number {
    return this.staged.capacity;
  }

  /** When the first call of the batch being filled ended (ns from the window's start), or null: it holds none. */
  get firstEndNs(): number | null {
    const b = this.staged.batch;
    return this.staged.count > 0 ? b.startOffsetNs[0]! + b.latencyNs[0]! : null;
  }

  add(startOffsetNs: number, latencyNs: number, status: number, output: Uint8Array | undefined, operation = 0, startLagNs = Number.NaN, late = false): void {
    this.staged.add(startOffsetNs, latencyNs, status, output, operation, startLagNs, late);
  }

  /** Hands over the filled batch and starts the next one at `nextSequence`. */
  take(nextSequence: number): CallBatch {
    const s = this.staged;
    const full = s.copyInto(this.recycled() ?? newBatch(s.batch.worker, s.capacity, s.maxOutputBytes));
    s.restart(nextSequence);
    return full;
  }
}

/** An empty batch of `capacity` calls, with room for `maxOutputBytes` of kept output per call (0: none kept). */
export const newBatch = (worker: number, capacity: number, maxOutputBytes: number): CallBatch => ({
  worker,
  firstSequence: 0,
  count: 0,
  ...columnsOf(capacity).columns,
  outputs: new Uint8Array(capacity * maxOutputBytes),
});

/** The buffers a batch is made of, to transfer it to another thread. */
export const transferList = (b: CallBatch) => [...CALL_COLUMNS.map((c) => b[c.name].buffer), b.outputs.buffer] as ArrayBuffer[];
