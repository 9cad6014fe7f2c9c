import { randomBytes, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MessageChannel, Worker } from 'node:worker_threads';
import { setupError } from '../errors.js';
import { tokenName, type TokenRef } from '../pkcs11/discovery.js';
import type { ModuleInstances } from '../pkcs11/module.js';
import type { PinGuard } from '../pkcs11/pin-guard.js';
import type { SignMechanism } from '../pkcs11/mechanisms.js';
import { RecordsCsvWriter } from '../record/records-csv.js';
import { ConfigurationStats } from '../stats/configuration-stats.js';
import { transferList } from './batch.js';
import { RunControl } from './control.js';
import { ConfigurationRecorder, type WorkerAssignment } from './recorder.js';
import { RecordingQueue } from './recording-queue.js';
import { VerifyPool } from '../verify/verify-pool.js';
import type { Recovery, SignWorkerInput, SignWorkerMessage } from './sign-worker.js';

/** A token ready to sign: its PIN accepted (by the main thread), its key pair found and its public key imported. */
export interface ReadyToken {
  token: TokenRef;
  /** The key's CKA_ID: with its label, how each worker finds the private key in its own session. */
  keyId: Buffer;
  publicKey: KeyObject;
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
  instances: ModuleInstances;
  /** Called as soon as a token refuses the PIN mid-run (a burn-in writes it into its checkpoint at once). */
  onPinRefused?: () => void;
  /** The user PIN, for workers whose module instance is their own or whose token dropped its login. */
  pin: string | null;
  pinGuard: PinGuard;
  keyLabel: string;
  mechanism: SignMechanism;
  tokens: readonly ReadyToken[];
  threadsPerToken: number;
  warmupPerToken: number;
  verifyEvery: number;
  /** Threads of the verification stage. */
  verifyThreads: number;
  stop: { perTokenSignatures: number | null; sharedTotal: number | null; durationNs: bigint | null };
  recovery: Recovery | null;
  runDir: string;
  recordsFile: string;
  /** Statistics to extend (a burn-in watches them for its progress line and rebuilds them on resume). */
  stats?: ConfigurationStats;
  /** Burn-in resume: append to the records, continue each worker's sequence and the time axis. */
  resume?: { firstSequenceByWorker: number[]; startOffsetBaseUs: number };
}

export interface ConfigurationRun {
  tokenCount: number;
  recordsFile: string;
  stats: ConfigurationStats;
  workerIssues: WorkerIssue[];
  /** How long verification and recording went on after the last batch arrived from the signers. */
  verificationLagS?: number;
  maxEventLoopStallMs?: number;
}

const WORKER_URL = new URL('./sign-worker.js', import.meta.url);
/** Records reach the disk at least this often, whatever the signing rate. */
const RECORDS_FLUSH_MS = 2000;

/** Splits a per-token count over the token's threads; the first threads take the remainder. */
const share = (total: number, parts: number, index: number) => Math.floor(total / parts) + (index < total % parts ? 1 : 0);

/**
 * Runs one configuration: one worker per (token, thread), each with its own session, released together by the
 * start barrier. Records stream to the records file as batches arrive.
 */
