import { BATCH_CAPACITY, StagedBatch, type CallBatch } from '../../src/model/call-batch.js';
import type { CallRecord } from '../../src/model/record.js';
import type { StopSpec } from '../../src/model/stop.js';
import type { TimedOperation, Workload } from '../../src/model/workload.js';
import type { ConnectOutcome } from '../../src/pkcs11/token-connection.js';
import { recordsOfBatch } from '../../src/result/batch-records.js';
import { ABANDONED, callLoop, type LoopCalls, type LoopClock, type LoopWorkerMessage, type Recovery } from '../../src/measure/call-loop.js';
import { RunControl } from '../../src/measure/control.js';

/**
 * The real timed loop (src/measure/call-loop.ts), run in-process against a scripted module and a clock the module
 * moves: the loop's ordering, stop rules, schedule and recovery are tested in milliseconds, without a token.
 */

/** What one call of the scripted module does: its CKR code (0: OK), the output length it reports, how long it takes. */
export interface ScriptedCall {
  status?: number;
  /** Default: the operation's first output size. Null: the token would not show it. */
  outputBytes?: number | null;
  tookMs?: number;
}

/** Where a call or a connection happens: its session, and the session's clock, in ms after the window opened. */
export interface ScriptedMoment {
  session: number;
  atMs: number;
  control: RunControl;
}

export interface ScriptedModule {
  call(c: ScriptedMoment & { sequence: number; operation: number }): ScriptedCall;
  /** A new session after a failure; default: it works. */
  connect?(c: ScriptedMoment): ConnectOutcome;
}

export interface ScriptedSession {
  /** The session's own count of calls (a count per token), or null. */
  calls: number | null;
  firstSequence?: number;
  warmupCalls?: number;
}

export interface ScriptedRunSpec {
  module: ScriptedModule;
  sessions: ScriptedSession[];
  stop: Partial<StopSpec>;
  recovery?: Recovery | null;
  verifyEvery?: number;
}

/** What the sessions did, as the run would see it. */
export interface ScriptedRun {
  /** Per session, its records in the order they were posted. */
  records: CallRecord[][];
  /** Every batch posted, in order: whose, where it starts, how many calls, how many outputs kept. */
  batches: { worker: number; firstSequence: number; count: number; kept: number }[];
  /** Per session, why it gave up (undefined: it did not), or ABANDONED: the main thread abandoned its call or connection. */
  gaveUp: (string | undefined | typeof ABANDONED)[];
  /** Per session, its connections after a failure, in ms after the window opened. */
  connectsAtMs: number[][];
  /** Per session, its clock when its loop ended, in ms after the window opened. */
  endedAtMs: number[];
  messages: LoopWorkerMessage['type'][];
  control: RunControl;
}

/** A signing operation with one output size (an ECDSA P-256 signature's), for the loop to check outputs against. */
export const SCRIPTED_OPERATION: TimedOperation = {
  name: 'sign',
  call: 'sign',
  mechanism: { name: 'ECDSA', ckm: 0x1041 },
  input: 'message',
  key: { kind: 'none' },
  outputBytes: [64],
};

const WINDOW_START_NS = 1_000_000_000n;
/** More calls or connections than any test scripts: a loop that would never end fails its test instead of hanging it. */
const RUNAWAY_STEPS = 100_000;
const msAfterStart = (ns: bigint) => Number(ns - WINDOW_START_NS) / 1e6;

/** A session's clock: it moves only when the module takes time or the loop waits (a wait ends at once on a stop). */
export class ScriptedClock implements LoopClock {
  constructor(
    private readonly control: RunControl,
    public ns = WINDOW_START_NS,
  ) {}
  nowNs(): bigint {
    return this.ns;
  }
  sleepUntil(atNs: bigint): void {
    if (!this.control.stopRequested() && atNs > this.ns) this.ns = atNs;
  }
  sleep(ms: number): void {
    if (!this.control.stopRequested()) this.ns += BigInt(Math.round(ms * 1e6));
  }
}

/**
 * Runs each session's loop to its end, one after the other, all released at one window start: each has a clock of
 * its own (as if on a core of its own), and they share the run control (a shared total, the schedule's counter).
 */
export function runScriptedSessions(spec: ScriptedRunSpec): ScriptedRun {
  const workload: Workload = { operations: [SCRIPTED_OPERATION], cumulative: [1] };
  const stop: StopSpec = { callsPerToken: null, sharedSuccesses: null, durationNs: null, schedule: null, ...spec.stop };
  const control = new RunControl(spec.sessions.length);
  control.release(WINDOW_START_NS);
  const run: ScriptedRun = { records: [], batches: [], gaveUp: [], connectsAtMs: [], endedAtMs: [], messages: [], control };
  spec.sessions.forEach((s, worker) => {
    const clock = new ScriptedClock(control);
    const records: CallRecord[] = [];
    const connectsAtMs: number[] = [];
    const recycled: CallBatch[] = [];
    const moment = (): ScriptedMoment => ({ session: worker, atMs: msAfterStart(clock.ns), control });
    let outputLength: number | null = 0;
    let steps = 0;
    const step = () => {
      if (++steps > RUNAWAY_STEPS) throw new Error(`session ${worker} did not stop after ${RUNAWAY_STEPS} calls and connections`);
    };
    const calls: LoopCalls = {
      call: (operation, sequence) => {
        step();
        const c = spec.module.call({ ...moment(), sequence, operation });
        clock.ns += BigInt(Math.round((c.tookMs ?? 0) * 1e6));
        outputLength = c.outputBytes === undefined ? SCRIPTED_OPERATION.outputBytes[0]! : c.outputBytes;
        return c.status ?? 0;
      },
      finish: () => 0,
      get outputLength() {
        return outputLength;
      },
      connect: () => {
        step();
        connectsAtMs.push(msAfterStart(clock.ns));
        return spec.module.connect?.(moment()) ?? { ok: true };
      },
    };
    const post = (m: LoopWorkerMessage) => {
      run.messages.push(m.type);
      // The barrier: whatever the warm-up took, the measured window starts for every session at one time.
      if (m.type === 'ready') clock.ns = WINDOW_START_NS;
      if (m.type !== 'batch') return;
      const b = m.batch;
      run.batches.push({ worker, firstSequence: b.firstSequence, count: b.count, kept: b.kept.subarray(0, b.count).reduce((n, k) => n + k, 0) });
      records.push(...recordsOfBatch(b, { configuration: 'tokens-1', token: 0, thread: worker, operations: ['sign'], startOffsetBaseUs: 0 }));
      // Recorded at once: the batch goes back to the session for reuse, as the recorder sends it back.
      recycled.push(b);
      control.recorded(worker);
    };
    const outcome = callLoop(
      {
        worker,
        workload,
        messageSeed: Buffer.alloc(32, worker),
        warmupCalls: s.warmupCalls ?? 0,
        firstSequence: s.firstSequence ?? 0,
        stop,
        calls: s.calls,
        verifyEvery: spec.verifyEvery ?? 0,
        recovery: spec.recovery ?? null,
        // Recorded at once (below): nothing waits unrecorded.
        unrecordedMaxNs: null,
      },
      calls,
      control,
      clock,
      { staged: StagedBatch.create(worker, BATCH_CAPACITY, 64), recycled: () => recycled.shift(), post },
    );
    run.records.push(records);
    run.gaveUp.push(outcome);
    run.connectsAtMs.push(connectsAtMs);
    run.endedAtMs.push(msAfterStart(clock.ns));
  });
  return run;
}
