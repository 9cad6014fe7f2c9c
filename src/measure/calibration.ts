import { NATIVE } from '../core/native-abi.js';
import { BATCH_CAPACITY, newBatch, StagedBatch, type CallBatch } from '../model/call-batch.js';
import type { CallOverhead } from '../model/run-result.js';
import { keptOutputBytes, nativeTimedCall, OUTPUT_BUFFER_BYTES, type Workload } from '../model/workload.js';
import { OverheadPeriods } from '../stats/harness-overhead.js';
import { callLoop, hrtimeClock, type LoopCalls } from './call-loop.js';
import { RunControl } from './control.js';
import { nativeLoop, RING_BYTES, type EngineName } from './native-engine.js';

/** How long the null calls run: long enough for a stable median and p99 at ~1 µs a call, short beside any run. */
export const CALIBRATION_NS = 100_000_000n;
/** How often the rings are drained, as the native engine's tick does. */
const TICK_MS = 10;
const NO_HANDLE = Buffer.alloc(8);

/**
 * The harness's own cost per call on this host, as hyperfine calibrates its shell: one session runs null calls (no
 * PKCS#11 call at all, so no token sees them and no count of calls made changes) through the engine's loop for
 * CALIBRATION_NS, and the periods between consecutive calls' starts are the loop's cost per call. Native: the C
 * loop itself (its clock read, the operation's input, its record in the ring), drained into batches as the engine
 * drains; threads: the worker threads' loop (callLoop, on this thread), its batches handed over as a worker's are.
 * Neither passes the recorder, which runs beside the loop on the main thread.
 */
export async function calibrate(engine: EngineName, modulePath: string, workload: Workload): Promise<CallOverhead | null> {
  const periods = new OverheadPeriods();
  // A host so busy that the loop hardly ran in its window (seen at a load of 12 on 2 cores: no period at all) leaves
  // too few periods for a p99 to rest on: the calibration runs again, a few times at most, adding up what it saw.
  for (let attempt = 0; attempt < MAX_ATTEMPTS && periods.count < MIN_PERIODS; attempt++) {
    periods.restart();
    await (engine === 'native' ? calibrateNative(periods, modulePath, workload) : calibrateThreads(periods, workload));
  }
  return periods.summary(engine);
}

/** Periods a p99 rests on with ten beyond it. */
const MIN_PERIODS = 1_000;
const MAX_ATTEMPTS = 5;

const periodsOf = (into: OverheadPeriods, b: CallBatch) => {
  for (let i = 0; i < b.count; i++) into.add(b.startOffsetNs[i]!);
};

async function calibrateNative(periods: OverheadPeriods, modulePath: string, workload: Workload): Promise<void> {
  const native = nativeLoop()!;
  const loop = native.start(modulePath, {
    // The workload's operations with their calls made null: the same message recipes (a table's row is only a pointer).
    operations: workload.operations.map((op) => {
      const timed = nativeTimedCall(op)!;
      // A null call makes no object: no templates, nothing read back, and no ECDH parameters (derive, keygen).
      return {
        ...timed,
        call: NATIVE.call.null,
        input: timed.input === NATIVE.input.table ? NATIVE.input.none : timed.input,
        templates: [],
        readBack: -1,
        ...(timed.call === NATIVE.call.derive ? { parameter: { kind: NATIVE.parameter.none } } : {}),
      };
    }),
    cumulative: workload.cumulative,
    bufferBytes: OUTPUT_BUFFER_BYTES,
    keptBytes: keptOutputBytes(workload),
    keepEvery: 0,
    durationNs: Number(CALIBRATION_NS),
    sharedTotal: -1,
    recovery: false,
    unrecordedMaxNs: -1,
    ringBytes: RING_BYTES,
    schedule: null,
    jobs: [
      {
        session: NO_HANDLE,
        keys: workload.operations.map(() => NO_HANDLE),
        seed: Buffer.alloc(NATIVE.seedBytes),
        rows: workload.operations.map(() => []),
        aux: workload.operations.map(() => []),
        warmup: 0,
        firstSequence: 0,
        count: -1,
      },
    ],
  });
  const batch = newBatch(0, BATCH_CAPACITY, 0);
  const view = { state: new Int32Array(1), available: new Int32Array(1), callBeginNs: new Float64Array(1) };
  const drain = () => {
    do {
      batch.count = native.drain(loop, 0, batch);
      periodsOf(periods, batch);
    } while (batch.count === BATCH_CAPACITY);
  };
  try {
    native.release(loop, process.hrtime.bigint());
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
      native.states(loop, view);
      drain();
      if (view.state[0] === NATIVE.jobState.done) break;
    }
    drain();
  } finally {
    native.close(loop);
  }
}

async function calibrateThreads(periods: OverheadPeriods, workload: Workload): Promise<void> {
  const control = new RunControl(1);
  const nullCalls: LoopCalls = {
    call: () => 0,
    finish: () => 0,
    outputLength: null,
    connect: () => ({ ok: false, reason: 'error', detail: 'the calibration opens no session' }),
  };
  const staged = StagedBatch.create(0, BATCH_CAPACITY, 0);
  const free: CallBatch[] = [];
  control.release(process.hrtime.bigint());
  callLoop(
    {
      worker: 0,
      workload,
      messageSeed: Buffer.alloc(NATIVE.seedBytes),
      warmupCalls: 0,
      firstSequence: 0,
      stop: { callsPerToken: null, sharedSuccesses: null, durationNs: CALIBRATION_NS, schedule: null },
      calls: null,
      verifyEvery: 0,
      recovery: null,
      unrecordedMaxNs: null,
    },
    nullCalls,
    control,
    hrtimeClock(control),
    {
      staged,
      recycled: () => free.pop(),
      post: (m) => {
        if (m.type !== 'batch') return;
        periodsOf(periods, m.batch);
        control.recorded(0);
        free.push(m.batch);
      },
    },
  );
}
