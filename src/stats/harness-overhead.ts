import { recordInto } from './histogram-record.js';
import type { CallOverhead } from '../model/run-result.js';
import { denseLatencyHistogram } from './latency-histogram.js';

/**
 * A service time within this multiple of the harness's own per-call cost is partly the harness's: at 10× the loop
 * adds up to a tenth to each call's period, more than this machine's noise between runs.
 */
export const HARNESS_SHARE_MULTIPLE = 10;

/** The service times' resolution (latencyHistogram's lowest discernible value): a median there may be anything below it. */
const SERVICE_FLOOR_US = 1;

/**
 * True when a configuration's median service time (µs) is within HARNESS_SHARE_MULTIPLE of the harness's median
 * per-call overhead (µs), or cannot be told from it: at the service times' 1 µs floor.
 */
export const harnessPartOfNumber = (serviceP50Us: number, overhead: Pick<CallOverhead, 'p50'>): boolean => serviceP50Us <= SERVICE_FLOOR_US || serviceP50Us < HARNESS_SHARE_MULTIPLE * overhead.p50;

/** Collects the periods (ns) between consecutive null calls of one session: the loop's own cost per call. */
export class OverheadPeriods {
  // ns, 1 ns to 3.6 s at 3 significant digits: periods are tens of ns to a few µs, a stall seconds. Dense: a
  // calibration records a million periods, which a packed histogram took a quarter of a second to take.
  private readonly periodsNs = denseLatencyHistogram();
  private lastStartNs: number | null = null;

  /** Periods collected so far. */
  get count(): number {
    return this.periodsNs.totalCount;
  }

  /** The next call starts a new run of calls: the time since the last one's is no period of the loop. */
  restart(): void {
    this.lastStartNs = null;
  }

  /** The next call's start (ns from any fixed origin, calls in order). */
  add(startNs: number): void {
    if (this.lastStartNs !== null) recordInto(this.periodsNs, Math.max(1, Math.round(startNs - this.lastStartNs)));
    this.lastStartNs = startNs;
  }

  /** Median and p99 in µs (to the ns); null without two calls. */
  summary(engine: CallOverhead['engine']): CallOverhead | null {
    const h = this.periodsNs;
    if (h.totalCount === 0) return null;
    const us = (p: number) => Math.round(Math.min(h.getValueAtPercentile(p), h.maxValue)) / 1000;
    return { p50: us(50), p99: us(99), calls: h.totalCount, engine };
  }
}
