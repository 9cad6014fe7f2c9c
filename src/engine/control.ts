/**
 * State shared by the main thread and the signing workers through one SharedArrayBuffer: the start barrier,
 * the stop flag, the start time of the measured window, the count of signatures claimed from a shared total
 * (burn-in), the next call of an open-loop schedule, and each worker's count of batches not yet recorded.
 */
const GO = 0;
const STOP = 1;
const HEADER_INT32S = 2;
/** A worker with this many batches waiting in the recorder pauses: memory stays bounded if recording lags. */
const MAX_PENDING_BATCHES = 8;

export class RunControl {
  readonly buffer: SharedArrayBuffer;
  private readonly flags: Int32Array;
  private readonly startNs: BigInt64Array;
  private readonly claimed: BigInt64Array;
  private readonly nextCall: BigInt64Array;
  private readonly pending: Int32Array;

  constructor(workerCountOrBuffer: number | SharedArrayBuffer) {
    this.buffer = typeof workerCountOrBuffer === 'number' ? new SharedArrayBuffer(24 + 4 * (HEADER_INT32S + workerCountOrBuffer)) : workerCountOrBuffer;
    this.startNs = new BigInt64Array(this.buffer, 0, 1);
    this.claimed = new BigInt64Array(this.buffer, 8, 1);
    this.nextCall = new BigInt64Array(this.buffer, 16, 1);
    this.flags = new Int32Array(this.buffer, 24, HEADER_INT32S);
    this.pending = new Int32Array(this.buffer, 24 + 4 * HEADER_INT32S);
  }

  /** Worker: takes the next signature of a shared total; false once all are taken. Fast tokens take more. */
  claim(total: number): boolean {
    // Compare-and-swap, so that a claim refused at the total leaves the count as it was (failures give claims back).
    for (let c = Atomics.load(this.claimed, 0); c < BigInt(total); c = Atomics.load(this.claimed, 0)) {
      if (Atomics.compareExchange(this.claimed, 0, c, c + 1n) === c) return true;
    }
    return false;
  }

  /** Worker: gives back the claim of a signature that failed, so that a shared total counts successes. */
  unclaim(): void {
    Atomics.sub(this.claimed, 0, 1n);
  }

  /** Worker: takes the next call of an open-loop schedule of `calls` calls (null: no limit); -1 once all are taken. */
  takeCall(calls: number | null): number {
    const k = Number(Atomics.add(this.nextCall, 0, 1n));
    return calls !== null && k >= calls ? -1 : k;
  }

  /** Worker: waits until `atNs` (process.hrtime), or less if a stop is requested meanwhile. */
  sleepUntil(atNs: bigint): void {
    for (let now = process.hrtime.bigint(); now < atNs && !this.stopRequested(); now = process.hrtime.bigint()) {
      Atomics.wait(this.flags, STOP, 0, Number(atNs - now) / 1e6);
    }
  }

  /** Worker: waits `ms`, or less if a stop is requested meanwhile. */
  sleep(ms: number): void {
    if (ms > 0) Atomics.wait(this.flags, STOP, 0, ms);
  }

  /** Main thread: opens the barrier; every waiting worker starts its measured window at `startNs`. */
  release(startNs: bigint): void {
    Atomics.store(this.startNs, 0, startNs);
    Atomics.store(this.flags, GO, 1);
    Atomics.notify(this.flags, GO);
  }

  /** Worker: blocks until the barrier opens (or a stop is requested) and returns the window's start time. */
  awaitRelease(): bigint {
    while (Atomics.load(this.flags, GO) === 0 && !this.stopRequested()) Atomics.wait(this.flags, GO, 0, 100);
    return Atomics.load(this.startNs, 0);
  }

  requestStop(): void {
    Atomics.store(this.flags, STOP, 1);
    Atomics.notify(this.flags, GO);
    Atomics.notify(this.flags, STOP);
  }

  stopRequested(): boolean {
    return Atomics.load(this.flags, STOP) === 1;
  }

  /** Worker: true once a shared total has been claimed in full (a failing worker need not wait for its token then). */
  totalReached(total: number): boolean {
    return Atomics.load(this.claimed, 0) >= BigInt(total);
  }

  /** Worker: called before posting a batch; waits while the recorder is behind, unless the run is stopping. */
  beforePost(worker: number): void {
    for (let n = Atomics.load(this.pending, worker); n >= MAX_PENDING_BATCHES && !this.stopRequested(); n = Atomics.load(this.pending, worker)) {
      Atomics.wait(this.pending, worker, n, 100);
    }
    Atomics.add(this.pending, worker, 1);
  }

  /** Main thread, for signers it drains itself (the native engine): false while the recorder is behind on `worker`. */
  tryPost(worker: number): boolean {
    if (Atomics.load(this.pending, worker) >= MAX_PENDING_BATCHES) return false;
    Atomics.add(this.pending, worker, 1);
    return true;
  }

  /** Main thread: a batch of `worker` has been recorded. */
  recorded(worker: number): void {
    Atomics.sub(this.pending, worker, 1);
    Atomics.notify(this.pending, worker);
  }
}
