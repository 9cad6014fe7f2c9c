import { randomBytes, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { setupError } from '../errors.js';
import type { TokenRef } from '../pkcs11/discovery.js';
import type { SignMechanism } from '../pkcs11/mechanisms.js';
import { RecordsCsvWriter } from '../record/records-csv.js';
import { ConfigurationStats } from '../stats/configuration-stats.js';
import { RunControl } from './control.js';
import type { RunPlan } from './plan.js';
import { ConfigurationRecorder, type WorkerAssignment } from './recorder.js';
import type { SignWorkerInput, SignWorkerMessage } from './sign-worker.js';

/** A token ready to sign: logged in (by the main thread), its key found and its public key imported. */
export interface ReadyToken {
  token: TokenRef;
  privateKey: Buffer;
  publicKey: KeyObject;
}

export interface ConfigurationRun {
  tokenCount: number;
  recordsFile: string;
  stats: ConfigurationStats;
  workerIssues: string[];
}

const WORKER_URL = new URL('./sign-worker.js', import.meta.url);

/** Splits a per-token count over the token's threads; the first threads take the remainder. */
const share = (total: number, parts: number, index: number) => Math.floor(total / parts) + (index < total % parts ? 1 : 0);

/**
 * Runs one configuration: one worker per (token, thread) on the first `tokenCount` tokens, each with its own
 * session, released together by the start barrier. Records stream to `records/tokens-N.csv` as batches arrive.
 */
export async function runConfiguration(
  plan: RunPlan,
  modulePath: string,
  mechanism: SignMechanism,
  tokens: readonly ReadyToken[],
  tokenCount: number,
  runDir: string,
  control: RunControl,
  onProgress: (signaturesDone: number) => void,
): Promise<ConfigurationRun> {
  const used = tokens.slice(0, tokenCount);
  const assignments: WorkerAssignment[] = used.flatMap((t, token) =>
    Array.from({ length: plan.threadsPerToken }, (_, thread) => ({ token, thread, tokenLabel: t.token.label, messageSeed: randomBytes(24) })),
  );
  const recordsFile = join('records', `tokens-${tokenCount}.csv`);
  const writer = new RecordsCsvWriter(join(runDir, recordsFile));
  const stats = new ConfigurationStats(used.length);
  const recorder = new ConfigurationRecorder(tokenCount, assignments, used.map((t) => t.publicKey), mechanism, writer, stats);
  const workerIssues: string[] = [];
  const setupFailures: string[] = [];
  let ready = 0;
  let recorded = 0;

  const exits = assignments.map((a, worker) => {
    const input: SignWorkerInput = {
      worker,
      modulePath,
      slot: used[a.token]!.token.slot,
      privateKey: used[a.token]!.privateKey,
      mechanism,
      messageSeed: a.messageSeed,
      warmupSignatures: share(plan.warmupPerToken, plan.threadsPerToken, a.thread),
      firstSequence: 0,
      signatures: plan.stop.kind === 'signatures' ? share(plan.stop.perToken, plan.threadsPerToken, a.thread) : null,
      sharedTotal: null,
      durationNs: plan.stop.kind === 'duration' ? plan.stop.durationMs * 1e6 : null,
      recovery: null,
      verifyEvery: plan.verify.every,
      control: control.buffer,
    };
    const where = `token ${a.tokenLabel}${plan.threadsPerToken > 1 ? ` thread ${a.thread}` : ''}`;
    const w = new Worker(WORKER_URL, { workerData: input });
    w.on('message', (m: SignWorkerMessage) => {
      if (m.type === 'batch') {
        recorder.add(m.batch);
        control.recorded(worker);
        recorded += m.batch.count;
        onProgress(recorded);
      } else if (m.type === 'ready') {
        if (++ready === assignments.length) control.release(process.hrtime.bigint());
      } else if (m.type === 'failed') {
        setupFailures.push(`${where}: ${m.message}`);
        control.requestStop();
      } else if (m.gaveUp) {
        workerIssues.push(`${where}: ${m.gaveUp}`);
      }
    });
    return new Promise<void>((resolve) => {
      w.on('error', (error) => {
        // A worker that dies ends its own signing, not the run: what it recorded stays, and the report says so.
        workerIssues.push(`${where}: worker crashed: ${error.message}`);
        // Before the barrier opened, the others would wait for it forever.
        if (ready < assignments.length) control.requestStop();
      });
      w.on('exit', () => resolve());
    });
  });
  await Promise.all(exits);
  writer.close();
  if (setupFailures.length > 0) throw setupError(`signing could not start: ${setupFailures.join('; ')}`);
  return { tokenCount, recordsFile, stats, workerIssues };
}
