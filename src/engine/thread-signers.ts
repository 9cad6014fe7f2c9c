import { MessageChannel, Worker } from 'node:worker_threads';
import { transferList, type SignatureBatch } from './batch.js';
import type { RunControl } from './control.js';
import type { Signers, SignerAssignment, SignersSpec } from './signers.js';
import type { SignWorkerInput, SignWorkerMessage } from './sign-worker.js';

const WORKER_URL = new URL('./sign-worker.js', import.meta.url);

/** The threads engine: one worker thread per (token, thread), each with its own session and module instance handle. */
export function startThreadSigners(spec: SignersSpec, assignments: readonly SignerAssignment[], control: RunControl, onMessage: (worker: number, m: SignWorkerMessage) => void): Signers {
  const recyclePorts: MessageChannel[] = [];
  const exits: Promise<void>[] = [];
  const startWorker = (a: SignerAssignment, worker: number): Promise<void> => {
    const recycle = new MessageChannel();
    recyclePorts[worker] = recycle;
    const input: SignWorkerInput = {
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
      warmupSignatures: a.warmup,
      firstSequence: a.firstSequence,
      signatures: a.signatures,
      sharedTotal: spec.stop.sharedTotal,
      durationNs: spec.stop.durationNs,
      schedule: spec.stop.schedule,
      verifyEvery: spec.verifyEvery,
      recovery: spec.recovery,
      control: control.buffer,
      recycle: recycle.port2,
    };
    const w = new Worker(WORKER_URL, { workerData: input, transferList: [recycle.port2] });
    w.on('message', (m: SignWorkerMessage) => onMessage(worker, m));
    return new Promise<void>((resolve) => {
      // A worker that dies ends its own signing, not the run: what it recorded stays, and the report says so.
      w.on('error', (error) => onMessage(worker, { type: 'done', gaveUp: `worker crashed: ${error.message}` }));
      w.on('exit', () => {
        recycle.port1.close();
        resolve();
      });
    });
  };
  try {
    assignments.forEach((a, worker) => exits.push(startWorker(a, worker)));
  } catch (error) {
    // A thread that cannot start (out of memory): those started are stopped, not left waiting at the barrier.
    control.requestStop();
    return { ended: Promise.all(exits).then(() => Promise.reject(error)), released: () => {}, recycle: () => {} };
  }
  return {
    ended: Promise.all(exits).then(() => {}),
    // The workers wait on the run control's barrier, which the caller has opened.
    released: () => {},
    recycle: (worker: number, batch: SignatureBatch) => recyclePorts[worker]!.port1.postMessage(batch, transferList(batch)),
  };
}
