import { NATIVE } from '../core/native-abi.js';
import { loadAddon, type NativePart } from '../core/native-addon.js';
import { BATCH_CAPACITY, newBatch, type CallBatch } from '../model/call-batch.js';
import { Connector } from './connector.js';
import type { RunControl } from './control.js';
import { keptOutputBytes, nativeTimedCall, OUTPUT_BUFFER_BYTES, type NativeTimedCall, type Workload } from '../model/workload.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import { gaveUpWords } from './failure-limit.js';
import type { LoopWorkerMessage } from './call-loop.js';
import type { Engine, EngineSpec, SessionAssignment } from './engine.js';

/** A job's session and key handles (one per operation), as pkcs11js gives them. */
interface JobHandles {
  session: Buffer;
  keys: Buffer[];
}

/**
 * What start() takes (native/timed-loop.c reads every field by name and refuses one missing or of another type).
 * -1 stands for none in durationNs, sharedTotal, schedule.calls and a job's count.
 */
export interface NativeLoopSpec {
  operations: NativeTimedCall[];
  cumulative: number[];
  bufferBytes: number;
  keptBytes: number;
  keepEvery: number;
  durationNs: number;
  sharedTotal: number;
  recovery: boolean;
  ringBytes: number;
  /** A job makes no call while its oldest call not yet recorded ended this long ago (ns); -1: no bound. */
  unrecordedMaxNs: number;
  schedule: { intervalNs: number; calls: number } | null;
  jobs: (JobHandles & { seed: Buffer; rows: Buffer[][]; aux: Buffer[][]; warmup: number; firstSequence: number; count: number })[];
}

/** Where each job is, one element per job (states() fills it). */
interface JobsView {
  state: Int32Array;
  available: Int32Array;
  callBeginNs: Float64Array;
}

/** native/timed-loop.c, built by `npm install` (node-gyp). */
export interface NativeLoop {
  start(modulePath: string, spec: NativeLoopSpec): unknown;
  release(loop: unknown, startNs: bigint): void;
  stop(loop: unknown): void;
  states(loop: unknown, view: JobsView): void;
  /** Moves the job's records into the batch's arrays (by name); their count. */
  drain(loop: unknown, job: number, batch: CallBatch): number;
  parkedSince(loop: unknown, job: number): bigint;
  resume(loop: unknown, job: number, handles: JobHandles | null): void;
  /** The oldest batch drained from the job is recorded (a job held back for it looks again). */
  recorded(loop: unknown, job: number): void;
  /** A NATIVE.gaveUp code. */
  gaveUp(loop: unknown, job: number): number;
  close(loop: unknown): void;
  abandon(loop: unknown, job: number, nowNs: bigint, record: boolean): boolean;
  exitNow(code: number): never;
  /**
   * The C computations the worker threads have JS twins of (the message and its recipes, the mix draw, the
   * schedule's intended start), exposed only for test/native-parity.test.ts, which compares the two bit for bit.
   */
  twins: {
    input(args: { seed: Buffer; input: number; sequence: number }): Buffer;
    pick(args: { cumulative: readonly number[]; seed: Buffer; sequence: number }): number;
    intendedOffsetNs(args: { intervalNs: number; k: number }): bigint;
  };
}

const { warming: JOB_WARMING, parked: JOB_PARKED, done: JOB_DONE, abandoned: JOB_ABANDONED } = NATIVE.jobState;
/** How often the main thread looks at the rings: a stop reaches the loop within this. */
const TICK_MS = 10;
/** A ring is drained into a batch once it holds a batch or its oldest waited this long, as a worker thread posts. */
const BATCH_MAX_AGE_NS = 100_000_000n;
/**
 * A ring that holds this many records when drained (a session calling millions of times a second, keeping no output
 * for the host check) goes in batches of this size: the main thread's cost per batch (the drain's hand-over, the
 * spill file's write) was a third of its time at 4 M calls/s in batches of BATCH_CAPACITY. Only so many: at most
 * 8 batches per session in flight (the run control's bound), ~1 MB.
 */
const LARGE_BATCH_CAPACITY = 4096;
/** Memory for all rings together; each job's ring holds at least a batch and a half. */
export const RING_BYTES = 32 * 1024 * 1024;

let loaded: NativePart<NativeLoop> | undefined;

/** The native loop, or why not: not built (no compiler or OpenSSL headers at install), or built from other sources. */
export function nativeLoopPart(): NativePart<NativeLoop> {
  loaded ??= loadAddon<NativeLoop>('timed_loop');
  return loaded;
}

