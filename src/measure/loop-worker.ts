/**
 * One loop worker: a thread with its own session on one token, calling in a loop with synchronous pkcs11js
 * calls. Why threads with sync calls: on this 2-core machine they match a C pthread loop (bench/c-vs-harness:
 * 0.98–1.03) and a child process per token (bench/concurrency-models: 0.98), while the async API reaches only
 * 0.66 and its latency would include libuv queue wait (bench/README.md).
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { ckrOf } from '../model/ckr.js';
import { ModuleInstance } from '../pkcs11/module.js';
import { type ModuleInstances } from '../model/run-result.js';
import { PinGuard } from '../pkcs11/pin-guard.js';
import { TokenConnection } from '../pkcs11/token-connection.js';
import { NOT_A_CKR, WRONG_OUTPUT_SIZE } from '../model/record-status.js';
import { BATCH_CAPACITY, BatchBuilder, StagedBatch, transferList, type CallBatch } from '../model/call-batch.js';
import { RunControl } from './control.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import { FAILURE_LIMIT_REACHED, MAX_CONSECUTIVE_FAILURES } from './failure-limit.js';
import { intendedOffsetNs } from '../model/schedule.js';
import type { StopSpec } from '../model/stop.js';
import { jsTimedCall, OUTPUT_BUFFER_BYTES, outputFits, pickOperation, seedWord, type InputTable, type Workload } from '../model/workload.js';

/** How a burn-in worker gets its token back after a failure. */
export interface Recovery {
  giveUpAfterMs: number;
}

export interface LoopWorkerInput {
  worker: number;
  modulePath: string;
  /** Whether each load of the module is an instance of its own, to initialize (see ModuleInstance). */
  instances: ModuleInstances;
  /** The token's index in the run, for the PIN guard. */
  token: number;
  slot: Uint8Array;
  /** Null for a token that needs no login. */
  pin: string | null;
  pinGuard: SharedArrayBuffer;
  keyIds: Uint8Array[];
  workload: Workload;
  tables: (InputTable | null)[];
  messageSeed: Uint8Array;
  warmupCalls: number;
  /** Sequence number of this worker's first measured call (above 0 when a burn-in resumes). */
  firstSequence: number;
  /** The configuration's stop, as the run gave it; and this worker's own count of calls, where it has one. */
  stop: StopSpec;
  calls: number | null;
  /** Keep every k-th output for the host check; 0 keeps none. */
  verifyEvery: number;
  recovery: Recovery | null;
  control: SharedArrayBuffer;
  /** The batch being filled, shared with the main thread (which takes it should a call never return), and its room per kept output. */
  staging: SharedArrayBuffer;
  keptBytes: number;
  /** Where the recorder sends recorded batches back for reuse. */
  recycle: MessagePort;
}

/** 'pin-refused': the token refused the PIN; the run remembers it at once (a resumed burn-in must not present it again). */
export type LoopWorkerMessage = { type: 'ready' } | { type: 'batch'; batch: CallBatch } | { type: 'done'; gaveUp?: string } | { type: 'failed'; message: string } | { type: 'pin-refused' };

const BATCH_MAX_AGE_NS = 100_000_000n;
/** What `callLoop` returns for a worker whose call the main thread abandoned: it touches nothing more. */
const ABANDONED = Symbol('abandoned');

