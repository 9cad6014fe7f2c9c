import { UnrecordedCalls } from './unrecorded-calls.js';
import type { ConnectOutcome } from '../pkcs11/token-connection.js';
import { WRONG_OUTPUT_SIZE } from '../model/record-status.js';
import { BatchBuilder, transferList, type CallBatch, type StagedBatch } from '../model/call-batch.js';
import type { RunControl } from './control.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import { FAILURE_LIMIT_REACHED, MAX_CONSECUTIVE_FAILURES } from './failure-limit.js';
import { intendedOffsetNs } from '../model/schedule.js';
import type { StopSpec } from '../model/stop.js';
import { hash } from 'node:crypto';
import { keptAsSha256, outputBufferBytes, outputFits, pickOperation, seedWord, type Workload } from '../model/workload.js';

/** How a burn-in session gets its token back after a failure. */
export interface Recovery {
  giveUpAfterMs: number;
}

/**
 * 'pin-refused': the token refused the PIN; the run remembers it at once (a resumed burn-in must not present it again).
 * 'failing-until': the session stopped trying at `atNs` (the run's end came, or it gave up) while it waited or
 * reconnected after a failure: no call marks that time, yet it is part of the window and of its token's outage.
 */
export type LoopWorkerMessage =
  { type: 'ready' } | { type: 'batch'; batch: CallBatch } | { type: 'done'; gaveUp?: string } | { type: 'failed'; message: string } | { type: 'pin-refused' } | { type: 'failing-until'; atNs: bigint };

/**
 * What the loop calls, and nothing more: a worker thread's session through pkcs11js (loop-worker.ts), or a scripted
 * module in the tests, which run this same loop in-process.
 */
export interface LoopCalls {
  /** The timed call of operation `op` for call `sequence`, its output into `out`: its CKR code (0: OK; never throws). */
  call(op: number, sequence: number, out: Buffer): number;
  /** Off the clock, after a call that returned OK: what it made is read back and destroyed (derive, keygen); its CKR code. */
  finish(op: number, out: Buffer): number;
  /** The last call's output length as the module gave it; null where the token would not show it (not checked). */
  readonly outputLength: number | null;
  /** A new session after a failure (burn-in); never throws. */
  connect(): ConnectOutcome;
  /** Why the token is lost for good after the last call failed (a PIN refused or withheld when the call logged in), or undefined. */
  lost?(): string | undefined;
}

/** The loop's time: process.hrtime and the run control's waits in a worker, a clock the test moves in-process. */
export interface LoopClock {
  nowNs(): bigint;
  /** Waits until `atNs`, or less if a stop is requested meanwhile. */
  sleepUntil(atNs: bigint): void;
  /** Waits `ms`, or less if a stop is requested meanwhile. */
  sleep(ms: number): void;
}

/** The real clock of a session: process.hrtime, with the run control's waits (which a stop cuts short). */
export const hrtimeClock = (control: RunControl): LoopClock => ({
  nowNs: () => process.hrtime.bigint(),
  sleepUntil: (atNs) => control.sleepUntil(atNs),
  sleep: (ms) => control.sleep(ms),
});

/** One session's share of the configuration, as the loop needs it. */
export interface CallLoopInput {
  worker: number;
  workload: Workload;
  messageSeed: Uint8Array;
  warmupCalls: number;
  /** Sequence number of this session's first measured call (above 0 when a burn-in resumes). */
  firstSequence: number;
  /** The configuration's stop, as the run gave it; and this session's own count of calls, where it has one. */
  stop: StopSpec;
  calls: number | null;
  /** Keep every k-th output for the host check; 0 keeps none. */
  verifyEvery: number;
  recovery: Recovery | null;
  /** No call while this session's oldest call not yet recorded ended this long ago (ns); null: no bound. */
  unrecordedMaxNs: number | null;
}

/** Where the loop's batches go, and where it takes them back from once recorded. */
export interface LoopBatches {
  /** The batch being filled, readable by the main thread should a call never return. */
  staged: StagedBatch;
  /** A batch the recorder has sent back, if one is waiting (the loop never yields, so it is taken synchronously). */
  recycled: () => CallBatch | undefined;
  post: (m: LoopWorkerMessage, transfer?: ArrayBuffer[]) => void;
}

const BATCH_MAX_AGE_NS = 100_000_000n;
/** What `callLoop` returns for a session whose call the main thread abandoned: it touches nothing more. */
export const ABANDONED = Symbol('abandoned');

/**
 * Opens the session through `connect`, published for the watchdog as a call in flight: a token that does not give
 * its session is bounded like one that does not answer a call (call-watchdog.ts), and a session the main thread
 * abandoned meanwhile touches nothing more.
 */
