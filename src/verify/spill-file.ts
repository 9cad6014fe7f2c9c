import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import type { SignatureBatch } from '../engine/batch.js';
import { ExitCode } from '../errors.js';
import { openInputFile, type InputKind } from '../core/input-file.js';

/** Read back in batches, so any size; but a regular file only (a FIFO in its place would block for ever). */
const SPILL_INPUT: InputKind = { what: 'spill file', maxBytes: Number.MAX_SAFE_INTEGER, exitCode: ExitCode.setup, hint: 'the run directory was changed while the run wrote to it' };

/**
 * Batches whose verification has to wait for the end of the measured window, on disk in the run directory: the
 * signers get their buffers back at once and memory stays bounded however far verification falls behind.
 * Batches are appended whole (timings, statuses, operations, kept signatures) and read back in the order they were written.
 */
export class SpillFile {
  private fd: number | null = null;
  batches = 0;
  signaturesKept = 0;

  constructor(readonly path: string) {}

  write(batch: SignatureBatch): void {
    this.fd ??= openSync(this.path, 'w', 0o600);
    const n = batch.count;
    const kept = batch.signatureBytes.subarray(0, n).reduce((sum, bytes) => sum + bytes, 0);
    const parts = [
      new Float64Array([batch.worker, batch.firstSequence, n, kept]),
      batch.startOffsetNs.subarray(0, n),
      batch.latencyNs.subarray(0, n),
      batch.status.subarray(0, n),
      batch.signatureBytes.subarray(0, n),
      batch.operation.subarray(0, n),
      batch.startLagNs.subarray(0, n),
      batch.late.subarray(0, n),
      batch.signatures.subarray(0, kept),
    ];
    for (const p of parts) {
      const bytes = new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
      for (let at = 0; at < bytes.length;) at += writeSync(this.fd, bytes, at);
    }
    this.batches++;
    this.signaturesKept += batch.signatureBytes.subarray(0, n).filter((b) => b > 0).length;
  }

  /** Every batch written, in order; the file is removed after the last one. */
  *read(): Generator<SignatureBatch> {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = openInputFile(this.path, SPILL_INPUT).fd;
    try {
      // worker, firstSequence, count, bytes of kept signatures: float64s, so sequences beyond 2^31 survive.
      const header = new Float64Array(4);
      while (this.readFully(new Uint8Array(header.buffer))) {
        const [worker, firstSequence, count, kept] = header as unknown as [number, number, number, number];
        // Typed arrays of their own (aligned), filled from the file one after the other.
        const batch: SignatureBatch = {
          worker,
          firstSequence,
          count,
          startOffsetNs: new Float64Array(count),
          latencyNs: new Float64Array(count),
          status: new Int32Array(count),
          signatureBytes: new Uint16Array(count),
          signatures: new Uint8Array(kept),
          verified: new Uint8Array(count),
          operation: new Uint8Array(count),
          startLagNs: new Float64Array(count),
          late: new Uint8Array(count),
        };
        for (const a of [batch.startOffsetNs, batch.latencyNs, batch.status, batch.signatureBytes, batch.operation, batch.startLagNs, batch.late, batch.signatures]) {
          if (!this.readFully(new Uint8Array(a.buffer))) throw new Error(`${this.path} ends inside a batch`);
        }
        yield batch;
      }
    } finally {
      this.close();
      rmSync(this.path, { force: true });
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** Closes and removes the file, its batches unread. */
  discard(): void {
    this.close();
    rmSync(this.path, { force: true });
  }

  private readFully(into: Uint8Array): boolean {
    let at = 0;
    while (at < into.length) {
      const n = readSync(this.fd!, into, at, into.length - at, null);
      if (n === 0) break;
      at += n;
    }
    return at === into.length;
  }
}
