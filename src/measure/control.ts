import type { StopWait } from '../model/run-events.js';
/**
 * State shared by the main thread and the signing workers through one SharedArrayBuffer: the start barrier,
 * the stop flag, the start time of the measured window, the count of signatures claimed from a shared total
 * (burn-in), the next call of an open-loop schedule, each worker's count of batches not yet recorded, each
 * worker's call in flight (for the watchdog, which may abandon a call that never returns), and each worker's session
 * state and count of reconnects (for the live metrics).
 */
const GO = 0;
const STOP = 1;
/** The number of workers the buffer was made for: a worker's view finds its parts by it. */
const WORKERS = 2;
const HEADER_INT32S = 3;
/** A worker with this many batches waiting in the recorder pauses: memory stays bounded if recording lags. */
export const MAX_PENDING_BATCHES = 8;
/** callBeginNs of a worker whose call the main thread abandoned (0: not in a call). */
const ABANDONED = -1n;
/**
 * Per worker, what a record of its call in flight says: sequence, operation, start lag (NaN: none), late, and its
 * kind: WARM_UP, MEASURED, or CONNECTING (opening its session: C_OpenSession, C_Login, finding its key).
 */
const CALL_FACTS = 5;
const WARM_UP = 0;
const MEASURED = 1;
const CONNECTING = 2;
/** Where a session is (a worker's sessionState): calling, reconnecting after a failure, ended early (gave up, abandoned), or done. */
export const SESSION_CALLING = 0;
export const SESSION_RECONNECTING = 1;
export const SESSION_LOST = 2;
export const SESSION_DONE = 3;

/** A call in flight that the main thread abandoned: what its record says. */
export interface AbandonedCall {
  beginNs: bigint;
  sequence: number;
  operation: number;
  startLagNs: number;
  late: boolean;
  /** False for a warm-up call (not measured, not recorded). */
  measured: boolean;
}

export class RunControl {
  readonly buffer: SharedArrayBuffer;
  private readonly flags: Int32Array;
  private readonly startNs: BigInt64Array;
  private readonly claimed: BigInt64Array;
  private readonly nextCall: BigInt64Array;
  private readonly pending: Int32Array;
  private readonly sessionStates: Int32Array;
  private readonly reconnects: Int32Array;
  private readonly callBeginNs: BigInt64Array;
  private readonly callFacts: Float64Array;

  /** Main thread: what a stop waits for, in words (the configuration running says it; undefined between configurations). */
  describeWait?: () => StopWait;
  /** Main thread: how far the host check is behind, in seconds (the configuration running says it). */
  checkLagS: () => number = () => 0;
  /** Main thread: calls the sessions made that wait for the host check, not recorded yet (the configuration running says it). */
  callsUnrecorded: () => number = () => 0;

  constructor(workerCountOrBuffer: number | SharedArrayBuffer) {
    const made = typeof workerCountOrBuffer === 'number';
    const workers = made ? workerCountOrBuffer : new Int32Array(workerCountOrBuffer, 24, HEADER_INT32S)[WORKERS]!;
    // The 64-bit parts after the int32 ones (header, then per worker: pending, session state, reconnects) start on an 8-byte boundary.
    const pendingBytes = 8 * Math.ceil((4 * (HEADER_INT32S + 3 * workers)) / 8);
    this.buffer = made ? new SharedArrayBuffer(24 + pendingBytes + 8 * workers * (1 + CALL_FACTS)) : workerCountOrBuffer;
    this.startNs = new BigInt64Array(this.buffer, 0, 1);
    this.claimed = new BigInt64Array(this.buffer, 8, 1);
    this.nextCall = new BigInt64Array(this.buffer, 16, 1);
    this.flags = new Int32Array(this.buffer, 24, HEADER_INT32S);
    if (made) this.flags[WORKERS] = workers;
    this.pending = new Int32Array(this.buffer, 24 + 4 * HEADER_INT32S, workers);
    this.sessionStates = new Int32Array(this.buffer, 24 + 4 * (HEADER_INT32S + workers), workers);
    this.reconnects = new Int32Array(this.buffer, 24 + 4 * (HEADER_INT32S + 2 * workers), workers);
    this.callBeginNs = new BigInt64Array(this.buffer, 24 + pendingBytes, workers);
    this.callFacts = new Float64Array(this.buffer, 24 + pendingBytes + 8 * workers, workers * CALL_FACTS);
  }

  /** Main thread: when the measured window started (process.hrtime ns). */
  windowStartNs(): bigint {
    return Atomics.load(this.startNs, 0);
  }

