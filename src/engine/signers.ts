import type { ModuleInstances } from '../pkcs11/module.js';
import type { PinGuard } from '../pkcs11/pin-guard.js';
import type { SignatureBatch } from './batch.js';
import type { InputTable, Workload } from './operation.js';
import type { Recovery } from './sign-worker.js';
import type { Schedule } from './schedule.js';

/**
 * What runs the timed loop of a configuration, whichever engine it is (worker threads, or the native loop): each
 * signer (a session on a token) reports through the same messages and delivers the same batches to the same
 * stages (verification, then recording).
 */
export interface Signers {
  /** Settles when every signer has ended. */
  ended: Promise<void>;
  /** The barrier opened: every signer's measured window starts at `startNs` (process.hrtime). */
  released(startNs: bigint): void;
  /** A batch has been recorded: its signer may fill it again. */
  recycle(worker: number, batch: SignatureBatch): void;
}

export interface SignersSpec {
  modulePath: string;
  instances: ModuleInstances;
  pinGuard: PinGuard;
  workload: Workload;
  verifyEvery: number;
  recovery: Recovery | null;
  /** schedule: an open-loop target rate (the calls arrive on a schedule), or null (each signer calls again at once). */
  stop: { sharedTotal: number | null; durationNs: bigint | null; schedule: Schedule | null };
}

/** One signer: a session on one token, with its share of the configuration. */
export interface SignerAssignment {
  token: number;
  thread: number;
  slot: Buffer;
  /** Null for a token that needs no login. */
  pin: string | null;
  /** Per operation of the workload: the key pair's CKA_ID (empty where it has none) and the token's input table. */
  keyIds: Buffer[];
  tables: (InputTable | null)[];
  messageSeed: Buffer;
  warmup: number;
  /** Sequence number of the first measured call (above 0 when a burn-in resumes). */
  firstSequence: number;
  /** This signer's own count, or null (a shared total, a schedule or the deadline stops it). */
  signatures: number | null;
}
