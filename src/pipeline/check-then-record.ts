import { writeError } from '../core/errors.js';
import type { CallBatch } from '../model/call-batch.js';
import { keptOutputs } from '../result/spill-file.js';
import type { CheckBacklog } from './check-backlog.js';
import { RecordingQueue } from './recording-queue.js';

/**
 * A session with this many batches waiting for verification (each up to 256 calls or 100 ms of them) has its
 * next batches spilled, where the configuration spills: below the run control's limit on batches in flight (8),
 * so the session never waits for verification.
 */
export const SPILL_AFTER_BATCHES = 6;
/** Spilled batches verified at once after the window: enough to keep every verification thread busy. */
const REPLAY_IN_FLIGHT = 16;

/** The host check (the verification pool, or a test's own): the batch back with its `verified` column filled. */
export interface BatchVerifier {
  verify(batch: CallBatch): Promise<CallBatch>;
}

/** Where batches wait whose check fell behind (the spill file): read back whole, in the order they were written. */
export interface BatchSpill {
  readonly path: string;
  /** Batches written, and the outputs they kept for the check. */
  readonly batches: number;
  readonly outputsKept: number;
  write(batch: CallBatch): void;
  /** Every batch written, in order; the spill is gone after the last. */
  read(): Iterable<CallBatch>;
  close(): void;
  /** Closes and removes it, its batches unread. */
  discard(): void;
}

/** What the batches go through: the check, the recorder, the spill (null: the sessions wait for the check instead). */
export interface CheckThenRecordStages {
  verifier: BatchVerifier;
  /** Writes a checked batch's records and counts them (the recorder). */
  record: (batch: CallBatch) => void;
  spill: BatchSpill | null;
  backlog: CheckBacklog;
  /** The clock the recording's slices are measured on (ms; the recording queue's own by default, a test's fixed). */
  nowMs?: () => number;
}

export interface CheckThenRecordEvents {
  /** A session's batch is recorded or spilled: its buffers go back to it (null: lost with a verification thread). */
  released: (worker: number, batch: CallBatch | null) => void;
  /** Calls recorded or spilled so far. */
  progress: (calls: number) => void;
  /** The run has to stop: a batch could not be checked, or the spill could not be written. */
  failed: () => void;
}

/** How the calls kept for a check after the window ended. */
export interface AfterWindow {
  /** Outputs spilled during the window and checked after it. */
  verifiedLate: number;
  /** Outputs spilled and recorded unchecked (the check after the window was skipped). */
  unverified: number;
}

/**
 * The way of a session's batch from its engine to the records: checked on the host, then recorded, in the order the
 * session made them (a batch with nothing to check must not overtake one being checked), so a crash only cuts the
 * end. A session whose checks fall SPILL_AFTER_BATCHES behind spills its batches for the rest of the configuration
 * (so they keep their order); after the window they are checked and recorded after what it had in flight.
 */
export class CheckThenRecord {
  /** Per session, its batches still being checked, chained. */
  private readonly verifying: Promise<void>[];
  /** Per session, batches handed to the check and not yet recorded. */
  private readonly awaiting: number[];
  /** Calls handed to the check and not yet recorded. */
  private callsAwaiting = 0;
  private readonly spilling: boolean[];
  private readonly queue: RecordingQueue;
  private recorded = 0;
  private spilled = 0;
  /** Why the spill could not be written: its batches are lost with the run, which stops. */
  spillFailure: Error | undefined;

  constructor(
    sessions: number,
    private readonly stages: CheckThenRecordStages,
    private readonly events: CheckThenRecordEvents,
  ) {
    this.verifying = Array.from({ length: sessions }, () => Promise.resolve());
    this.awaiting = Array.from({ length: sessions }, () => 0);
    this.spilling = Array.from({ length: sessions }, () => false);
    this.queue = new RecordingQueue(stages.record, stages.nowMs);
  }

