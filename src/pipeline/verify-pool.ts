import { Worker } from 'node:worker_threads';
import { transferList, type CallBatch } from '../model/call-batch.js';
import type { VerifyContext } from './verify-batch.js';
import type { VerifyRequest } from './verify-worker.js';

const WORKER_URL = new URL('./verify-worker.js', import.meta.url);

/**
 * The verification stage: a pool of threads that verify kept signatures off the main thread. Batches go to the
 * threads in turn; the caller keeps each signing worker's records in sequence order (check-then-record.ts chains
 * them), so any thread may verify any batch.
 */
export class VerifyPool {
  private readonly threads: Worker[];
  private readonly waiting = new Map<number, { resolve: (b: CallBatch) => void; reject: (e: Error) => void; thread: number }>();
  private nextId = 0;
  private nextThread = 0;
  failure: Error | undefined;

  constructor(size: number, input: VerifyContext) {
    this.threads = Array.from({ length: size }, (_, thread) => {
      const w = new Worker(WORKER_URL, { workerData: input });
      w.on('message', ({ id, batch }: VerifyRequest) => {
        this.waiting.get(id)?.resolve(batch);
        this.waiting.delete(id);
      });
      w.on('error', (error) => {
        // A verification thread that dies takes its batches with it: the run stops and says so.
        this.failure ??= error;
        for (const [id, w] of this.waiting) {
          if (w.thread !== thread) continue;
          w.reject(error);
          this.waiting.delete(id);
        }
      });
      return w;
    });
  }

  /** The batch back, its `verified` column filled; batches with nothing kept skip the trip. */
  verify(batch: CallBatch): Promise<CallBatch> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.threads.length === 0 || !batch.kept.subarray(0, batch.count).includes(1)) return Promise.resolve(batch);
    const id = this.nextId++;
    const thread = this.nextThread;
    this.nextThread = (this.nextThread + 1) % this.threads.length;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, thread });
      this.threads[thread]!.postMessage({ id, batch } satisfies VerifyRequest, transferList(batch));
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((w) => w.terminate()));
  }
}
