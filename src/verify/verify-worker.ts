/**
 * A verification thread: checks the kept signatures of each batch against the signing token's public key, on the
 * host, and sends the batch back with its `verified` column filled. Verification is as costly as a fast token's
 * signing (node:crypto here: ~3,300 brainpoolP256r1 or ~16,500 P-256 verifications per second per core), so it
 * runs beside the signers and the recorder, never in their way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { transferList, type SignatureBatch } from '../engine/batch.js';
import { MESSAGE_BYTES } from '../engine/message.js';
import { verifyBatch, type VerifyContext } from './verify-batch.js';

export interface VerifyRequest {
  id: number;
  batch: SignatureBatch;
}

const context = workerData as VerifyContext;
const message = Buffer.alloc(MESSAGE_BYTES);

parentPort!.on('message', ({ id, batch }: VerifyRequest) => {
  verifyBatch(batch, context, message);
  parentPort!.postMessage({ id, batch } satisfies VerifyRequest, transferList(batch));
});
