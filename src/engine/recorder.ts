import type { KeyObject } from 'node:crypto';
import { ckrName } from '../pkcs11/ckr.js';
import type { SignMechanism } from '../pkcs11/mechanisms.js';
import type { RecordsCsvWriter } from '../record/records-csv.js';
import type { ConfigurationStats } from '../stats/configuration-stats.js';
import { verifySignature } from '../verify/verifier.js';
import { NOT_A_CKR, type SignatureBatch } from './batch.js';
import { MESSAGE_BYTES, messageFor } from './message.js';

export interface WorkerAssignment {
  token: number;
  thread: number;
  messageSeed: Buffer;
}

export const VERIFY_FAILED = 'VERIFY_FAILED';

/**
 * Turns workers' batches into records and statistics, in the main thread and off the signing path:
 * each kept signature is verified on the host against the token's public key; one that does not verify is a failure.
 */
export class ConfigurationRecorder {
  /** Reused for every verification: no allocation per signature on the recording path. */
  private readonly message = Buffer.alloc(MESSAGE_BYTES);

  constructor(
    private readonly configuration: number,
    private readonly workers: readonly WorkerAssignment[],
    private readonly publicKeys: readonly KeyObject[],
    private readonly mechanism: SignMechanism,
    private readonly writer: RecordsCsvWriter,
    readonly stats: ConfigurationStats,
    /** Where this segment starts on the run's time axis (a resumed burn-in continues after the last record). */
    private readonly startOffsetBaseUs = 0,
  ) {}

  add(batch: SignatureBatch): void {
    const w = this.workers[batch.worker]!;
    let signatureOffset = 0;
    for (let i = 0; i < batch.count; i++) {
      const sequence = batch.firstSequence + i;
      const code = batch.status[i]!;
      const status = code === NOT_A_CKR ? 'ERROR' : ckrName(code);
      let verified: boolean | null = null;
      const length = batch.signatureBytes[i]!;
      if (length > 0) {
        const signature = Buffer.from(batch.signatures.buffer, batch.signatures.byteOffset + signatureOffset, length);
        signatureOffset += length;
        verified = verifySignature(this.publicKeys[w.token]!, this.mechanism, messageFor(w.messageSeed, sequence, this.message), signature);
        this.stats.signaturesVerified++;
      }
      const startOffsetUs = this.startOffsetBaseUs + batch.startOffsetNs[i]! / 1000;
      const latencyUs = batch.latencyNs[i]! / 1000;
      const failure = code !== 0 ? status : verified === false ? VERIFY_FAILED : undefined;
      this.writer.write({ configuration: this.configuration, token: w.token, thread: w.thread, sequence, startOffsetUs, latencyUs, status, verified });
      this.stats.add(w.token, startOffsetUs, latencyUs, failure);
    }
  }
}