export async function runConfiguration(spec: ConfigurationSpec, control: RunControl, onProgress: (signaturesDone: number) => void): Promise<ConfigurationRun> {
  const T = spec.threadsPerToken;
  const assignments: WorkerAssignment[] = spec.tokens.flatMap((_, token) => Array.from({ length: T }, (_, thread) => ({ token, thread, messageSeed: randomBytes(24) })));
  const writer = new RecordsCsvWriter(join(spec.runDir, spec.recordsFile), spec.resume !== undefined, () => control.requestStop());
  const stats = spec.stats ?? new ConfigurationStats(spec.tokens.length);
  const recorder = new ConfigurationRecorder(spec.tokens.length, assignments, writer, stats, spec.resume?.startOffsetBaseUs ?? 0);
  const pool = new VerifyPool(spec.verifyEvery > 0 ? spec.verifyThreads : 0, {
    publicKeys: spec.tokens.map((t) => t.publicKey),
    mechanism: spec.mechanism,
    messageSeeds: assignments.map((a) => a.messageSeed),
    workerTokens: assignments.map((a) => a.token),
  });
  // Per signing worker, the batches still being verified, chained: they reach the records in the order they were
  // made (a batch with nothing to verify must not overtake one that is being verified), so a crash only cuts the end.
  const verifying: Promise<void>[] = assignments.map(() => Promise.resolve());
  let lastBatchNs = process.hrtime.bigint();
  // The longest the main thread kept its event loop waiting (signals, timers, progress) during the configuration.
  const stalls = monitorEventLoopDelay({ resolution: 10 });
  stalls.enable();
  const workerIssues: WorkerIssue[] = [];
  const setupFailures: string[] = [];
  let ready = 0;
  let recorded = 0;
  const flushTimer = setInterval(() => writer.flush(), RECORDS_FLUSH_MS);
  const queue = new RecordingQueue((batch) => recorder.add(batch));

  const startWorker = (a: WorkerAssignment, worker: number): Promise<void> => {
    const recycle = new MessageChannel();
    const input: SignWorkerInput = {
      worker,
      modulePath: spec.modulePath,
      instances: spec.instances,
      token: a.token,
      slot: spec.tokens[a.token]!.token.slot,
      pin: spec.tokens[a.token]!.token.loginRequired ? spec.pin : null,
      pinGuard: spec.pinGuard.buffer,
      keyLabel: spec.keyLabel,
      keyId: spec.tokens[a.token]!.keyId,
      mechanism: spec.mechanism,
      messageSeed: a.messageSeed,
      warmupSignatures: share(spec.warmupPerToken, T, a.thread),
      firstSequence: spec.resume?.firstSequenceByWorker[worker] ?? 0,
      signatures: spec.stop.perTokenSignatures === null ? null : share(spec.stop.perTokenSignatures, T, a.thread),
      sharedTotal: spec.stop.sharedTotal,
      durationNs: spec.stop.durationNs,
      verifyEvery: spec.verifyEvery,
      recovery: spec.recovery,
      control: control.buffer,
      recycle: recycle.port2,
    };
    const where = `token ${tokenName(spec.tokens[a.token]!.token)}${T > 1 ? ` thread ${a.thread}` : ''}`;
    const issue = (message: string) => workerIssues.push({ token: a.token, thread: a.thread, message });
    const w = new Worker(WORKER_URL, { workerData: input, transferList: [recycle.port2] });
    w.on('message', (m: SignWorkerMessage) => {
      if (m.type === 'batch') {
        lastBatchNs = process.hrtime.bigint();
        const verified = pool.verify(m.batch);
        // Handled in the chain below; this keeps a rejection that comes before its turn from counting as unhandled.
        verified.catch(() => {});
        verifying[worker] = verifying[worker]!.then(() => verified)
          .then((batch) =>
            queue.push(batch, () => {
              recycle.port1.postMessage(batch, transferList(batch));
              control.recorded(worker);
              recorded += batch.count;
              onProgress(recorded);
            }),
          )
          .catch(() => {
            // A batch that could not be verified (its verification thread died) is not recorded: the run stops,
            // and the worker is not left waiting for it.
            control.recorded(worker);
            control.requestStop();
          });
      } else if (m.type === 'ready') {
        if (++ready === assignments.length) control.release(process.hrtime.bigint());
      } else if (m.type === 'failed') {
        setupFailures.push(`${where}: ${m.message}`);
        control.requestStop();
      } else if (m.type === 'pin-refused') {
        spec.onPinRefused?.();
      } else if (m.gaveUp) {
        issue(m.gaveUp);
      }
    });
    return new Promise<void>((resolve) => {
      w.on('error', (error) => {
        // A worker that dies ends its own signing, not the run: what it recorded stays, and the report says so.
        issue(`worker crashed: ${error.message}`);
        // Before the barrier opened, the others would wait for it forever.
        if (ready < assignments.length) control.requestStop();
      });
      w.on('exit', () => {
        recycle.port1.close();
        resolve();
      });
    });
  };
  const exits: Promise<void>[] = [];
  try {
    assignments.forEach((a, worker) => exits.push(startWorker(a, worker)));
  } catch (error) {
    // A thread that cannot start (out of memory): those started are stopped, not left waiting at the barrier.
    control.requestStop();
    await Promise.all(exits);
    clearInterval(flushTimer);
    stalls.disable();
    writer.close();
    await pool.close();
    throw error;
  }
  await Promise.all(exits);
  await Promise.all(verifying);
  await queue.drained();
  const verificationLagS = Number(process.hrtime.bigint() - lastBatchNs) / 1e9;
  stalls.disable();
  await pool.close();
  clearInterval(flushTimer);
  writer.close();
  if (writer.failure) throw writer.failure;
  if (pool.failure) throw new Error(`a verification thread failed: ${pool.failure.message}`);
  if (setupFailures.length > 0) throw setupError(`signing could not start: ${setupFailures.join('; ')}`);
  return { tokenCount: spec.tokens.length, recordsFile: spec.recordsFile, stats, workerIssues, verificationLagS, maxEventLoopStallMs: stalls.max / 1e6 };
}