export function boundedConnect(control: RunControl, worker: number, clock: LoopClock, connect: () => ConnectOutcome): ConnectOutcome | typeof ABANDONED {
  const beginNs = clock.nowNs();
  control.connectBegins(worker, beginNs);
  const outcome = connect();
  return control.callReturned(worker, beginNs) ? outcome : ABANDONED;
}

/** The timed loop, from the warm-up to the stop rule; returns why it gave up early, if it did (or that it was abandoned). */
export function callLoop(input: CallLoopInput, calls: LoopCalls, control: RunControl, clock: LoopClock, sink: LoopBatches): string | undefined | typeof ABANDONED {
  const { operations, cumulative } = input.workload;
  const output = Buffer.alloc(outputBufferBytes(input.workload));
  const hashed = operations.map(keptAsSha256);
  const word = seedWord(input.messageSeed);
  /** The operation of the call being made (the workload's draw for its sequence number). */
  let op = 0;

  /** A call's status once finished: a failure in finishing fails it, and so does an output of a size the operation does not make (never copied or checked). */
  const finish = (status: number): number => {
    if (status !== 0) return status;
    status = calls.finish(op, output);
    if (status !== 0) return status;
    return calls.outputLength === null || outputFits(operations[op]!, calls.outputLength) ? 0 : WRONG_OUTPUT_SIZE;
  };

  // Warm-up calls use negative sequence numbers so that no message of the measured window repeats.
  for (let i = 1; i <= input.warmupCalls && !control.stopRequested(); i++) {
    op = pickOperation(cumulative, word, -i);
    const beginNs = clock.nowNs();
    control.callBegins(input.worker, beginNs, -i, op, Number.NaN, false, false);
    finish(calls.call(op, -i, output));
    if (!control.callReturned(input.worker, beginNs)) return ABANDONED;
  }
  sink.post({ type: 'ready' });
  const startNs = control.awaitRelease();
  const deadlineNs = input.stop.durationNs === null ? null : startNs + input.stop.durationNs;
  const batches = new BatchBuilder(sink.staged, input.firstSequence, sink.recycled);
  let lastPostNs = startNs;
  let consecutiveFailures = 0;
  const backoff = input.recovery === null ? null : new ReconnectBackoff(input.recovery.giveUpAfterMs);
  let gaveUp: string | undefined;

  const unrecorded = new UnrecordedCalls();
  const flush = (nextSequence: number) => {
    control.beforePost(input.worker);
    const batch = batches.take(nextSequence);
    unrecorded.posted(batch.count > 0 ? batch.startOffsetNs[0]! + batch.latencyNs[0]! : null);
    sink.post({ type: 'batch', batch }, transferList(batch));
  };

  /** Burn-in: waits and reconnects until the token works again; returns why it gave up, or undefined (or that it was abandoned). */
  const recover = (backoff: ReconnectBackoff): string | undefined | typeof ABANDONED => {
    control.reconnectBegins(input.worker);
    try {
      return reconnect(backoff);
    } finally {
      control.reconnectEnds(input.worker);
    }
  };
  const reconnect = (backoff: ReconnectBackoff): string | undefined | typeof ABANDONED => {
    const stopTrying = (why: string | undefined) => {
      sink.post({ type: 'failing-until', atNs: clock.nowNs() });
      return why;
    };
    for (;;) {
      // The run's own end comes first: the deadline passed, or the other sessions made the shared total.
      if (control.stopRequested() || (deadlineNs !== null && clock.nowNs() >= deadlineNs)) return stopTrying(undefined);
      if (input.stop.sharedSuccesses !== null && control.totalReached(input.stop.sharedSuccesses)) return stopTrying(undefined);
      const next = backoff.next(clock.nowNs());
      if ('gaveUp' in next) return stopTrying(next.gaveUp);
      clock.sleep(next.waitMs);
      if (control.stopRequested()) return stopTrying(undefined);
      const outcome = boundedConnect(control, input.worker, clock, () => calls.connect());
      if (outcome === ABANDONED) return ABANDONED;
      if (outcome.ok) {
        control.reconnected(input.worker);
        return undefined;
      }
      if (outcome.reason === 'pin-refused') sink.post({ type: 'pin-refused' });
      // A PIN refused, or withheld by the token's flags (one more wrong PIN locks it), is final for this run.
      if (outcome.reason === 'pin-refused' || outcome.reason === 'pin-withheld') return stopTrying(outcome.detail);
    }
  };

  /** When this session's oldest call not yet recorded ended (ns from the window's start), or null. */
  const oldestUnrecordedNs = () => unrecorded.oldestNs(control.pendingOf(input.worker)) ?? batches.firstEndNs;
  const behind = (maxNs: number) => {
    const oldest = oldestUnrecordedNs();
    return oldest !== null && Number(clock.nowNs() - startNs) - oldest >= maxNs;
  };
  /**
   * A burn-in's session makes no call while its oldest call not yet recorded is too old (the host check fell behind):
   * what a kill loses, made and not written, stays bounded in time. What it holds unposted goes first, to be recorded.
   * True if it waited.
   */
  const holdWhileBehind = (maxNs: number, nextSequence: number): boolean => {
    if (!behind(maxNs)) return false;
    if (batches.count > 0) {
      flush(nextSequence);
      lastPostNs = clock.nowNs();
    }
    while (behind(maxNs) && !control.stopRequested()) control.waitForRecord(input.worker, 10);
    return true;
  };

  let sequence = input.firstSequence;
  const lastSequence = input.calls === null ? null : input.firstSequence + input.calls;
  const schedule = input.stop.schedule;
  for (; ; sequence++) {
    if (control.stopRequested() || sequence === lastSequence) break;
    let intendedNs: bigint | null = null;
    let late = false;
    if (schedule !== null) {
      const k = control.takeCall(schedule.calls);
      if (k < 0) break;
      intendedNs = startNs + BigInt(intendedOffsetNs(schedule, k));
      if (deadlineNs !== null && intendedNs >= deadlineNs) break;
      // Late: this session was busy with its previous call at this one's intended start. Its first call comes from
      // the start barrier, not from a previous call: waking up is not queueing (its lag still counts in the response).
      late = sequence !== input.firstSequence && clock.nowNs() > intendedNs;
      if (!late) clock.sleepUntil(intendedNs);
      if (control.stopRequested()) break;
    }
    if (input.unrecordedMaxNs !== null && holdWhileBehind(input.unrecordedMaxNs, sequence)) {
      if (control.stopRequested()) break;
    }
    const beginNs = clock.nowNs();
    // The window is over: a scheduled call that could not start in it is not made (the run reports it as not started).
    if (deadlineNs !== null && beginNs >= deadlineNs) break;
    if (input.stop.sharedSuccesses !== null && !control.claim(input.stop.sharedSuccesses)) break;
    op = pickOperation(cumulative, word, sequence);
    const startLagNs = intendedNs === null ? Number.NaN : Number(beginNs - intendedNs);
    control.callBegins(input.worker, beginNs, sequence, op, startLagNs, late, true);
    const called = calls.call(op, sequence, output);
    const endNs = clock.nowNs();
    const status = finish(called);
    // Abandoned as hung: the main thread recorded this call and took the batch; the worker is no longer the run's.
    if (!control.callReturned(input.worker, beginNs)) return ABANDONED;
    // A shared total counts successful calls: a failed one gives its claim back.
    if (status !== 0 && input.stop.sharedSuccesses !== null) control.unclaim();
    const outputLength = calls.outputLength;
    const keep = status === 0 && outputLength !== null && input.verifyEvery > 0 && sequence % input.verifyEvery === 0;
    const kept = !keep ? undefined : hashed[op] ? hash('sha256', output.subarray(0, outputLength!), 'buffer') : output.subarray(0, outputLength!);
    batches.add(Number(beginNs - startNs), Number(endNs - beginNs), status, kept, op, startLagNs, late);
    consecutiveFailures = status === 0 ? 0 : consecutiveFailures + 1;
    if (batches.count === batches.capacity || endNs - lastPostNs >= BATCH_MAX_AGE_NS || status !== 0) {
      // A failure is posted at once: the recorder, and so the records on disk, see a failing token without delay.
      flush(sequence + 1);
      lastPostNs = endNs;
    }
    const lost = status === 0 ? undefined : calls.lost?.();
    if (lost !== undefined) {
      // A call that logs in met a PIN that must not be presented again: the token stops here, as at a reconnect.
      gaveUp = lost;
      sequence++;
      break;
    } else if (status === 0) {
      backoff?.succeeded();
    } else if (backoff !== null) {
      // Burn-in: any failure may mean the session or the token is gone. Reconnect with backoff until it works,
      // or until the token has been failing for --give-up-after; then it is lost and the others go on.
      backoff.failed(beginNs);
      const recovered = recover(backoff);
      // Abandoned while it reconnected (the token gave no session in time): the session is no longer the run's.
      if (recovered === ABANDONED) return ABANDONED;
      gaveUp = recovered;
      if (gaveUp !== undefined) {
        sequence++;
        break;
      }
    } else if (consecutiveFailures === MAX_CONSECUTIVE_FAILURES) {
      gaveUp = FAILURE_LIMIT_REACHED;
      sequence++;
      break;
    }
  }
  if (batches.count > 0) flush(sequence);
  return gaveUp;
}
