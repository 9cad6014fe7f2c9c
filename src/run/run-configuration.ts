import { MESSAGE_BYTES } from '../model/message.js';
import type { Recovery, LoopWorkerMessage } from '../measure/call-loop.js';
import { SEED_BYTES } from '../model/message.js';
import type { StopWait } from '../model/run-events.js';
import { sessionCalls, sessionShare, type StopSpec } from '../model/stop.js';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HostStallMonitor } from '../measure/host-stall-monitor.js';
import { cpuSnapshot, cpuUseBetween, type CpuSnapshot } from '../measure/cpu-use.js';
import { setupError } from '../core/errors.js';
import { tokenName, type TokenRef } from '../pkcs11/discovery.js';
import type { HungSession, ModuleInstances } from '../model/run-result.js';
import type { PinGuard } from '../pkcs11/pin-guard.js';
import { RecordsFileWriter } from '../result/records-file.js';
import { intervalLogOf, IntervalLogWriter } from '../result/interval-log.js';
import { IntervalHistograms } from '../stats/interval-histograms.js';
import { ConfigurationStats } from '../stats/configuration-stats.js';
import type { Measured } from '../stats/summarize.js';
import type { HarnessFacts } from '../stats/harness-of-segments.js';
import { RunControl } from '../measure/control.js';
import { startNativeEngine, type EngineName } from '../measure/native-engine.js';
import type { InputTable, Workload } from '../model/workload.js';
import type { RecordsKept } from '../model/plan.js';
import { ConfigurationRecorder, type WorkerAssignment } from '../pipeline/recorder.js';
import { CheckThenRecord } from '../pipeline/check-then-record.js';
import { SpillFile } from '../result/spill-file.js';
import { VerifyPool } from '../pipeline/verify-pool.js';
import { CheckBacklog } from '../pipeline/check-backlog.js';
import { CALL_TIMEOUT_FLOOR_MS, CALL_TIMEOUT_SLOWEST_MULTIPLE, CallWatchdog, STOP_GRACE_MS, SETUP_STEP_TIMEOUT_MS } from '../measure/call-watchdog.js';
import { noteThreadLeftInModule } from '../measure/threads-left.js';
import type { Engine, EngineSpec, EngineStarter, SessionAssignment } from '../measure/engine.js';
import { startThreadsEngine } from '../measure/threads-engine.js';

/** A token ready for the run: its PIN accepted (by the main thread), and per operation of the workload its key and inputs. */
export interface ReadyToken {
  token: TokenRef;
  /** Per operation: the key pair's CKA_ID, with its label how each worker finds the key in its own session (empty: no key pair). */
  keyIds: Buffer[];
  /** Per operation: the inputs the token's calls take in turn, where the operation's input is a table. */
  tables: (InputTable | null)[];
  /** How long its slowest trial call took (ns; 0: none was made), the first bound on its calls. */
  trialCallNs: number;
}

/** Something that ended one worker's signing early, by token index (labels repeat) and thread. */
export interface WorkerIssue {
  token: number;
  thread: number;
  message: string;
}

