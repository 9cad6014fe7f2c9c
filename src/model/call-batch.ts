import { NATIVE } from '../core/native-abi.js';

/**
 * Calls travel from the timed loop to the recorder in batches of typed arrays (transferred, not copied), so the
 * loop does no per-call allocation and no per-call message passing. The recorder sends each batch back once
 * recorded, and the loop fills it again: a fixed set of buffers circulates for the whole run. (Allocating a fresh
 * 128 KiB output buffer per batch in one thread and freeing it in another let the process grow by some 30 MB over a
 * million verified signatures.) The native loop fills a batch's arrays by their names (native/timed-loop.c, drain).
 */
export interface CallBatch {
  worker: number;
  firstSequence: number;
  count: number;
  startOffsetNs: Float64Array;
  latencyNs: Float64Array;
  /** CKR code per call, or a status that did not come from the module (src/model/record-status.ts). */
  status: Int32Array;
  /** 1 where the call's output was kept for the host check (its bytes are in `outputs`); 0 where it was not sampled. */
  kept: Uint8Array;
  /** Byte length of each kept output (0 where none was kept). */
  outputBytes: Uint16Array;
  /** The kept outputs, packed one after the other. */
  outputs: Uint8Array;
  /** Filled by the verification stage: VERIFIED_OK, VERIFIED_BAD, or 0 where the output was not checked. */
  verified: Uint8Array;
  /** Which operation of the workload each call made (index into its operations; 0 for a single one). */
  operation: Uint8Array;
  /** Open loop (src/model/schedule.ts): how long after its intended start each call began; NaN without a schedule. */
  startLagNs: Float64Array;
  /** Open loop: 1 where the call was late (no session was free at its intended start). */
  late: Uint8Array;
}

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
    /** Room per call for a kept output. */
    readonly keptBytes: number,
  ) {
    let at = 0;
    const take = <T>(make: (b: SharedArrayBuffer, offset: number, length: number) => T, bytes: number, length: number): T => {
      const view = make(buffer, at, length);
      at += bytes * length;
      return view;
    };
    // Widest first, so that every view is aligned.
    this.header = take((b, o, n) => new Float64Array(b, o, n), 8, 2);
    const startOffsetNs = take((b, o, n) => new Float64Array(b, o, n), 8, capacity);
    const latencyNs = take((b, o, n) => new Float64Array(b, o, n), 8, capacity);
    const startLagNs = take((b, o, n) => new Float64Array(b, o, n), 8, capacity);
    this.published = take((b, o, n) => new Int32Array(b, o, n), 4, 2);
    const status = take((b, o, n) => new Int32Array(b, o, n), 4, capacity);
    const outputBytes = take((b, o, n) => new Uint16Array(b, o, n), 2, capacity);
    const bytes = (n: number) => take((b, o, len) => new Uint8Array(b, o, len), 1, n);
    this.batch = {
      worker,
      firstSequence: 0,
      count: 0,
      startOffsetNs,
      latencyNs,
      status,
      kept: bytes(capacity),
      outputBytes,
      outputs: bytes(capacity * keptBytes),
      verified: bytes(capacity),
      operation: bytes(capacity),
      startLagNs,
      late: bytes(capacity),
    };
  }

  static bytes(capacity: number, keptBytes: number): number {
    return 8 * (2 + 3 * capacity) + 4 * (2 + capacity) + 2 * capacity + capacity * (4 + keptBytes);
  }

  /** A staged batch in memory of its own (the main thread makes the workers' and hands them the buffer). */
  static create(worker: number, capacity: number, keptBytes: number): StagedBatch {
    return new StagedBatch(new SharedArrayBuffer(StagedBatch.bytes(capacity, keptBytes)), worker, capacity, keptBytes);
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
    const keptBytes = this.header[1]!;
    into.startOffsetNs.set(b.startOffsetNs.subarray(0, n));
    into.latencyNs.set(b.latencyNs.subarray(0, n));
    into.status.set(b.status.subarray(0, n));
    into.kept.set(b.kept.subarray(0, n));
    into.outputBytes.set(b.outputBytes.subarray(0, n));
    into.outputs.set(b.outputs.subarray(0, keptBytes));
    into.verified.fill(0);
    into.operation.set(b.operation.subarray(0, n));
    into.startLagNs.set(b.startLagNs.subarray(0, n));
    into.late.set(b.late.subarray(0, n));
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

  add(startOffsetNs: number, latencyNs: number, status: number, output: Uint8Array | undefined, operation = 0, startLagNs = Number.NaN, late = false): void {
    this.staged.add(startOffsetNs, latencyNs, status, output, operation, startLagNs, late);
  }

  /** Hands over the filled batch and starts the next one at `nextSequence`. */
  take(nextSequence: number): CallBatch {
    const s = this.staged;
    const full = s.copyInto(this.recycled() ?? newBatch(s.batch.worker, s.capacity, s.keptBytes));
    s.restart(nextSequence);
    return full;
  }
}

/** An empty batch of `capacity` calls, with room for `keptBytes` of kept output per call (0: none kept). */
export const newBatch = (worker: number, capacity: number, keptBytes: number): CallBatch => ({
  worker,
  firstSequence: 0,
  count: 0,
  startOffsetNs: new Float64Array(capacity),
  latencyNs: new Float64Array(capacity),
  status: new Int32Array(capacity),
  kept: new Uint8Array(capacity),
  outputBytes: new Uint16Array(capacity),
  outputs: new Uint8Array(capacity * keptBytes),
  verified: new Uint8Array(capacity),
  operation: new Uint8Array(capacity),
  startLagNs: new Float64Array(capacity),
  late: new Uint8Array(capacity),
});

export const transferList = (b: CallBatch) =>
  [
    b.startOffsetNs.buffer,
    b.latencyNs.buffer,
    b.status.buffer,
    b.kept.buffer,
    b.outputBytes.buffer,
    b.outputs.buffer,
    b.verified.buffer,
    b.operation.buffer,
    b.startLagNs.buffer,
    b.late.buffer,
  ] as ArrayBuffer[];
