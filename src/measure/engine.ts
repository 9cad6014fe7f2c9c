import type { StopSpec } from '../model/stop.js';
import type { ModuleInstances } from '../model/run-result.js';
import type { PinGuard } from '../pkcs11/pin-guard.js';
import type { CallBatch } from '../model/call-batch.js';
import type { InputTable, Workload } from '../model/workload.js';
import type { LoopWorkerMessage, Recovery } from './call-loop.js';
import type { RunControl } from './control.js';

/**
 * What runs the timed loop of a configuration, whichever engine it is (worker threads, or the native loop): each
 * session on a token (a worker thread, or a job of the native loop) reports through the same messages and delivers
 * the same call batches to the same stages (verification, then recording).
 */
export interface Engine {
  /** Settles when every session has ended. */
  ended: Promise<void>;
  /** The barrier opened: every session's measured window starts at `startNs` (process.hrtime). */
  released(startNs: bigint): void;
  /** A batch has been recorded: its session may fill it again. */
  recycle(worker: number, batch: CallBatch): void;
  /** When the session's call in flight began (process.hrtime ns), or null when it is not in a call (or has ended). */
  inFlightSince(worker: number): bigint | null;
  /** When the session began opening (C_OpenSession, C_Login, finding its key), or null when it is not doing that now. */
  connectingSince(worker: number): bigint | null;
  /**
   * Gives up the session's opening, which has not returned (the watchdog's decision): the session ends without it, its
   * thread left inside the module. False when it returned meanwhile.
   */
  abandonConnect(worker: number): boolean;
  /**
   * Gives up the session's call in flight, which has not returned (the watchdog's decision): with `record`, a measured
   * call becomes a CALL_TIMED_OUT record after the session's others; the session then ends without its thread, which
   * is left inside the module. False when the call returned meanwhile, or its record cannot go yet (ask again).
   */
  abandon(worker: number, record: boolean): boolean;
}

/** Starts an engine's sessions: the worker threads', the native loop's, or a test's own (test/helpers/scripted-engine.ts). */
export type EngineStarter = (spec: EngineSpec, sessions: readonly SessionAssignment[], control: RunControl, onMessage: (worker: number, m: LoopWorkerMessage) => void) => Engine;

export interface EngineSpec {
  modulePath: string;
  instances: ModuleInstances;
  pinGuard: PinGuard;
  workload: Workload;
  verifyEvery: number;
  recovery: Recovery | null;
  /**
   * A session makes no call while its oldest call not yet recorded ended this long ago (ns), or null: no bound (a
   * scale run spills what its host check cannot keep up with instead of waiting). See run-configuration.ts.
   */
  unrecordedMaxNs: number | null;
  /** schedule: an open-loop target rate (the calls arrive on a schedule), or null (each session calls again at once). */
  stop: StopSpec;
}

/** One session on one token, with its share of the configuration. */
export interface SessionAssignment {
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
  /** This session's own count of calls, or null (a shared total, a schedule or the deadline stops it). */
  calls: number | null;
}
