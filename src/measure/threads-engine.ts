import { MessageChannel, Worker } from 'node:worker_threads';
import { CALL_TIMED_OUT } from '../model/record-status.js';
import { BATCH_CAPACITY, newBatch, StagedBatch, transferList, type CallBatch } from '../model/call-batch.js';
import type { RunControl } from './control.js';
import { keptOutputBytes } from '../model/workload.js';
import type { Engine, EngineSpec, SessionAssignment } from './engine.js';
import type { LoopWorkerInput } from './loop-worker.js';
import type { LoopWorkerMessage } from './call-loop.js';

const WORKER_URL = new URL('./loop-worker.js', import.meta.url);

/** The threads engine: one worker thread per (token, thread), each with its own session and module instance handle. */
export function startThreadsEngine(spec: EngineSpec, assignments: readonly SessionAssignment[], control: RunControl, onMessage: (worker: number, m: LoopWorkerMessage) => void): Engine {
  const recyclePorts: MessageChannel[] = [];
  const exits: Promise<void>[] = [];
  // Per worker: its staged batch (readable here should its call never return), and how it ends when abandoned.
  const keptBytes = spec.verifyEvery > 0 ? keptOutputBytes(spec.workload) : 0;
  const staged: StagedBatch[] = [];
  const abandoned: (() => void)[] = [];
  const startWorker = (a: SessionAssignment, worker: number): Promise<void> => {
    const recycle = new MessageChannel();
    recyclePorts[worker] = recycle;
    staged[worker] = StagedBatch.create(worker, BATCH_CAPACITY, keptBytes);
    const input: LoopWorkerInput = {
      worker,
      modulePath: spec.modulePath,
      instances: spec.instances,
      token: a.token,
      slot: a.slot,
      pin: a.pin,
      pinGuard: spec.pinGuard.buffer,
      keyIds: a.keyIds,
      workload: spec.workload,
      tables: a.tables,
      messageSeed: a.messageSeed,
      warmupCalls: a.warmup,
      firstSequence: a.firstSequence,
      stop: spec.stop,
      calls: a.calls,
      verifyEvery: spec.verifyEvery,
      recovery: spec.recovery,
      unrecordedMaxNs: spec.unrecordedMaxNs,
      control: control.buffer,
      staging: staged[worker]!.buffer,
      keptBytes,
      recycle: recycle.port2,
    };
    const w = new Worker(WORKER_URL, { workerData: input, transferList: [recycle.port2] });
    w.on('message', (m: LoopWorkerMessage) => onMessage(worker, m));
    return new Promise<void>((resolve) => {
      // A worker that dies ends its own calls, not the run: what it recorded stays, and the report says so.
      w.on('error', (error) => onMessage(worker, { type: 'done', gaveUp: `worker crashed: ${error.message}` }));
      w.on('exit', () => {
        recycle.port1.close();
        resolve();
      });
      // Abandoned inside a call: it may never exit; unreferenced, it does not hold the process either.
      abandoned[worker] = () => {
        w.unref();
        resolve();
      };
    });
  };
  try {
    assignments.forEach((a, worker) => exits.push(startWorker(a, worker)));
  } catch (error) {
    // A thread that cannot start (out of memory): those started are stopped, not left waiting at the barrier.
    control.requestStop();
    return {
      ended: Promise.all(exits).then(() => Promise.reject(error)),
      released: () => {},
      recycle: () => {},
      inFlightSince: () => null,
      connectingSince: () => null,
      abandon: () => false,
      abandonConnect: () => false,
    };
  }
  /** The records a stuck worker made before its call, and with `record` that call as CALL_TIMED_OUT, as one batch. */
  const lastBatch = (worker: number, call: NonNullable<ReturnType<RunControl['abandonCall']>>, record: boolean): CallBatch => {
    const s = staged[worker]!;
    const batch = s.copyInto(newBatch(worker, BATCH_CAPACITY + 1, s.maxOutputBytes));
    if (record && call.measured) {
      const i = batch.count++;
      batch.startOffsetNs[i] = Number(call.beginNs - control.windowStartNs());
      batch.latencyNs[i] = Number(process.hrtime.bigint() - call.beginNs);
      batch.status[i] = CALL_TIMED_OUT;
      batch.operation[i] = call.operation;
      batch.startLagNs[i] = call.startLagNs;
      batch.late[i] = call.late ? 1 : 0;
      // A failure: its claim on a shared total goes back, for the other workers to make.
      if (spec.stop.sharedSuccesses !== null) control.unclaim();
    }
    return batch;
  };
  /** Abandons the worker's call (or connect) in flight: its staged records, and with `record` that call, as one last batch. */
  const abandon = (worker: number, record: boolean): boolean => {
    // The batch counts against the recorder's limit like any other: while the recorder is behind, ask again later.
    if (!control.tryPost(worker)) return false;
    const call = control.abandonCall(worker);
    if (call === null) {
      control.recorded(worker);
      return false;
    }
    const batch = lastBatch(worker, call, record);
    if (batch.count > 0) onMessage(worker, { type: 'batch', batch });
    else control.recorded(worker);
    abandoned[worker]!();
    return true;
  };
  return {
    ended: Promise.all(exits).then(() => {}),
    // The workers wait on the run control's barrier, which the caller has opened.
    released: () => {},
    recycle: (worker: number, batch: CallBatch) => recyclePorts[worker]!.port1.postMessage(batch, transferList(batch)),
    inFlightSince: (worker) => (control.connecting(worker) ? null : control.inFlightSince(worker)),
    connectingSince: (worker) => (control.connecting(worker) ? control.inFlightSince(worker) : null),
    abandonConnect: (worker) => abandon(worker, false),
    abandon: (worker, record) => abandon(worker, record),
  };
}