  /** A batch as its session posted it. */
  take(batch: CallBatch): void {
    const worker = batch.worker;
    const spill = this.stages.spill;
    this.spilling[worker] ||= spill !== null && this.awaiting[worker]! >= SPILL_AFTER_BATCHES;
    if (!this.spilling[worker]) {
      void this.checkThenRecord(batch, (checked) => this.events.released(worker, checked));
      return;
    }
    try {
      spill!.write(batch);
      this.stages.backlog.spill();
    } catch (error) {
      this.spillFailure ??= writeError(spill!.path, error);
      this.events.failed();
    }
    this.events.released(worker, batch);
    this.spilled += batch.count;
    this.events.progress(this.recorded + this.spilled);
  }

  /** Batches handed to the check and not yet recorded. */
  get checking(): number {
    return this.awaiting.reduce((sum, n) => sum + n, 0);
  }

  /** Calls handed to the check and not yet recorded: made, and not in the records yet. */
  get callsChecking(): number {
    return this.callsAwaiting;
  }

  /** Outputs waiting in the spill for their check after the window. */
  get keptForAfter(): number {
    const spill = this.stages.spill;
    return spill !== null && spill.batches > 0 ? spill.outputsKept : 0;
  }

  /**
   * Once the sessions have ended: the spilled batches are checked and recorded (told to `onVerifyingSpill`, whose
   * `skip` records the rest unchecked), and every batch is recorded before this resolves.
   */
  async afterWindow(onVerifyingSpill?: (calls: number, skip: () => void) => void): Promise<AfterWindow> {
    const spill = this.stages.spill;
    let unverified = 0;
    if (spill !== null && spill.batches > 0 && this.spillFailure === undefined) {
      let skip = false;
      // Spilled batches that kept no output (failures only, or outputs not sampled) are recorded, not verified: nothing to say.
      if (spill.outputsKept > 0) onVerifyingSpill?.(spill.outputsKept, () => (skip = true));
      const inFlight: Promise<void>[] = [];
      for (const batch of spill.read()) {
        if (skip) unverified += keptOutputs(batch);
        inFlight.push(this.checkThenRecord(batch, (checked) => (this.spilled -= checked?.count ?? 0), !skip, this.stages.backlog.unspill()));
        if (inFlight.length >= REPLAY_IN_FLIGHT) await inFlight.shift();
      }
    }
    // A spill that failed (disk full) is removed: it would keep the disk full, and its batches are lost with the run.
    if (this.spillFailure !== undefined) spill?.discard();
    spill?.close();
    await Promise.all(this.verifying);
    await this.queue.drained();
    return { verifiedLate: (spill?.outputsKept ?? 0) - unverified, unverified };
  }

  /**
   * The check (unless `check` is false: a skipped backlog), then the recording, in the session's order; `done` once
   * the batch is recorded (null: lost with a verification thread). `cameNs`: when a spilled batch was spilled.
   */
  private checkThenRecord(batch: CallBatch, done: (recordedBatch: CallBatch | null) => void, check = true, cameNs?: bigint): Promise<void> {
    const worker = batch.worker;
    const calls = batch.count;
    this.awaiting[worker]!++;
    this.callsAwaiting += calls;
    const waiting = this.stages.backlog.entered(cameNs);
    const verified = check ? this.stages.verifier.verify(batch) : Promise.resolve(batch);
    // Handled in the chain below; this keeps a rejection that comes before its turn from counting as unhandled.
    verified.catch(() => {});
    this.verifying[worker] = this.verifying[worker]!.then(() => verified)
      .then((checked) =>
        this.queue.push(checked, () => {
          this.awaiting[worker]!--;
          this.callsAwaiting -= calls;
          this.stages.backlog.checked(waiting);
          this.recorded += checked.count;
          done(checked);
          this.events.progress(this.recorded + this.spilled);
        }),
      )
      .catch(() => {
        // A batch that could not be checked (its verification thread died) is not recorded: the run stops, and the
        // session is not left waiting for it.
        this.awaiting[worker]!--;
        this.callsAwaiting -= calls;
        this.stages.backlog.checked(waiting);
        done(null);
        this.events.failed();
      });
    return this.verifying[worker]!;
  }
}