const input = workerData as LoopWorkerInput;
const port = parentPort!;
const post = (m: LoopWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

function run(): void {
  const control = new RunControl(input.control);
  let instance: ModuleInstance;
  try {
    instance = ModuleInstance.load(input.modulePath, input.instances);
  } catch (error) {
    post({ type: 'failed', message: `cannot load the module: ${(error as Error).message}` });
    return;
  }
  const connection = new TokenConnection(
    instance.lib,
    Buffer.from(input.slot),
    input.pin,
    { guard: new PinGuard(input.pinGuard), token: input.token },
    input.workload.operations.map((op, i) => ({ key: op.key, id: Buffer.from(input.keyIds[i]!) })),
  );
  // Whatever happens while calling, the session is closed and an instance of the worker's own is finalized; but a
  // worker whose call was abandoned (it came back too late) leaves both alone: the run may be writing its results.
  let outcome: string | undefined | typeof ABANDONED;
  try {
    const first = connection.connectAtStart(
      (ms) => control.sleep(ms),
      () => instance.renew(),
    );
    if (!first.ok) post({ type: 'failed', message: first.detail });
    else {
      outcome = callLoop(instance.lib, connection, control);
      if (outcome !== ABANDONED) post({ type: 'done', gaveUp: outcome });
    }
  } finally {
    if (outcome !== ABANDONED) {
      connection.close();
      instance.close();
    }
  }
}

/** The timed loop, from the warm-up to the stop rule; returns why it gave up early, if it did (or that it was abandoned). */
function callLoop(lib: ModuleInstance['lib'], connection: TokenConnection, control: RunControl): string | undefined | typeof ABANDONED {
  const { operations, cumulative } = input.workload;
  const timed = operations.map((op, i) => jsTimedCall(lib, op, input.messageSeed, input.tables[i] ?? null));
  const out = Buffer.alloc(OUTPUT_BUFFER_BYTES);
  const word = seedWord(input.messageSeed);
  /** The output's length as the module gave it; null where the token would not show it (not checked). */
  let outputLength: number | null = 0;
  /** The operation of the call being made (the workload's draw for its sequence number). */
  let op = 0;

  /** The timed call of operation `op`; its CKR code (0: OK). */
  const callOnce = (sequence: number): number => {
    try {
      outputLength = timed[op]!.call(connection.session!, connection.keys![op]!, sequence, out);
      return 0;
    } catch (error) {
      return ckrOf(error) ?? NOT_A_CKR;
    }
  };
  /**
   * After the clock: what the call made is read back and destroyed (derive, keygen); a failure there fails the
   * call, and so does an output of a size the operation does not make (it is never copied or checked).
   */
  const finish = (status: number): number => {
    const finishing = timed[op]!.finish;
    if (status !== 0) return status;
    if (finishing !== undefined) {
      try {
        outputLength = finishing(connection.session!, out);
      } catch (error) {
        return ckrOf(error) ?? NOT_A_CKR;
      }
    }
    return outputLength === null || outputFits(operations[op]!, outputLength) ? 0 : WRONG_OUTPUT_SIZE;
  };

  // Warm-up calls use negative sequence numbers so that no message of the measured window repeats.
  for (let i = 1; i <= input.warmupCalls && !control.stopRequested(); i++) {
    op = pickOperation(cumulative, word, -i);
    const beginNs = process.hrtime.bigint();
    control.callBegins(input.worker, beginNs, -i, op, Number.NaN, false, false);
    finish(callOnce(-i));
    if (!control.callReturned(input.worker, beginNs)) return ABANDONED;
  }
  post({ type: 'ready' });
  const startNs = control.awaitRelease();
  const deadlineNs = input.stop.durationNs === null ? null : startNs + input.stop.durationNs;
  // The loop never yields to the event loop, so returned batches are taken synchronously.
  const staged = new StagedBatch(input.staging, input.worker, BATCH_CAPACITY, input.keptBytes);
  const batches = new BatchBuilder(staged, input.firstSequence, () => receiveMessageOnPort(input.recycle)?.message as CallBatch | undefined);
  let lastPostNs = startNs;
  let consecutiveFailures = 0;
  const backoff = input.recovery === null ? null : new ReconnectBackoff(input.recovery.giveUpAfterMs);
  let gaveUp: string | undefined;

  const flush = (nextSequence: number) => {
    control.beforePost(input.worker);
    const batch = batches.take(nextSequence);
    post({ type: 'batch', batch }, transferList(batch));
  };

  /** Burn-in: waits and reconnects until the token works again; returns why it gave up, or undefined. */
  const recover = (backoff: ReconnectBackoff): string | undefined => {
    for (;;) {
      // The run's own end comes first: the deadline passed, or the other workers made the shared total.
      if (control.stopRequested() || (deadlineNs !== null && process.hrtime.bigint() >= deadlineNs)) return undefined;
      if (input.stop.sharedSuccesses !== null && control.totalReached(input.stop.sharedSuccesses)) return undefined;
      const next = backoff.next(process.hrtime.bigint());
      if ('gaveUp' in next) return next.gaveUp;
      control.sleep(next.waitMs);
      if (control.stopRequested()) return undefined;
      const outcome = connection.connect();
      if (outcome.ok) return undefined;
      if (outcome.reason === 'pin-refused') post({ type: 'pin-refused' });
      // A PIN refused, or withheld by the token's flags (one more wrong PIN locks it), is final for this run.
      if (outcome.reason === 'pin-refused' || outcome.reason === 'pin-withheld') return outcome.detail;
    }
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
      late = sequence !== input.firstSequence && process.hrtime.bigint() > intendedNs;
      if (!late) control.sleepUntil(intendedNs);
      if (control.stopRequested()) break;
    }
    const beginNs = process.hrtime.bigint();
    // The window is over: a scheduled call that could not start in it is not made (the run reports it as not started).
    if (deadlineNs !== null && beginNs >= deadlineNs) break;
    if (input.stop.sharedSuccesses !== null && !control.claim(input.stop.sharedSuccesses)) break;
    op = pickOperation(cumulative, word, sequence);
    const startLagNs = intendedNs === null ? Number.NaN : Number(beginNs - intendedNs);
    control.callBegins(input.worker, beginNs, sequence, op, startLagNs, late, true);
    const called = callOnce(sequence);
    const endNs = process.hrtime.bigint();
    const status = finish(called);
    // Abandoned as hung: the main thread recorded this call and took the batch; the worker is no longer the run's.
    if (!control.callReturned(input.worker, beginNs)) return ABANDONED;
    // A shared total counts successful calls: a failed one gives its claim back.
    if (status !== 0 && input.stop.sharedSuccesses !== null) control.unclaim();
    const keep = status === 0 && outputLength !== null && input.verifyEvery > 0 && sequence % input.verifyEvery === 0;
    batches.add(Number(beginNs - startNs), Number(endNs - beginNs), status, keep ? out.subarray(0, outputLength!) : undefined, op, startLagNs, late);
    consecutiveFailures = status === 0 ? 0 : consecutiveFailures + 1;
    if (batches.count === batches.capacity || endNs - lastPostNs >= BATCH_MAX_AGE_NS || status !== 0) {
      // A failure is posted at once: the recorder, and so the records on disk, see a failing token without delay.
      flush(sequence + 1);
      lastPostNs = endNs;
    }
    if (status === 0) {
      backoff?.succeeded();
    } else if (backoff !== null) {
      // Burn-in: any failure may mean the session or the token is gone. Reconnect with backoff until it works,
      // or until the token has been failing for --give-up-after; then it is lost and the others go on.
      backoff.failed(beginNs);
      gaveUp = recover(backoff);
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

run();
