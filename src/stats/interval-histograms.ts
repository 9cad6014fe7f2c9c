import { recordInto } from './histogram-record.js';
import type { Histogram } from 'hdr-histogram-js';
import hdr from 'hdr-histogram-js';

/**
 * A second's latencies of one token, operation and outcome: 32-bit counts, as latencyHistogram's range and precision.
 * Some 5 × faster to record into than a packed histogram, for some 180 KiB each (only the seconds still open are held).
 */
const secondHistogram = (): Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 32 });

/** One interval's latencies of one token, operation and outcome. */
export interface IntervalHistogram {
  /** The interval: this second of the run's time axis (calls counted by the second they ended in). */
  second: number;
  token: number;
  operation: string;
  ok: boolean;
  /** Latencies in µs (a call that never returned: how long it was in flight). */
  latencyUs: Histogram;
}

/**
 * Per-second HDR histograms of the calls' latencies, per token, operation and outcome, gathered as calls are
 * recorded and taken out once their second is past. Calls arrive batch by batch, not in time order (a session's
 * batch is up to 100 ms old, verification may lag): a second is taken out only once two later ones have begun, and a
 * call of a second already taken out starts it again (a log may hold one interval twice: readers add them up).
 */
export class IntervalHistograms {
  private readonly open = new Map<number, Map<string, IntervalHistogram>>();
  private latestSecond = 0;
  /** The interval the last call went into, while it is open (take() forgets it). */
  private last: IntervalHistogram | undefined;

  /** A call that ended at `endUs` (one that never returned: where it started). */
  add(token: number, operation: string, ok: boolean, endUs: number, latencyUs: number): void {
    const second = Math.max(0, Math.floor(endUs / 1e6));
    // Most calls go where the call before them went (a batch is one session's, most of it in one second): looking
    // the interval up by a key made per call was a third of the time this took.
    let h = this.last;
    if (h === undefined || h.second !== second || h.token !== token || h.operation !== operation || h.ok !== ok) {
      this.latestSecond = Math.max(this.latestSecond, second);
      let intervals = this.open.get(second);
      if (intervals === undefined) this.open.set(second, (intervals = new Map()));
      const key = `${token}/${operation}/${ok}`;
      h = intervals.get(key);
      if (h === undefined) intervals.set(key, (h = { second, token, operation, ok, latencyUs: secondHistogram() }));
      this.last = h;
    }
    recordInto(h.latencyUs, Math.max(1, Math.round(latencyUs)));
  }

  /** The intervals whose second is past (`all`: every one, at the end), in time order; they are forgotten here. */
  take(all = false): IntervalHistogram[] {
    const past = [...this.open.keys()].filter((s) => all || s < this.latestSecond - 1).sort((a, b) => a - b);
    if (this.last !== undefined && past.includes(this.last.second)) this.last = undefined;
    return past.flatMap((s) => {
      const intervals = [...this.open.get(s)!.values()];
      this.open.delete(s);
      return intervals;
    });
  }
}
