/**
 * One signing worker: a thread with its own session on one token, signing in a loop with synchronous pkcs11js
 * calls. Why threads with sync calls: on this 2-core machine they match a C pthread loop (bench/c-vs-harness:
 * 0.98–1.03) and a child process per token (bench/concurrency-models: 0.98), while the async API reaches only
 * 0.66 and its latency would include libuv queue wait (bench/README.md, PKCS11-FACTS.md).
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import pkcs11 from 'pkcs11js';
import { ckrCategory, ckrName, ckrOf } from '../pkcs11/ckr.js';
import { signInput, toPkcs11Mechanism, type SignMechanism } from '../pkcs11/mechanisms.js';
import { BatchBuilder, MAX_SIGNATURE_BYTES, NOT_A_CKR, transferList, type SignatureBatch } from './batch.js';
import { RunControl } from './control.js';
import { MESSAGE_BYTES, messageFor } from './message.js';

/** How a burn-in worker gets its token back after a session- or device-level error. */
export interface Recovery {
  giveUpAfterMs: number;
  keyLabel: string;
  /** Used only to log in again after the token dropped its login; never after a PIN error. */
  pin: string | null;
}

export interface SignWorkerInput {
  worker: number;
  modulePath: string;
  slot: Uint8Array;
  privateKey: Uint8Array;
  mechanism: SignMechanism;
  messageSeed: Uint8Array;
  warmupSignatures: number;
  /** Sequence number of this worker's first measured signature (above 0 when a burn-in resumes). */
  firstSequence: number;
  /** The stop rule: this worker's own count, a total shared by all workers, or only the deadline. */
  signatures: number | null;
  sharedTotal: number | null;
  durationNs: number | null;
  /** Keep every k-th signature for host verification; 0 keeps none. */
  verifyEvery: number;
  recovery: Recovery | null;
  control: SharedArrayBuffer;
  /** Where the recorder sends recorded batches back for reuse. */
  recycle: MessagePort;
}

export type SignWorkerMessage =
  | { type: 'ready' }
  | { type: 'batch'; batch: SignatureBatch }
  | { type: 'done'; gaveUp?: string }
  | { type: 'failed'; message: string };

const BATCH_CAPACITY = 256;
const BATCH_MAX_AGE_NS = 100_000_000n;
/** Without recovery (scale), a token that fails this many signatures in a row is left alone. */
const MAX_CONSECUTIVE_FAILURES = 100;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 10_000;

const input = workerData as SignWorkerInput;
const port = parentPort!;
const post = (m: SignWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function run(): void {
  const control = new RunControl(input.control);
  const lib = new pkcs11.PKCS11();
  // No C_Initialize here: the main thread initialized the module once, with OS locking, before any worker
  // started (pitfalls 1–2), and only the main thread finalizes it, after every worker has ended (pitfall 3).
  lib.load(input.modulePath);
  const slot = Buffer.from(input.slot);
  let session: Buffer;
  try {
    session = lib.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION);
  } catch (error) {
    post({ type: 'failed', message: `cannot open a session: ${(error as Error).message}` });
    return;
  }
  let key: Buffer = Buffer.from(input.privateKey);
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

  /** One attempt to get a working session back; a PIN error ends the worker, since it is never retried. */
  const reconnect = (r: Recovery): 'ok' | 'retry' | string => {
    try {
      lib.C_CloseSession(session);
    } catch {
      // The session is usually gone already.
    }
    try {
      session = lib.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION);
      if (r.pin !== null) {
        try {
          lib.C_Login(session, pkcs11.CKU_USER, r.pin);
        } catch (error) {
          const code = ckrOf(error);
          if (code !== pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
            if (code !== undefined && ckrCategory(code) === 'auth') return `login failed with ${ckrName(code)}; the PIN is not tried again`;
            throw error;
          }
        }
      }
      lib.C_FindObjectsInit(session, [{ type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY }, { type: pkcs11.CKA_LABEL, value: r.keyLabel }]);
      const [found] = lib.C_FindObjects(session, 1);
      lib.C_FindObjectsFinal(session);
      if (!found) return 'retry';
      key = found;
      return 'ok';
    } catch {
      return 'retry';
    }
  };

  // Warm-up signatures use negative sequence numbers so that no message of the measured window repeats.
  for (let i = 1; i <= input.warmupSignatures && !control.stopRequested(); i++) signOnce(-i);
  post({ type: 'ready' });
  const startNs = control.awaitRelease();
  const deadlineNs = input.durationNs === null ? null : startNs + BigInt(input.durationNs);
  // The loop never yields to the event loop, so returned batches are taken synchronously.
  const batches = new BatchBuilder(input.worker, BATCH_CAPACITY, input.verifyEvery > 0, input.firstSequence, () => receiveMessageOnPort(input.recycle)?.message as SignatureBatch | undefined);
  let lastPostNs = startNs;
  let consecutiveFailures = 0;
  /** Start of the current streak of failures: the token's outage, for --give-up-after. */
  let failingSinceNs: bigint | null = null;
  let gaveUp: string | undefined;

  const flush = (nextSequence: number) => {
    control.beforePost(input.worker);
    const batch = batches.take(nextSequence);
    post({ type: 'batch', batch }, transferList(batch));
  };

  let sequence = input.firstSequence;
  const lastSequence = input.signatures === null ? null : input.firstSequence + input.signatures;
  for (; ; sequence++) {
    if (control.stopRequested() || sequence === lastSequence) break;
    const beginNs = process.hrtime.bigint();
    if (deadlineNs !== null && beginNs >= deadlineNs) break;
    if (input.sharedTotal !== null && !control.claim(input.sharedTotal)) break;
    const status = signOnce(sequence);
    const endNs = process.hrtime.bigint();
    const keep = status === 0 && input.verifyEvery > 0 && sequence % input.verifyEvery === 0;
    batches.add(Number(beginNs - startNs), Number(endNs - beginNs), status, keep ? out.subarray(0, signatureLength) : undefined);
    consecutiveFailures = status === 0 ? 0 : consecutiveFailures + 1;
    if (batches.count === batches.capacity || endNs - lastPostNs >= BATCH_MAX_AGE_NS || status !== 0) {
      // A failure is posted at once: the recorder, and so the records on disk, see a failing token without delay.
      flush(sequence + 1);
      lastPostNs = endNs;
    }
    const r = input.recovery;
    if (status === 0) {
      failingSinceNs = null;
    } else if (r !== null) {
      // Burn-in: any failure may mean the session or the token is gone. Reconnect with backoff until it works,
      // or until the token has been failing for --give-up-after; then it is lost and the others go on.
      failingSinceNs ??= beginNs;
      let result = 'retry';
      for (let backoffMs = BACKOFF_FIRST_MS; result === 'retry' && !control.stopRequested(); backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS)) {
        const failingMs = Number(process.hrtime.bigint() - failingSinceNs) / 1e6;
        if (failingMs >= r.giveUpAfterMs) result = `lost after failing for ${(failingMs / 1000).toFixed(1)} s (--give-up-after)`;
        else {
          sleep(Math.min(backoffMs, r.giveUpAfterMs - failingMs));
          result = reconnect(r);
        }
      }
      if (result !== 'ok' && result !== 'retry') {
        gaveUp = result;
        sequence++;
        break;
      }
    } else if (consecutiveFailures === MAX_CONSECUTIVE_FAILURES) {
      gaveUp = `${MAX_CONSECUTIVE_FAILURES} consecutive signatures failed`;
      sequence++;
      break;
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
