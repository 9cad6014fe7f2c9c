/**
 * A verification thread: checks the kept outputs of each batch on the host (a signature against the token's public
 * key, a plaintext against the one encrypted…), and sends the batch back with its `verified` column filled. Verification is as costly as a fast token's
 * signing (node:crypto here: ~3,300 brainpoolP256r1 or ~16,500 P-256 verifications per second per core), so it
 * runs beside the signers and the recorder, never in their way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { transferList, type CallBatch } from '../model/call-batch.js';
import { verifyBatch, type VerifyContext } from './verify-batch.js';

export interface VerifyRequest {
  id: number;
  batch: CallBatch;
}

const context = workerData as VerifyContext;

parentPort!.on('message', ({ id, batch }: VerifyRequest) => {
  verifyBatch(batch, context);
  parentPort!.postMessage({ id, batch } satisfies VerifyRequest, transferList(batch));
});
