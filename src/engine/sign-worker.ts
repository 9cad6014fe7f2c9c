/**
 * One signing worker: a thread with its own session on one token, signing in a loop with synchronous pkcs11js
 * calls. Why threads with sync calls: measured on this 2-core machine (PKCS11-FACTS.md, confirmed by
 * bench/c-vs-harness), one worker thread per token calling C_SignInit + C_Sign synchronously matches a C pthread
 * loop (ratio 1.01–1.04 at 2 tokens); the async API fell to 0.7 and its latency includes libuv queue wait.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pkcs11 from 'pkcs11js';
import { ckrOf } from '../pkcs11/ckr.js';
import { signInput, toPkcs11Mechanism, type SignMechanism } from '../pkcs11/mechanisms.js';
import { BatchBuilder, MAX_SIGNATURE_BYTES, NOT_A_CKR, transferList } from './batch.js';
import { RunControl } from './control.js';
import { MESSAGE_BYTES, messageFor } from './message.js';

export interface SignWorkerInput {
  worker: number;
  modulePath: string;
  slot: Uint8Array;
  privateKey: Uint8Array;
  mechanism: SignMechanism;
  messageSeed: Uint8Array;
  warmupSignatures: number;
  /** Signatures to make in the measured window; null when the window is bounded by time. */
  signatures: number | null;
  durationNs: number | null;
  /** Keep every k-th signature for host verification; 0 keeps none. */
  verifyEvery: number;
  control: SharedArrayBuffer;
}

export type SignWorkerMessage =
  | { type: 'ready' }
  | { type: 'batch'; batch: import('./batch.js').SignatureBatch }
  | { type: 'done'; gaveUp?: string }
  | { type: 'failed'; message: string };

const BATCH_CAPACITY = 256;
const BATCH_MAX_AGE_NS = 100_000_000n;
/** A token that fails this many signatures in a row is left alone for the rest of the configuration. */
const MAX_CONSECUTIVE_FAILURES = 100;

const input = workerData as SignWorkerInput;
const port = parentPort!;
const post = (m: SignWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

function run(): void {
  const control = new RunControl(input.control);
  const lib = new pkcs11.PKCS11();
  // No C_Initialize here: the main thread initialized the module once, with OS locking, before any worker
  // started (pitfalls 1–2), and only the main thread finalizes it, after every worker has ended (pitfall 3).
  lib.load(input.modulePath);
  let session: Buffer;
  try {
    session = lib.C_OpenSession(Buffer.from(input.slot), pkcs11.CKF_SERIAL_SESSION);
  } catch (error) {
    post({ type: 'failed', message: `cannot open a session: ${(error as Error).message}` });
    return;
  }
  const key = Buffer.from(input.privateKey);
  const mechanism = toPkcs11Mechanism(input.mechanism);
  const out = Buffer.alloc(MAX_SIGNATURE_BYTES);
  const message = Buffer.alloc(MESSAGE_BYTES);
  let signatureLength = 0;

  const signOnce = (sequence: number): number => {
    const data = signInput(input.mechanism, messageFor(input.messageSeed, sequence, message));
    try {
      lib.C_SignInit(session, mechanism, key);
      signatureLength = lib.C_Sign(session, data, out).length;
      return 0;
    } catch (error) {
      return ckrOf(error) ?? NOT_A_CKR;
    }
  };

  // Warm-up signatures use negative sequence numbers so that no message of the measured window repeats.
  for (let i = 1; i <= input.warmupSignatures && !control.stopRequested(); i++) signOnce(-i);
  post({ type: 'ready' });
  const startNs = control.awaitRelease();
  const deadlineNs = input.durationNs === null ? null : startNs + BigInt(input.durationNs);
  const batches = new BatchBuilder(input.worker, BATCH_CAPACITY, input.verifyEvery > 0);
  let lastPostNs = startNs;
  let consecutiveFailures = 0;
  let gaveUp: string | undefined;

  const flush = (nextSequence: number) => {
    control.beforePost(input.worker);
    const batch = batches.take(nextSequence);
    post({ type: 'batch', batch }, transferList(batch));
  };

  let sequence = 0;
  for (; ; sequence++) {
    if (control.stopRequested() || sequence === input.signatures) break;
    const beginNs = process.hrtime.bigint();
    if (deadlineNs !== null && beginNs >= deadlineNs) break;
    const status = signOnce(sequence);
    const endNs = process.hrtime.bigint();
    const keep = status === 0 && input.verifyEvery > 0 && sequence % input.verifyEvery === 0;
    batches.add(Number(beginNs - startNs), Number(endNs - beginNs), status, keep ? out.subarray(0, signatureLength) : undefined);
    consecutiveFailures = status === 0 ? 0 : consecutiveFailures + 1;
    if (consecutiveFailures === MAX_CONSECUTIVE_FAILURES) {
      gaveUp = `${MAX_CONSECUTIVE_FAILURES} consecutive signatures failed`;
      sequence++;
      break;
    }
    if (batches.count === batches.capacity || endNs - lastPostNs >= BATCH_MAX_AGE_NS) {
      flush(sequence + 1);
      lastPostNs = endNs;
    }
  }
  if (batches.count > 0) flush(sequence);
  try {
    lib.C_CloseSession(session);
  } catch {
    // A session the token already dropped needs no closing.
  }
  post({ type: 'done', gaveUp });
}

run();
