import { ConnectorInput, ConnectorRequest, ConnectorReply, Connected } from './connector-worker.js';
import { Worker } from 'node:worker_threads';

const WORKER_URL = new URL('./connector-worker.js', import.meta.url);

/** The main thread's side of connector-worker.ts: `connect(job)` opens (or reopens) a job's session, without blocking. */
export class Connector {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, (c: Connected) => void>();
  private nextId = 0;
  private failure: string | undefined;

  constructor(input: ConnectorInput) {
    this.worker = new Worker(WORKER_URL, { workerData: input });
    this.worker.on('message', (m: ConnectorReply) => {
      if (m.type === 'failed') return this.fail(m.message);
      const resolve = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      resolve?.(m.ok ? { ok: true, session: Buffer.from(m.session), keys: m.keys.map((k) => Buffer.from(k)) } : { ok: false, reason: m.reason, detail: m.detail });
    });
    this.worker.on('error', (error) => this.fail(`the connector thread failed: ${error.message}`));
  }

  connect(job: number): Promise<Connected> {
    if (this.failure !== undefined) return Promise.resolve({ ok: false, reason: 'error', detail: this.failure });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ type: 'connect', id, job } satisfies ConnectorRequest);
    });
  }

  /** Closes every session but those of `keep` and waits for the thread to end. */
  async close(keep: number[] = []): Promise<void> {
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ type: 'close', keep } satisfies ConnectorRequest);
    await exited;
  }

  private fail(message: string): void {
    this.failure = message;
    for (const resolve of this.waiting.values()) resolve({ ok: false, reason: 'error', detail: message });
    this.waiting.clear();
  }
}
