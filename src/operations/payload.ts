import { usageError } from '../core/errors.js';
import type { Algorithm } from '../model/algorithms.js';
import type { Payload, TimedOperation } from '../model/workload.js';
import type { OperationKind } from './operation-kind.js';

/**
 * The timed call of `op` handed `payload.dataBytes` of data per call (--data-size), in parts with --multipart. Only
 * a call handed its data whole (its message, or a table row of that size) takes a size: where the host hashes first (CKM_ECDSA over SHA-256 made on the
 * host, when the token lacks CKM_ECDSA_SHA256) the token signs 32 bytes whatever the data, and a size would measure nothing.
 */
export function withPayload(op: OperationKind, alg: Pick<Algorithm, 'family' | 'bits'>, timed: TimedOperation, payload: Payload): TimedOperation {
  // A table's rows are made per size where they are data (an AES ciphertext: src/operations/aes-decrypt.ts).
  if (timed.input === 'sha256' || timed.input === 'sha256-digestinfo') {
    throw usageError(
      `${op.name} with ${timed.mechanism.name} is handed a hash the host made: the token sees 32 bytes whatever the data, so --data-size measures nothing`,
      'use a mechanism that hashes inside the token (CKM_SHA256_RSA_PKCS, CKM_ECDSA_SHA256: the first --mechanism choice where every token lists it), or drop --data-size',
    );
  }
  return { ...timed, outputBytes: op.outputBytes(alg, timed.mechanism.name, payload.dataBytes), payload };
}
