/**
 * Signatures travel from a worker to the recorder in batches of typed arrays (transferred, not copied), so the
 * signing loop does no per-signature allocation and no per-signature message passing. The recorder sends each
 * batch back once recorded, and the worker fills it again: a fixed set of buffers circulates for the whole run.
 * (Allocating a fresh 128 KiB signature buffer per batch in one thread and freeing it in another let the process
 * grow by some 30 MB over a million verified signatures.)
 */
export interface SignatureBatch {
  worker: number;
  firstSequence: number;
  count: number;
  startOffsetNs: Float64Array;
  latencyNs: Float64Array;
  /** CKR code per signature; -1 for an error that did not come from the module. */
  status: Int32Array;
  /** Byte length of each signature kept for verification; 0 where it was not kept. */
  signatureBytes: Uint16Array;
  signatures: Uint8Array;
  /** Filled by the verification stage: VERIFIED_OK, VERIFIED_BAD, or 0 where the signature was not checked. */
  verified: Uint8Array;
  /** Which operation of the workload each call made (index into its operations; 0 for a single one). */
  operation: Uint8Array;
  /** Open loop (src/engine/schedule.ts): how long after its intended start each call began; NaN without a schedule. */
  startLagNs: Float64Array;
  /** Open loop: 1 where the call was late (no session was free at its intended start). */
  late: Uint8Array;
}

export const VERIFIED_OK = 1;
export const VERIFIED_BAD = 2;

/** Big enough for RSA-4096: a too-small C_Sign buffer leaves the sign operation active (the next C_SignInit fails). */
export const MAX_SIGNATURE_BYTES = 512;

export class BatchBuilder {
  private batch!: SignatureBatch;
  private signatureOffset = 0;

  constructor(
    private readonly worker: number,
    readonly capacity: number,
    private readonly keepsSignatures: boolean,
    firstSequence: number,
    /** A batch the recorder has sent back, if one is waiting. */
    private readonly recycled: () => SignatureBatch | undefined,
  ) {
    this.reset(firstSequence);
  }

  get count(): number {
    return this.batch.count;
  }

  add(startOffsetNs: number, latencyNs: number, status: number, signature: Uint8Array | undefined, operation = 0, startLagNs = Number.NaN, late = false): void {
    const b = this.batch;
    const i = b.count++;
    b.operation[i] = operation;
    b.startLagNs[i] = startLagNs;
    b.late[i] = late ? 1 : 0;
    b.startOffsetNs[i] = startOffsetNs;
    b.latencyNs[i] = latencyNs;
    b.status[i] = status;
    if (signature) {
      b.signatures.set(signature, this.signatureOffset);
      b.signatureBytes[i] = signature.length;
      this.signatureOffset += signature.length;
    }
  }

  /** Hands over the filled batch and starts the next one at `nextSequence`. */
  take(nextSequence: number): SignatureBatch {
    const full = this.batch;
    this.reset(nextSequence);
    return full;
  }

  private reset(firstSequence: number): void {
    this.signatureOffset = 0;
    const again = this.recycled();
    if (again) {
      again.signatureBytes.fill(0);
      again.verified.fill(0);
      this.batch = { ...again, firstSequence, count: 0 };
      return;
    }
    this.batch = { ...newBatch(this.worker, this.capacity, this.keepsSignatures ? MAX_SIGNATURE_BYTES : 0), firstSequence };
  }
}

/** An empty batch of `capacity` calls, with room for `outputBytes` of kept output per call (0: none kept). */
export const newBatch = (worker: number, capacity: number, outputBytes: number): SignatureBatch => ({
  worker,
  firstSequence: 0,
  count: 0,
  startOffsetNs: new Float64Array(capacity),
  latencyNs: new Float64Array(capacity),
  status: new Int32Array(capacity),
  signatureBytes: new Uint16Array(capacity),
  signatures: new Uint8Array(capacity * outputBytes),
  verified: new Uint8Array(capacity),
  operation: new Uint8Array(capacity),
  startLagNs: new Float64Array(capacity),
  late: new Uint8Array(capacity),
});

export const transferList = (b: SignatureBatch) =>
  [
    b.startOffsetNs.buffer,
    b.latencyNs.buffer,
    b.status.buffer,
    b.signatureBytes.buffer,
    b.signatures.buffer,
    b.verified.buffer,
    b.operation.buffer,
    b.startLagNs.buffer,
    b.late.buffer,
  ] as ArrayBuffer[];
