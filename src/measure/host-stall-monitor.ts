import { Worker } from 'node:worker_threads';

/**
 * Watches for stalls of the host: a thread of its own sleeps in short ticks and notes every tick it woke from far
 * too late. Nothing else runs in that thread, so a late wake is the host's doing (the process paused, a VM's CPU
 * taken away, a scheduler that let it wait), whatever the sessions were doing then: waiting for a call, inside one,
 * or past the deadline. A run uses it to tell a stall of its host from tokens that fell behind.
 */
export const TICK_MS = 10;
/** A wake this much later than asked is a stall; a loaded 2-core host wakes a thread within a few tens of ms. */
export const STALL_MIN_MS = 100;
/** Stalls kept per configuration: the longest is what counts, and a host stalling this often is stalled throughout. */
const MAX_STALLS = 256;

/** Layout of the shared buffer: [stop flag, count] as int32, then [startNs, endNs] pairs as float64. */
const HEADER_BYTES = 8;

const WORKER_CODE = `
const { workerData } = require('node:worker_threads');
const { buffer, tickMs, stallMinMs, maxStalls } = workerData;
const control = new Int32Array(buffer, 0, 2);
const stalls = new Float64Array(buffer, ${HEADER_BYTES}, maxStalls * 2);
let before = process.hrtime.bigint();
while (Atomics.load(control, 0) === 0) {
  Atomics.wait(control, 0, 0, tickMs);
  const now = process.hrtime.bigint();
  const lateMs = Number(now - before) / 1e6 - tickMs;
  if (lateMs >= stallMinMs) {
    const n = Atomics.load(control, 1);
    if (n < maxStalls) {
      stalls[2 * n] = Number(before);
      stalls[2 * n + 1] = Number(now);
      Atomics.store(control, 1, n + 1);
    }
  }
  before = now;
}
`;

export class HostStallMonitor {
  private readonly buffer = new SharedArrayBuffer(HEADER_BYTES + MAX_STALLS * 16);
  private readonly control = new Int32Array(this.buffer, 0, 2);
  private readonly stalls = new Float64Array(this.buffer, HEADER_BYTES, MAX_STALLS * 2);
  private readonly worker: Worker;

  constructor() {
    this.worker = new Worker(WORKER_CODE, { eval: true, workerData: { buffer: this.buffer, tickMs: TICK_MS, stallMinMs: STALL_MIN_MS, maxStalls: MAX_STALLS } });
    // A monitor must never keep the process alive, nor fail the run it watches.
    this.worker.unref();
    this.worker.on('error', () => {});
  }

  /**
   * The stalls that overlapped [fromNs, untilNs] (process.hrtime), each the part of it inside, in ns. Stalls already
   * noted are read as they are: a stall still in progress is not one yet.
   */
  within(fromNs: bigint, untilNs: bigint): { startNs: number; endNs: number }[] {
    const [from, until] = [Number(fromNs), Number(untilNs)];
    const inside: { startNs: number; endNs: number }[] = [];
    for (let i = 0; i < Atomics.load(this.control, 1); i++) {
      const startNs = Math.max(this.stalls[2 * i]!, from);
      const endNs = Math.min(this.stalls[2 * i + 1]!, until);
      if (endNs > startNs) inside.push({ startNs, endNs });
    }
    return inside;
  }

  /** The longest stall that overlapped [fromNs, untilNs], the part of it inside, in µs; 0 when none. */
  longestUs(fromNs: bigint, untilNs: bigint): number {
    return this.within(fromNs, untilNs).reduce((longest, s) => Math.max(longest, s.endNs - s.startNs), 0) / 1000;
  }

  stop(): void {
    Atomics.store(this.control, 0, 1);
    Atomics.notify(this.control, 0);
    void this.worker.terminate();
  }
}
