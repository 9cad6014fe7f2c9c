/**
 * Holes between the pieces kept at most: past twice this many, the shorter half is merged away. Memory stays flat
 * whatever the run's length, and the long holes — the outages, stalls and hangs a gap is there to show — are kept exactly.
 */
export const KEPT_HOLES = 1024;

/** A time without a successful call, µs on the run's time axis. */
export interface Hole {
  startUs: number;
  endUs: number;
}

/**
 * When successful calls ended (µs on the run's time axis), as disjoint pieces in time order: a piece is one instant,
 * or instants whose short holes were merged away. Its holes are the times without a success — a call held for
 * seconds inside the token (a call in progress is no success until it returns: a token that sat 2 s inside one
 * C_Sign made nothing for 2 s), a streak of failures, a reconnect, a hang, the idle time between the calls of a
 * schedule. Records of a token's sessions arrive batch by batch, not in time order (a late batch of one session may
 * fill a hole that the others left), so holes stay open to the end, the shortest merged away past KEPT_HOLES: the
 * long ones do not depend on the order the calls came in.
 */
export class SuccessGaps {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /**
   * The longest hole merged away to bound memory. With one session it is exact (its calls come in time order, so a
   * hole never shrinks once made); with several, later calls might have shrunk it: a gap is never under-stated.
   */
  private mergedLongestUs = 0;

  /** A successful call that ended at `endUs`. */
  add(endUs: number): void {
    const { starts, ends } = this;
    const n = ends.length;
    // Most calls end after every piece (one session's calls come in time order): no search.
    if (n === 0 || endUs > ends[n - 1]!) {
      starts.push(endUs);
      ends.push(endUs);
      if (n + 1 > 2 * KEPT_HOLES + 1) this.mergeShortHoles();
      return;
    }
    // The first piece that ends at or after this instant: inside it (or at its edge) the instant is no news.
    let lo = 0;
    for (let hi = n; lo < hi;) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid]! < endUs) lo = mid + 1;
      else hi = mid;
    }
    if (starts[lo]! <= endUs) return;
    starts.splice(lo, 0, endUs);
    ends.splice(lo, 0, endUs);
    if (starts.length > 2 * KEPT_HOLES + 1) this.mergeShortHoles();
  }

  /**
   * The times without a success between `windowStartUs` and `windowEndUs`, in time order (the KEPT_HOLES longest at
   * least). The time after the last success counts only when `failingAtEnd` (a streak of failures, or a call that
   * never returned, still open at the end): a token that made its share and stopped was not without successes, it was done.
   */
  holes(windowStartUs: number, windowEndUs: number, failingAtEnd: boolean): Hole[] {
    const { starts, ends } = this;
    if (starts.length === 0) return windowEndUs > windowStartUs ? [{ startUs: windowStartUs, endUs: windowEndUs }] : [];
    const holes: Hole[] = [{ startUs: windowStartUs, endUs: starts[0]! }];
    for (let i = 1; i < starts.length; i++) holes.push({ startUs: ends[i - 1]!, endUs: starts[i]! });
    if (failingAtEnd) holes.push({ startUs: ends[ends.length - 1]!, endUs: windowEndUs });
    return holes.filter((h) => h.endUs > h.startUs);
  }

  /** The longest time without a success in the window (see holes). */
  longestUs(windowStartUs: number, windowEndUs: number, failingAtEnd: boolean): number {
    return this.holes(windowStartUs, windowEndUs, failingAtEnd).reduce((longest, h) => Math.max(longest, h.endUs - h.startUs), this.mergedLongestUs);
  }

  /** Keeps the KEPT_HOLES longest holes; each shorter one is closed, its pieces joined. */
  private mergeShortHoles(): void {
    const { starts, ends } = this;
    const holes = new Float64Array(starts.length - 1);
    for (let i = 1; i < starts.length; i++) holes[i - 1] = starts[i]! - ends[i - 1]!;
    const shortest = holes.slice().sort()[holes.length - KEPT_HOLES - 1]!;
    let merged = 0;
    for (let i = 1; i < starts.length; i++) {
      const hole = holes[i - 1]!;
      if (hole <= shortest && holes.length - merged > KEPT_HOLES) {
        this.mergedLongestUs = Math.max(this.mergedLongestUs, hole);
        merged++;
        ends[i - merged] = ends[i]!;
      } else {
        starts[i - merged] = starts[i]!;
        ends[i - merged] = ends[i]!;
      }
    }
    starts.length -= merged;
    ends.length -= merged;
  }
}