export const nativeLoop = (): NativeLoop | null => nativeLoopPart().part;

export type EngineName = 'native' | 'threads';

export interface EngineChoice {
  engine: EngineName;
  /** Why this engine, as run.json's harness says it. */
  why: string;
  /** The native loop would have run the calls, but its build is stale: refused (the run says so, once). */
  staleNativeLoop?: boolean;
}

/**
 * The native loop calls in the sessions of the main thread's module instance, so it serves modules whose loads
 * share one instance; a module whose every load is an instance of its own (p11-kit's client) gets worker threads,
 * each initializing and logging in its own. HSM_BENCH_ENGINE=threads forces the threads engine (for comparison).
 */
export function chooseEngine(instances: 'shared' | 'per-load', workload: Workload): EngineChoice {
  if (process.env.HSM_BENCH_ENGINE === 'threads') return { engine: 'threads', why: 'HSM_BENCH_ENGINE=threads' };
  if (instances !== 'shared') return { engine: 'threads', why: 'each load of the module is an instance of its own' };
  if (workload.perCall?.session || workload.perCall?.findKey) {
    return { engine: 'threads', why: 'the native loop opens no session and finds no key per call (--session-per-call, --find-key-per-call)' };
  }
  const asGiven = workload.operations.find((op) => op.unchecked);
  if (asGiven) return { engine: 'threads', why: `the native loop makes only mechanisms hsm-bench knows (${asGiven.mechanism.name} was given as is)` };
  if (workload.operations.some((op) => op.payload !== undefined)) {
    return { engine: 'threads', why: 'the native loop hands each call its 32-byte message in one call (--data-size, --multipart)' };
  }
  const native = nativeLoopPart();
  if (native.part === null) return { engine: 'threads', why: `no native loop: ${native.why}`, staleNativeLoop: native.stale };
  return { engine: 'native', why: 'module instance shared by every load' };
}

interface Job {
  /** The session and keys the job calls with, as the connector thread opened them. */
  handles: JobHandles | null;
  /** Batches recorded and sent back, of BATCH_CAPACITY and of LARGE_BATCH_CAPACITY calls. */
  free: CallBatch[];
  freeLarge: CallBatch[];
  nextSequence: number;
  lastDrainNs: bigint;
  readySeen: boolean;
  doneSeen: boolean;
  recovering: boolean;
  backoff: ReconnectBackoff | null;
  gaveUp?: string;
}

/** A batch back to its job's pool of its size. */
const recycle = (job: Job, batch: CallBatch) => (batch.status.length === LARGE_BATCH_CAPACITY ? job.freeLarge : job.free).push(batch);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The session and key handles of a job that has no session: it makes no call. */
const NO_HANDLE = Buffer.alloc(8);

/**
 * The native engine: sessions opened, logged in and keyed by the connector thread (TokenConnection, through the PIN
 * guard), the timed loop in native threads, the rings drained every 10 ms into the same batches the worker threads
 * post. A job that fails in a burn-in parks; it is reconnected here, with the same backoff and give-up rule as a
 * worker thread's, and resumed with its new session.
 */
