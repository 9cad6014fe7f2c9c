/**
 * A session's batches posted and not yet recorded, as the session itself sees them: each by when its first call
 * ended (ns from the window's start; null for a batch of no call), oldest first. The recorder records a session's
 * batches in the order posted and counts those still in flight (the run control's pending count), so the session
 * needs no word from the main thread, whose event loop may be the part that lags, to know which of its calls wait.
 */
export class UnrecordedCalls {
  private readonly postedEndNs: (number | null)[] = [];

  /** A batch is posted (its first call ended at `firstEndNs`; null: it holds none). */
  posted(firstEndNs: number | null): void {
    this.postedEndNs.push(firstEndNs);
  }

  /** When the oldest call of the posted batches still in flight (`pending` of them) ended, or null: all are recorded. */
  oldestNs(pending: number): number | null {
    while (this.postedEndNs.length > pending) this.postedEndNs.shift();
    return this.postedEndNs.find((ns) => ns !== null) ?? null;
  }
}