/** What one configuration runs: N tokens × T threads, a stop rule, and where its records go. */
export interface ConfigurationSpec {
  modulePath: string;
  engine: EngineName;
  /** An engine of the caller's own instead of the one `engine` names: the tests' scripted engine, driven in milliseconds. */
  startEngine?: EngineStarter;
  instances: ModuleInstances;
  /** Called as soon as a token refuses the PIN mid-run (a burn-in writes it into its checkpoint at once). */
  onPinRefused?: () => void;
  /** Called as soon as a session is abandoned inside a call that did not return (the issue names it). */
  onHung?: (issue: WorkerIssue) => void;
  /** --call-timeout, or null: each token's calls bound its own (src/measure/call-watchdog.ts). */
  callTimeoutMs: number | null;
  /** After each write of records to the file: how many this configuration has written (a burn-in's checkpoint counts them). */
  onRecordsWritten?: (records: number) => void;
  /** The user PIN, for workers whose module instance is their own or whose token dropped its login. */
  pin: string | null;
  pinGuard: PinGuard;
  workload: Workload;
  /** Per operation of the workload: its host check data (src/operations/), for the verification threads. */
  hostChecks: unknown[];
  /** Operations whose outputs cannot be checked on the host (a mechanism as given): none of their calls is verified. */
  uncheckedOperations?: readonly string[];
  tokens: readonly ReadyToken[];
  threadsPerToken: number;
  warmupPerToken: number;
  verifyEvery: number;
  /** Threads of the verification stage. */
  verifyThreads: number;
  stop: StopSpec;
  recovery: Recovery | null;
  runDir: string;
  /** The configuration's name in its records (src/model/configuration.ts, configurationFiles). */
  configurationName: string;
  recordsFile: string;
  /** Statistics to extend (a burn-in watches them for its progress line and rebuilds them on resume). */
  stats?: ConfigurationStats;
  /** --records: which calls' records go to the file. */
  records: RecordsKept;
  /** Per (token, thread), the sequence of its next call, updated as calls are recorded (a burn-in's checkpoint keeps it). */
  nextSequenceByWorker?: number[];
  /** Given a flush of the records and of every interval so far, once they are open (a burn-in flushes before it snapshots its statistics). */
  onWriter?: (flush: () => void) => void;
  /** Given what the harness saw of itself so far in the window (a burn-in's checkpoint keeps it for a resume). */
  onHarness?: (soFar: () => HarnessFacts) => void;
  /** Burn-in resume: append to the records, continue each worker's sequence and the time axis. */
  resume?: { firstSequenceByWorker: number[]; startOffsetBaseUs: number };
  /**
   * Where batches wait whose verification fell behind, to be verified after the window (scale), or null: the
   * sessions wait for verification instead (burn-in, whose records on disk must be complete at every moment, for a
   * resume to count them).
   */
  spillFile: string | null;
  /**
   * Told when the calls spilled during the window are verified after it (`calls` to check): a backlog can take many
   * seconds, so progress says so, and `skip` records the rest unchecked instead (a Ctrl-C).
   */
  onVerifyingSpill?: (calls: number, skip: () => void) => void;
  /** --start-at: the start barrier opens at this moment (ms since the epoch), not before, once every session is ready. */
  releaseAtMs?: number;
}

/** A hung session as its issue says it: what happened, to which call, and what the bound was. */
function hungMessage(h: HungSession, givenTimeout: boolean): string {
  if (h.stage === 'session') {
    const bound = givenTimeout ? '--call-timeout' : `the set-up's bound, ${SETUP_STEP_TIMEOUT_MS / 1000} s`;
    return h.outcome === 'abandoned-at-stop'
      ? `opening its session (C_OpenSession, C_Login, finding its key) was still in flight ${h.inFlightS.toFixed(1)} s after it began, ${STOP_GRACE_MS / 1000} s into the stop; the session was abandoned`
      : `HUNG opening its session: C_OpenSession, C_Login or finding its key did not return within ${h.boundS} s (${bound}); the session was abandoned, and the others went on without it`;
  }
  if (h.stage === 'warm-up' && h.outcome === 'abandoned-at-stop') {
    return `a warm-up call was still in flight ${h.inFlightS.toFixed(1)} s after it began, ${STOP_GRACE_MS / 1000} s into the stop; the session was abandoned without waiting for it`;
  }
  if (h.outcome === 'abandoned-at-stop') {
    return `a call was still in flight ${h.inFlightS.toFixed(1)} s after it began, ${STOP_GRACE_MS / 1000} s into the stop; the session was abandoned without waiting for it (no outcome, not recorded)`;
  }
  const bound = givenTimeout ? '--call-timeout' : `${CALL_TIMEOUT_SLOWEST_MULTIPLE} × the token's slowest call, at least ${CALL_TIMEOUT_FLOOR_MS / 1000} s`;
  if (h.stage === 'warm-up') {
    return `HUNG in warm-up: a call did not return within ${h.boundS} s (${bound}); the session was abandoned before the measured window, which the others measured without it`;
  }
  return `HUNG: a call did not return within ${h.boundS} s (${bound}); it counts as failed (CALL_TIMED_OUT) and the session was abandoned`;
}

/** A configuration's measurement, as the stages produced it. */
export type ConfigurationRun = Measured;