export function startNativeEngine(spec: EngineSpec, assignments: readonly SessionAssignment[], control: RunControl, onMessage: (worker: number, m: LoopWorkerMessage) => void): Engine {
  const native = nativeLoop()!;
  const keepsOutputs = spec.verifyEvery > 0;
  const keptBytes = keptOutputBytes(spec.workload);
  const jobs: Job[] = assignments.map((a) => ({
    handles: null,
    free: [],
    freeLarge: [],
    nextSequence: a.firstSequence,
    lastDrainNs: 0n,
    readySeen: false,
    doneSeen: false,
    recovering: false,
    backoff: spec.recovery === null ? null : new ReconnectBackoff(spec.recovery.giveUpAfterMs),
  }));
  // Sessions are opened, reopened and closed in a thread of their own: a token slow to give one never stalls
  // the draining of the others' rings (nor Ctrl-C and progress).
  const connector = new Connector({
    modulePath: spec.modulePath,
    pinGuard: spec.pinGuard.buffer,
    keys: spec.workload.operations.map((op) => op.key),
    jobs: assignments.map((a) => ({ token: a.token, slot: a.slot, pin: a.pin, keyIds: a.keyIds })),
  });
  /** Jobs abandoned inside a call: their sessions stay open, a thread is still in them. */
  const abandoned = new Set<number>();
  const closeAll = () => connector.close([...abandoned]);
  let loop: unknown;
  /** The loop was closed: its jobs have ended, and no longer hear of their batches recorded. */
  let closed = false;

  /**
   * A session for every job before the loop starts; the first refusal stops the run. A job whose session did not
   * come in time (the watchdog abandoned it, and named it) has none: it starts with nothing to do.
   */
  const connectAll = async (): Promise<boolean> => {
    for (const [worker, job] of jobs.entries()) {
      if (control.stopRequested()) return false;
      const outcome = await connector.connect(worker);
      if (!outcome.ok && outcome.reason === 'hung') continue;
      if (!outcome.ok) {
        if (outcome.reason === 'pin-refused') onMessage(worker, { type: 'pin-refused' });
        onMessage(worker, { type: 'failed', message: outcome.detail });
        control.requestStop();
        return false;
      }
      job.handles = { session: outcome.session, keys: outcome.keys };
    }
    return true;
  };

  const startLoop = () =>
    native.start(spec.modulePath, {
      operations: spec.workload.operations.map(nativeTimedCall),
      cumulative: spec.workload.cumulative,
      bufferBytes: OUTPUT_BUFFER_BYTES,
      keptBytes,
      keepEvery: spec.verifyEvery,
      durationNs: spec.stop.durationNs === null ? -1 : Number(spec.stop.durationNs),
      sharedTotal: spec.stop.sharedSuccesses ?? -1,
      recovery: spec.recovery !== null,
      unrecordedMaxNs: spec.unrecordedMaxNs ?? -1,
      ringBytes: RING_BYTES,
      schedule: spec.stop.schedule === null ? null : { intervalNs: spec.stop.schedule.intervalNs, calls: spec.stop.schedule.calls ?? -1 },
      jobs: assignments.map((a, i) => ({
        session: jobs[i]!.handles?.session ?? NO_HANDLE,
        keys: jobs[i]!.handles?.keys ?? spec.workload.operations.map(() => NO_HANDLE),
        seed: a.messageSeed,
        rows: a.tables.map((t) => t?.rows.map((r) => Buffer.from(r)) ?? []),
        aux: a.tables.map((t) => t?.aux?.map((r) => Buffer.from(r)) ?? []),
        warmup: jobs[i]!.handles === null ? 0 : a.warmup,
        firstSequence: a.firstSequence,
        count: jobs[i]!.handles === null ? 0 : (a.calls ?? -1),
      })),
    });
  const view: JobsView = { state: new Int32Array(jobs.length), available: new Int32Array(jobs.length), callBeginNs: new Float64Array(jobs.length) };
  let startNs: bigint | null = null;
  let successes = 0;

  /** The run's own end comes first: a stop, the deadline, or the shared total made by the others. */
  const runOver = () =>
    control.stopRequested() ||
    (startNs !== null && spec.stop.durationNs !== null && process.hrtime.bigint() >= startNs + spec.stop.durationNs) ||
    (spec.stop.sharedSuccesses !== null && successes >= spec.stop.sharedSuccesses);

  const recover = async (worker: number, job: Job) => {
    job.recovering = true;
    control.reconnectBegins(worker);
    try {
      await reconnect(worker, job);
    } finally {
      control.reconnectEnds(worker);
    }
  };
  const reconnect = async (worker: number, job: Job) => {
    job.backoff!.failed(native.parkedSince(loop, worker));
    for (;;) {
      if (runOver()) break;
      const next = job.backoff!.next(process.hrtime.bigint());
      if ('gaveUp' in next) {
        job.gaveUp = next.gaveUp;
        break;
      }
      await sleep(next.waitMs);
      if (runOver()) break;
      const outcome = await connector.connect(worker);
      if (outcome.ok) {
        control.reconnected(worker);
        job.recovering = false;
        native.resume(loop, worker, { session: outcome.session, keys: outcome.keys });
        return;
      }
      // Abandoned by the watchdog, which named it (a hung session): the job ends, and the run counts it lost.
      if (outcome.reason === 'hung') {
        job.recovering = false;
        native.resume(loop, worker, null);
        return;
      }
      if (outcome.reason === 'pin-refused') onMessage(worker, { type: 'pin-refused' });
      // A PIN refused, or withheld by the token's flags (one more wrong PIN locks it), is final for this run.
      if (outcome.reason === 'pin-refused' || outcome.reason === 'pin-withheld') {
        job.gaveUp = outcome.detail;
        break;
      }
    }
    // As a worker thread's loop says it (src/measure/call-loop.ts): the time the job waited and reconnected in vain.
    onMessage(worker, { type: 'failing-until', atNs: process.hrtime.bigint() });
    job.recovering = false;
    native.resume(loop, worker, null);
  };

  /** Moves the job's records into batches for the stages; false if some had to stay (the recorder is behind). */
  const drain = (worker: number, job: Job, available: number): boolean => {
    for (;;) {
      if (!control.tryPost(worker)) return false;
      const large = !keepsOutputs && available >= LARGE_BATCH_CAPACITY;
      const batch = large ? (job.freeLarge.pop() ?? newBatch(worker, LARGE_BATCH_CAPACITY, 0)) : (job.free.pop() ?? newBatch(worker, BATCH_CAPACITY, keepsOutputs ? keptBytes : 0));
      batch.verified.fill(0);
      batch.firstSequence = job.nextSequence;
      batch.count = native.drain(loop, worker, batch);
      if (batch.count === 0) {
        recycle(job, batch);
        control.recorded(worker);
        return true;
      }
      job.nextSequence += batch.count;
      for (let i = 0; i < batch.count; i++) {
        if (batch.status[i] === 0) {
          successes++;
          job.backoff?.succeeded();
        }
      }
      onMessage(worker, { type: 'batch', batch });
      if (batch.count < batch.status.length) return true;
      available -= batch.count;
    }
  };

  const run = async (): Promise<void> => {
    try {
      if (!(await connectAll())) {
        await closeAll();
        return;
      }
      loop = startLoop();
    } catch (error) {
      await closeAll();
      throw error;
    }
    let tick: NodeJS.Timeout;
    await new Promise<void>((resolve) => {
      tick = setInterval(() => {
        if (control.stopRequested()) native.stop(loop);
        native.states(loop, view);
        const nowNs = process.hrtime.bigint();
        let done = 0;
        for (const [worker, job] of jobs.entries()) {
          const state = view.state[worker]!;
          const available = view.available[worker]!;
          // A parked job has failed: its records go at once, so the records on disk see a failing token without delay.
          if (available >= BATCH_CAPACITY || state === JOB_PARKED || (available > 0 && nowNs - job.lastDrainNs >= BATCH_MAX_AGE_NS)) {
            if (drain(worker, job, available)) job.lastDrainNs = nowNs;
          }
          if (!job.readySeen && state !== JOB_WARMING && state !== JOB_ABANDONED) {
            job.readySeen = true;
            onMessage(worker, { type: 'ready' });
          }
          if (state === JOB_PARKED && !job.recovering) void recover(worker, job);
          // Its last records first: a job is done once it says so (or was abandoned) and its ring is empty after that.
          if ((state === JOB_DONE || state === JOB_ABANDONED) && !job.doneSeen && drain(worker, job, available)) {
            job.doneSeen = true;
            onMessage(worker, { type: 'done', gaveUp: job.gaveUp ?? gaveUpWords(native.gaveUp(loop, worker)) });
          }
          if (job.doneSeen) done++;
        }
        // A reconnect still waiting out its backoff holds the loop open: it would resume a job of a closed loop.
        if (done === jobs.length && !jobs.some((j) => j.recovering)) {
          clearInterval(tick);
          native.close(loop);
          closed = true;
          resolve();
        }
      }, TICK_MS);
    });
    await closeAll();
  };
  return {
    ended: run(),
    released: (at) => {
      startNs = at;
      native.release(loop, at);
    },
    recycle: (worker, batch) => {
      // A job held back while its oldest batch waited for the host check looks again (only a burn-in holds jobs: a
      // scale run spends no lock and wake-up per batch on it).
      if (!closed && spec.unrecordedMaxNs !== null) native.recorded(loop, worker);
      recycle(jobs[worker]!, batch);
    },
    inFlightSince: (worker) => (loop === undefined || jobs[worker]!.doneSeen || view.callBeginNs[worker] === 0 ? null : BigInt(view.callBeginNs[worker]!)),
    connectingSince: (worker) => connector.connectingSince(worker),
    abandonConnect: (worker) => connector.abandon(worker),
    abandon: (worker, record) => {
      if (loop === undefined || jobs[worker]!.doneSeen || !native.abandon(loop, worker, process.hrtime.bigint(), record)) return false;
      abandoned.add(worker);
      return true;
    },
  };
}
