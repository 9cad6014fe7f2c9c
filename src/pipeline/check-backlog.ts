/** A monotonic clock in ns (process.hrtime.bigint, or a test's own). */
export type ClockNs = () => bigint;

/**
 * Batches of calls that reached the main thread and are not yet checked on the host and recorded, by when they came:
 * how far the host check is behind is the age of the oldest. Batches spilled for a check after the window wait in the
 * order they were spilled, and are read back in that order.
 */
export class CheckBacklog {
  private readonly waiting = new Map<number, bigint>();
  private readonly spilled: bigint[] = [];
  /** Spilled batches read back so far (the list is not shifted: a long spill would make that quadratic). */
  private unspilled = 0;
  private nextId = 0;

  constructor(private readonly nowNs: ClockNs = () => process.hrtime.bigint()) {}

  /** A batch goes to the check (came at `cameNs`: a spilled one when it was spilled); its id, for `checked`. */
  entered(cameNs: bigint = this.nowNs()): number {
    this.waiting.set(this.nextId, cameNs);
    return this.nextId++;
  }

  checked(id: number): void {
    this.waiting.delete(id);
  }

  spill(cameNs: bigint = this.nowNs()): void {
    this.spilled.push(cameNs);
  }

  /** The next spilled batch is read back: when it came. */
  unspill(): bigint {
    return this.spilled[this.unspilled++] ?? this.nowNs();
  }

  /** Seconds since the oldest batch waiting came; 0 when none waits. */
  lagS(nowNs: bigint = this.nowNs()): number {
    let oldestNs = this.spilled[this.unspilled] ?? nowNs;
    for (const cameNs of this.waiting.values()) if (cameNs < oldestNs) oldestNs = cameNs;
    return Number(nowNs - oldestNs) / 1e9;
  }
}