/** Records reach the disk at least this often, whatever the signing rate. */
const RECORDS_FLUSH_MS = 1000;
/**
 * Without a spill file (a burn-in), a session makes no call while its oldest call not yet recorded ended this long
 * ago. A kill loses what was made and not written: the calls waiting for their host check, and the records since
 * the last flush. The run control bounds the batches in flight (8 a session), not their age: behind a host check
 * that fell behind, 8 batches of 256 calls (and the native loop's ring) were 7 s of a session's calls (8 SoftHSM2
 * tokens, P-256, on a loaded host). Held this way, a kill loses at most the calls of about the last
 * UNRECORDED_MAX_MS + RECORDS_FLUSH_MS (2 s) of each session's signing.
 */
const UNRECORDED_MAX_MS = 1000;
/** How often the watchdog looks at the calls in flight. */
const WATCH_MS = 100;

/**
 * Runs one configuration: one session per (token, thread), released together by the start barrier, on the engine
 * chosen for the module (a job of the native loop each, or a worker thread each). Batches go through verification
 * to the records file as they arrive.
 */
export async function runConfiguration(spec: ConfigurationSpec, control: RunControl, onProgress: (signaturesDone: number) => void): Promise<ConfigurationRun> {
  const T = spec.threadsPerToken;
  const assignments: WorkerAssignment[] = spec.tokens.flatMap((_, token) => Array.from({ length: T }, (_, thread) => ({ token, thread, messageSeed: randomBytes(SEED_BYTES) })));
  const writer = new RecordsFileWriter(join(spec.runDir, spec.recordsFile), spec.resume !== undefined, () => control.requestStop(), spec.onRecordsWritten);
  // Per-second latency histograms, written as their seconds pass: what the reports' charts are drawn from.
  const intervals = new IntervalHistograms();
  const intervalLog = new IntervalLogWriter(join(spec.runDir, intervalLogOf(spec.recordsFile)), spec.resume !== undefined);
  spec.onWriter?.(() => {
    writer.flush();
    intervalLog.write(intervals.take(true));
  });
  const closeRecords = () => {
    writer.close();
    intervalLog.write(intervals.take(true));
    intervalLog.close();
  };
  const stats =
    spec.stats ??
    new ConfigurationStats(
      spec.tokens.length,
      spec.workload.operations.map((op) => op.name),
    );
  const recorder = new ConfigurationRecorder(
    spec.configurationName,
    assignments,
    writer,
    stats,
    spec.workload.operations.map((op) => op.name),
    spec.resume?.startOffsetBaseUs ?? 0,
    spec.records,
    spec.nextSequenceByWorker,
    intervals,
  );
  const pool = new VerifyPool(spec.verifyEvery > 0 ? spec.verifyThreads : 0, {
    operations: spec.workload.operations.map((op, i) => ({ name: op.name, data: spec.hostChecks[i], dataBytes: op.payload?.dataBytes ?? MESSAGE_BYTES })),
    messageSeeds: assignments.map((a) => a.messageSeed),
    workerTokens: assignments.map((a) => a.token),
  });
  const backlog = new CheckBacklog();
  control.checkLagS = () => backlog.lagS();
  // The longest the main thread kept its event loop waiting (signals, timers, progress) during the configuration.
  const stalls = monitorEventLoopDelay({ resolution: 10 });
  stalls.enable();
  const hostStalls = new HostStallMonitor();
  // The host's stalls within the window, to `untilNs`, and the CPUs' use since it opened: once signing has ended, to
  // its deadline (a stall across it kept calls from starting) or to when the sessions ended.
  // On the run's time axis, as the records are (a resumed burn-in's axis goes on from its earlier segments).
  const baseUs = spec.resume?.startOffsetBaseUs ?? 0;
  const onAxisUs = (ns: number | bigint) => (control.windowStartNs() === 0n ? baseUs : baseUs + (Number(ns) - Number(control.windowStartNs())) / 1000);
  const harnessUntil = (untilNs: bigint): HarnessFacts => {
    const windowStartNs = control.windowStartNs();
    const onAxis = (windowStartNs === 0n ? [] : hostStalls.within(windowStartNs, untilNs)).map((h) => ({ startUs: onAxisUs(h.startNs), endUs: onAxisUs(h.endNs) }));
    const hostStallUs = onAxis.reduce((longest, h) => Math.max(longest, h.endUs - h.startUs), 0);
    return {
      harnessUntilUs: onAxisUs(untilNs),
      hostStalls: onAxis,
      ...(hostStallUs > 0 ? { hostStallUs } : {}),
      maxEventLoopStallMs: stalls.max / 1e6,
      ...(cpuAtStart === undefined ? {} : { cpu: cpuUseBetween(cpuAtStart, cpuSnapshot()) }),
    };
  };
  spec.onHarness?.(() => harnessUntil(process.hrtime.bigint()));
  const workerIssues: WorkerIssue[] = [];
  const hungSessions: HungSession[] = [];
  /** Per session, when it stopped trying to get its failing token back (it gave up, or the run ended meanwhile). */
  const failingUntilNs = new Map<number, bigint>();
  const watchdog = new CallWatchdog(
    spec.callTimeoutMs,
    spec.tokens.map((t) => t.trialCallNs),
  );
  const setupFailures: string[] = [];
  const setupStartNs = process.hrtime.bigint();
  let setupS: number | undefined;
  /**
   * The start barrier opens once every worker is at it or gone before it (hung in warm-up, crashed, gave up): one
   * session that never gets there must not cost the others their window.
   */
  const atBarrier = new Set<number>();
  let released = false;
  // The CPUs' times as the window opens: what ran during it is told against them when the signers have ended.
  let cpuAtStart: CpuSnapshot | undefined;
  // The window's start by the host's clock: where runs of several hosts overlap.
  let windowStartedAtMs: number | undefined;
  let releaseTimer: NodeJS.Timeout | undefined;
  // Sessions, threads and warm-up: until every session was ready (a wait for --start-at is not set-up).
  let readyS = 0;
  const release = () => {
    const startNs = process.hrtime.bigint();
    setupS = readyS;
    windowStartedAtMs = Date.now();
    cpuAtStart = cpuSnapshot();
    control.release(startNs);
    engine!.released(startNs);
  };
  const reachedBarrier = (worker: number) => {
    atBarrier.add(worker);
    if (released || atBarrier.size < assignments.length) return;
    released = true;
    readyS = Number(process.hrtime.bigint() - setupStartNs) / 1e9;
    // With --start-at the ready sessions wait at the barrier for the agreed moment (a stop ends their wait).
    if (spec.releaseAtMs === undefined || Date.now() >= spec.releaseAtMs) release();
    else releaseWhenDue(spec.releaseAtMs);
  };
  // A timer may fire a millisecond before Date.now() reaches its end (timers run on the monotonic clock): it waits again.
  const releaseWhenDue = (atMs: number) => {
    if (control.stopRequested()) return;
    const leftMs = atMs - Date.now();
    if (leftMs > 0) releaseTimer = setTimeout(() => releaseWhenDue(atMs), leftMs);
    else release();
  };
  const flushTimer = setInterval(() => {
    writer.flush();
    intervalLog.write(intervals.take());
  }, RECORDS_FLUSH_MS);

  const sessions: SessionAssignment[] = assignments.map((a, worker) => {
    const ready = spec.tokens[a.token]!;
    return {
      token: a.token,
      thread: a.thread,
      slot: ready.token.slot,
      pin: ready.token.loginRequired ? spec.pin : null,
      keyIds: ready.keyIds,
      tables: ready.tables,
      messageSeed: a.messageSeed,
      warmup: sessionShare(spec.warmupPerToken, T, a.thread),
      firstSequence: spec.resume?.firstSequenceByWorker[worker] ?? 0,
      calls: sessionCalls(spec.stop, T, a.thread),
    };
  });
  let engine: Engine | undefined;
  const batches = new CheckThenRecord(
    assignments.length,
    {
      verifier: pool,
      record: (batch) => recorder.add(batch),
      spill: spec.spillFile === null ? null : new SpillFile(join(spec.runDir, spec.spillFile)),
      backlog,
    },
    {
      released: (worker, batch) => {
        if (batch) engine!.recycle(worker, batch);
        control.recorded(worker);
      },
      progress: onProgress,
      failed: () => control.requestStop(),
    },
  );
  control.callsUnrecorded = () => batches.callsChecking;
  const workerName = (a: WorkerAssignment) => `token ${tokenName(spec.tokens[a.token]!.token)}${T > 1 ? ` thread ${a.thread}` : ''}`;
  const onMessage = (worker: number, m: LoopWorkerMessage) => {
    const a = assignments[worker]!;
    const where = workerName(a);
    if (m.type === 'batch') {
      const batch = m.batch;
      watchdog.observeBatch(a.token, batch);
      batches.take(batch);
    } else if (m.type === 'ready') {
      reachedBarrier(worker);
    } else if (m.type === 'failed') {
      setupFailures.push(`${where}: ${m.message}`);
      control.requestStop();
    } else if (m.type === 'pin-refused') {
      spec.onPinRefused?.();
    } else if (m.type === 'failing-until') {
      failingUntilNs.set(worker, m.atNs);
    } else {
      if (m.gaveUp) {
        workerIssues.push({ token: a.token, thread: a.thread, message: m.gaveUp });
        control.sessionLost(worker);
      } else control.sessionDone(worker);
      // Ended before the barrier opened: the others do not wait for it.
      reachedBarrier(worker);
    }
  };
  const engineSpec: EngineSpec = {
    modulePath: spec.modulePath,
    instances: spec.instances,
    pinGuard: spec.pinGuard,
    workload: spec.workload,
    verifyEvery: spec.verifyEvery,
    recovery: spec.recovery,
    unrecordedMaxNs: spec.spillFile === null ? UNRECORDED_MAX_MS * 1e6 : null,
    stop: spec.stop,
  };
  engine = (spec.startEngine ?? (spec.engine === 'native' ? startNativeEngine : startThreadsEngine))(engineSpec, sessions, control, onMessage);
  // The watchdog: a call in flight past its bound is timed out and its session abandoned; once the run is stopping,
  // a call still in flight after the grace is abandoned too, so that nothing holds the run's end.
  let lastAbandonedNs: bigint | null = null;
  const workerTokens = assignments.map((a) => a.token);
  const watch = setInterval(() => {
    const nowNs = process.hrtime.bigint();
    for (const { worker, connecting, inFlightMs, boundMs, outcome } of watchdog.sweep(nowNs, control.stopRequested(), workerTokens, engine!)) {
      const a = assignments[worker]!;
      control.sessionLost(worker);
      lastAbandonedNs = nowNs;
      noteThreadLeftInModule();
      // Before the barrier opened, every call is a warm-up call.
      const stage = connecting ? 'session' : released ? undefined : 'warm-up';
      const hung: HungSession = { token: a.token, thread: a.thread, inFlightS: Math.round(inFlightMs) / 1000, boundS: boundMs / 1000, outcome, ...(stage ? { stage } : {}) };
      hungSessions.push(hung);
      const issue = { token: a.token, thread: a.thread, message: hungMessage(hung, spec.callTimeoutMs !== null) };
      workerIssues.push(issue);
      spec.onHung?.(issue);
      reachedBarrier(worker);
    }
  }, WATCH_MS);
  // What a stop waits for, as the first Ctrl-C says it: calls in flight (bounded by the watchdog's grace), then the
  // host check and recording of what was made.
  control.describeWait = (): StopWait => {
    const nowNs = process.hrtime.bigint();
    const inFlight = assignments
      .map((a, worker) => ({ a, sinceNs: watchdog.isAbandoned(worker) ? null : (engine!.connectingSince(worker) ?? engine!.inFlightSince(worker)) }))
      .filter((c): c is { a: WorkerAssignment; sinceNs: bigint } => c.sinceNs !== null)
      .sort((x, y) => (x.sinceNs < y.sinceNs ? -1 : 1));
    const longest = inFlight[0];
    return {
      inFlight: longest ? { calls: inFlight.length, longestS: Number(nowNs - longest.sinceNs) / 1e9, session: workerName(longest.a), graceS: STOP_GRACE_MS / 1000 } : null,
      checkingBatches: batches.checking,
      keptForAfter: batches.keptForAfter,
    };
  };
  try {
    await engine.ended;
  } catch (error) {
    clearTimeout(releaseTimer);
    clearInterval(watch);
    clearInterval(flushTimer);
    stalls.disable();
    hostStalls.stop();
    closeRecords();
    await pool.close();
    throw error;
  }
  clearTimeout(releaseTimer);
  clearInterval(watch);
  const windowStartNs = control.windowStartNs();
  const endedNs = process.hrtime.bigint();
  const watchedUntilNs = spec.stop.durationNs === null ? endedNs : [endedNs, windowStartNs + spec.stop.durationNs].reduce((a, b) => (a < b ? a : b));
  const harness = harnessUntil(watchedUntilNs);
  hostStalls.stop();
  if (lastAbandonedNs !== null && spec.stop.durationNs !== null && setupS !== undefined) {
    // A hung session was waited for: the window lasts to the deadline, the stop, or the last session given up, whichever
    // came first (every session may have hung before it), and never to the time spent waiting for one past that.
    const startNs = control.windowStartNs();
    const untilNs = [startNs + spec.stop.durationNs, control.stopRequestedAtNs ?? lastAbandonedNs, lastAbandonedNs].reduce((a, b) => (a < b ? a : b));
    stats.windowLastsUntil((spec.resume?.startOffsetBaseUs ?? 0) + Number(untilNs - startNs) / 1000);
  }
  // The window is over: spilled batches are verified and recorded now, each after what its session had in flight.
  const late = await batches.afterWindow(spec.onVerifyingSpill);
  // Every record is counted: a session that ended while waiting or reconnecting for its failing token kept its token
  // failing to then. A session that gave up ended there; one the run's end stopped, at the deadline or the stop (it
  // may notice them a back-off later), or, at a shared total, when the others made it (their last call).
  const runEndUs = [spec.stop.durationNs === null ? null : control.windowStartNs() + spec.stop.durationNs, control.stopRequestedAtNs ?? null].filter((ns): ns is bigint => ns !== null).map(onAxisUs);
  const gaveUp = new Set(workerIssues.map((i) => `${i.token}/${i.thread}`));
  for (const [worker, atNs] of failingUntilNs) {
    const a = assignments[worker]!;
    const untilUs = gaveUp.has(`${a.token}/${a.thread}`) ? onAxisUs(atNs) : Math.min(onAxisUs(atNs), ...(runEndUs.length > 0 ? runEndUs : [stats.windowEndUs]));
    stats.failingUntil(a.token, untilUs);
  }
  // From the end of the sessions (each posted its last batch before it ended), not from the last batch: a token that
  // failed and was reconnected to the end posted none for a while, and that time was signing time, not a lag.
  const verificationLagS = Number(process.hrtime.bigint() - endedNs) / 1e9;
  stalls.disable();
  await pool.close();
  clearInterval(flushTimer);
  closeRecords();
  if (writer.failure) throw writer.failure;
  if (batches.spillFailure) throw batches.spillFailure;
  if (pool.failure) throw new Error(`a verification thread failed: ${pool.failure.message}`);
  if (setupFailures.length > 0) throw setupError(`the run could not start: ${setupFailures.join('; ')}`);
  // Successes of an operation the host cannot check were made and never checked: unverified, every one.
  const uncheckedOk = (spec.uncheckedOperations ?? []).reduce((n, name) => n + (stats.byOperation.get(name)?.operationsOk ?? 0) - (stats.byOperation.get(name)?.operationsVerified ?? 0), 0);
  return {
    recordsFile: spec.recordsFile,
    stats,
    workerIssues,
    hungSessions,
    verificationLagS,
    ...harness,
    // The segment ended: its facts cover every record it wrote.
    harnessUntilUs: Math.max(onAxisUs(endedNs), stats.windowEndUs),
    // To the end of verification: a stall of the main thread then could have delayed records too.
    maxEventLoopStallMs: stalls.max / 1e6,
    setupS,
    ...(windowStartedAtMs === undefined ? {} : { windowStartedAt: new Date(windowStartedAtMs).toISOString() }),
    operationsVerifiedLate: late.verifiedLate,
    ...(late.unverified + uncheckedOk > 0 ? { operationsUnverified: late.unverified + uncheckedOk } : {}),
  };
}
