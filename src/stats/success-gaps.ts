/**
 * Holes between the pieces kept at most: past twice this many, the shorter half is merged away. Memory stays flat
 * whatever the run's length, and the long holes — the outages and hangs a gap is there to show — are kept exactly.
 */
export const KEPT_HOLES = 1024;

/**
 * When a token had a successful call in progress: the union of its successful calls' [start, end] (µs on the run's
 * time axis), as disjoint pieces in time order. Its holes are the times without one — a hang, a streak of failures,
 * a reconnect, the idle time between the calls of a schedule. Records of a token's sessions arrive batch by batch,
 * not in time order (a late batch of one session may fill a hole that the others left), so holes stay open to the
 * end, the shortest merged away past KEPT_HOLES: the long ones do not depend on the order the calls came in.
 */
export class SuccessGaps {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /**
   * The longest hole merged away to bound memory. With one session it is exact (its calls come in time order, so a
   * hole never shrinks once made); with several, later calls might have shrunk it: a gap is never under-stated.
   */
  private mergedLongestUs = 0;

  /** A successful call from `startUs` to `endUs`. */
  add(startUs: number, endUs: number): void {
    const { starts, ends } = this;
    const n = ends.length;
    // Most calls come after every piece (one session's calls come in time order): no search.
    if (n === 0 || startUs > ends[n - 1]!) {
      starts.push(startUs);
      ends.push(endUs);
      if (n + 1 > 2 * KEPT_HOLES + 1) this.mergeShortHoles();
      return;
    }
    // The first piece that ends at or after this call's start: the pieces from it that start before the call ends overlap it.
    let lo = 0;
    for (let hi = ends.length; lo < hi;) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid]! < startUs) lo = mid + 1;
      else hi = mid;
    }
    let last = lo;
    while (last < starts.length && starts[last]! <= endUs) last++;
    if (last === lo) {
      starts.splice(lo, 0, startUs);
      ends.splice(lo, 0, endUs);
    } else {
      starts[lo] = Math.min(starts[lo]!, startUs);
      ends[lo] = Math.max(ends[last - 1]!, endUs);
      starts.splice(lo + 1, last - lo - 1);
      ends.splice(lo + 1, last - lo - 1);
    }
    if (starts.length > 2 * KEPT_HOLES + 1) this.mergeShortHoles();
  }

  /**
   * The longest time without a successful call in progress between `windowStartUs` and `windowEndUs`. The time after
   * the last success counts only when `failingAtEnd` (a streak of failures, or a call that never returned, still
   * open at the end): a token that made its share and stopped was not without successes, it was done.
   */
  longestUs(windowStartUs: number, windowEndUs: number, failingAtEnd: boolean): number {
    const { starts, ends } = this;
    if (starts.length === 0) return Math.max(0, windowEndUs - windowStartUs);
    let longest = Math.max(this.mergedLongestUs, starts[0]! - windowStartUs);
    for (let i = 1; i < starts.length; i++) longest = Math.max(longest, starts[i]! - ends[i - 1]!);
    if (failingAtEnd) longest = Math.max(longest, windowEndUs - ends[ends.length - 1]!);
    return Math.max(0, longest);
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
