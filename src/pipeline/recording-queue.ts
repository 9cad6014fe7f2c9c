import { performance } from 'node:perf_hooks';
import type { CallBatch } from '../model/call-batch.js';

/** Longest stretch of recording before the event loop gets a turn. */
const SLICE_MS = 20;

/**
 * Verified batches wait here and are recorded (written, counted) in slices of at most 20 ms. Recording (and, as
 * it was then, verifying) a batch inside its message callback kept the main thread's event loop from turning
 * while the workers posted faster than it kept up: Ctrl-C was not seen for a whole 60-second configuration, timers and
 * progress lines froze. Workers still wait for their batches to be recorded (back-pressure), so the queue
 * stays short.
 */
export class RecordingQueue {
  private readonly waiting: { batch: CallBatch; recorded: () => void }[] = [];
  private scheduled = false;
  private whenDrained: (() => void)[] = [];

  constructor(
    private readonly record: (batch: CallBatch) => void,
    /** The clock a slice is measured on (ms; a test's own moves as it records). */
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  push(batch: CallBatch, recorded: () => void): void {
    this.waiting.push({ batch, recorded });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  /** Resolves once every batch pushed so far is recorded. */
  drained(): Promise<void> {
    return this.scheduled ? new Promise((resolve) => this.whenDrained.push(resolve)) : Promise.resolve();
  }

  private readonly drain = (): void => {
    const untilMs = this.nowMs() + SLICE_MS;
    while (this.waiting.length > 0 && this.nowMs() < untilMs) {
      const next = this.waiting.shift()!;
      this.record(next.batch);
      next.recorded();
    }
    if (this.waiting.length > 0) {
      setImmediate(this.drain);
      return;
    }
    this.scheduled = false;
    this.whenDrained.splice(0).forEach((resolve) => resolve());
  };
}
