import type { KeyObject } from 'node:crypto';
import { VERIFIED_BAD, VERIFIED_OK, type SignatureBatch } from '../engine/batch.js';
import { MESSAGE_BYTES, messageFor } from '../engine/message.js';
import type { SignMechanism } from '../pkcs11/mechanisms.js';
import { verifySignature } from './verifier.js';

/** What a verification thread needs to check any batch of the configuration. */
export interface VerifyContext {
  /** Per token of the configuration. */
  publicKeys: KeyObject[];
  mechanism: SignMechanism;
  /** Per signing worker: its message seed and its token. */
  messageSeeds: Uint8Array[];
  workerTokens: number[];
}

/** Fills `batch.verified` for every kept signature: the message is rebuilt from the worker's seed and the sequence. */
export function verifyBatch(batch: SignatureBatch, context: VerifyContext, message = Buffer.alloc(MESSAGE_BYTES)): void {
  let offset = 0;
  for (let i = 0; i < batch.count; i++) {
    const length = batch.signatureBytes[i]!;
    if (length === 0) continue;
    const signature = Buffer.from(batch.signatures.buffer, batch.signatures.byteOffset + offset, length);
    offset += length;
    const key = context.publicKeys[context.workerTokens[batch.worker]!]!;
    const ok = verifySignature(key, context.mechanism, messageFor(context.messageSeeds[batch.worker]!, batch.firstSequence + i, message), signature);
    batch.verified[i] = ok ? VERIFIED_OK : VERIFIED_BAD;
  }
}