  /** Worker: publishes the call it is about to make, for the watchdog. */
  callBegins(worker: number, beginNs: bigint, sequence: number, operation: number, startLagNs: number, late: boolean, measured: boolean): void {
    const f = worker * CALL_FACTS;
    this.callFacts[f] = sequence;
    this.callFacts[f + 1] = operation;
    this.callFacts[f + 2] = startLagNs;
    this.callFacts[f + 3] = late ? 1 : 0;
    this.callFacts[f + 4] = measured ? MEASURED : WARM_UP;
    Atomics.store(this.callBeginNs, worker, beginNs);
  }

  /** Worker: publishes that it opens its session (bounded by the watchdog like a call); it ends with callReturned. */
  connectBegins(worker: number, beginNs: bigint): void {
    this.callFacts[worker * CALL_FACTS + 4] = CONNECTING;
    Atomics.store(this.callBeginNs, worker, beginNs);
  }

  /** Main thread: whether what the worker has in flight is the opening of its session, not a call. */
  connecting(worker: number): boolean {
    return this.callFacts[worker * CALL_FACTS + 4] === CONNECTING;
  }

  /** Worker: its call returned; false if the main thread abandoned it meanwhile (the worker must then end at once, touching nothing). */
  callReturned(worker: number, beginNs: bigint): boolean {
    return Atomics.compareExchange(this.callBeginNs, worker, beginNs, 0n) === beginNs;
  }

  /** Main thread: when the worker's call in flight began, or null when it is not in a call. */
  inFlightSince(worker: number): bigint | null {
    const begin = Atomics.load(this.callBeginNs, worker);
    return begin > 0n ? begin : null;
  }

  /** Main thread: abandons the worker's call in flight, unless it returned meanwhile (null). */
  abandonCall(worker: number): AbandonedCall | null {
    const begin = Atomics.load(this.callBeginNs, worker);
    if (begin <= 0n || Atomics.compareExchange(this.callBeginNs, worker, begin, ABANDONED) !== begin) return null;
    const f = worker * CALL_FACTS;
    return {
      beginNs: begin,
      sequence: this.callFacts[f]!,
      operation: this.callFacts[f + 1]!,
      startLagNs: this.callFacts[f + 2]!,
      late: this.callFacts[f + 3] === 1,
      measured: this.callFacts[f + 4] === MEASURED,
    };
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

  /** Main thread: when a stop was first requested (process.hrtime ns), or null. */
  stopRequestedAtNs: bigint | null = null;

  /** Main thread (a worker only reads the flag). */
  requestStop(): void {
    this.stopRequestedAtNs ??= process.hrtime.bigint();
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

  /** Batches of the worker posted and not yet recorded. */
  pendingOf(worker: number): number {
    return Atomics.load(this.pending, worker);
  }

  /** Worker: waits until a batch of its own is recorded, or `ms`, or a stop. */
  waitForRecord(worker: number, ms: number): void {
    if (!this.stopRequested()) Atomics.wait(this.pending, worker, Atomics.load(this.pending, worker), ms);
  }

  /** Main thread, for sessions it drains itself (the native engine): false while the recorder is behind on `worker`. */
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

  /** Worker (or the main thread, for the native loop's jobs): the session failed and is being reopened. */
  reconnectBegins(worker: number): void {
    Atomics.compareExchange(this.sessionStates, worker, SESSION_CALLING, SESSION_RECONNECTING);
  }

  /** The session was reopened: one more reconnect. */
  reconnected(worker: number): void {
    Atomics.add(this.reconnects, worker, 1);
  }

  /** The reconnecting is over (reopened, or the run ended meanwhile); a session lost meanwhile stays lost. */
  reconnectEnds(worker: number): void {
    Atomics.compareExchange(this.sessionStates, worker, SESSION_RECONNECTING, SESSION_CALLING);
  }

  /** Main thread: the session ended early (it gave up, or was abandoned inside a call). */
  sessionLost(worker: number): void {
    Atomics.store(this.sessionStates, worker, SESSION_LOST);
  }

  /** Main thread: the session ended by the run's stop rule; one lost before stays lost. */
  sessionDone(worker: number): void {
    Atomics.compareExchange(this.sessionStates, worker, SESSION_CALLING, SESSION_DONE);
  }

  sessionState(worker: number): number {
    return Atomics.load(this.sessionStates, worker);
  }

  reconnectsOf(worker: number): number {
    return Atomics.load(this.reconnects, worker);
  }
}
