import { ConnectorInput, ConnectorRequest, ConnectorReply, Connected } from './connector-worker.js';
import { Worker } from 'node:worker_threads';

const WORKER_URL = new URL('./connector-worker.js', import.meta.url);

/**
 * The main thread's side of connector-worker.ts: `connect(job)` opens (or reopens) a job's session, without blocking.
 * The thread answers one request at a time; one that does not return is bounded by the run's watchdog, which may
 * abandon it: the thread is left inside the module, and a new one takes the requests still waiting.
 */
export class Connector {
  private worker!: Worker;
  /** Requests not answered yet, in the order they were made. */
  private readonly waiting = new Map<number, { job: number; resolve: (c: Connected) => void }>();
  /** The request the thread is working on, since when. */
  private inFlight: { id: number; job: number; sinceNs: bigint } | null = null;
  private nextId = 0;
  private failure: string | undefined;

  constructor(private readonly input: ConnectorInput) {
    this.start();
  }

  connect(job: number): Promise<Connected> {
    if (this.failure !== undefined) return Promise.resolve({ ok: false, reason: 'error', detail: this.failure });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, { job, resolve });
      this.worker.postMessage({ type: 'connect', id, job } satisfies ConnectorRequest);
    });
  }

  /** When the thread began opening `job`'s session, or null when it is not doing that now. */
  connectingSince(job: number): bigint | null {
    return this.inFlight?.job === job ? this.inFlight.sinceNs : null;
  }

  /** Gives up `job`'s session in flight (it answers 'hung'); the other requests go to a new thread. False when it is not in flight. */
  abandon(job: number): boolean {
    const hung = this.inFlight;
    if (hung?.job !== job) return false;
    this.inFlight = null;
    // Left inside the module: it may never come back, and must not hold the process.
    this.worker.unref();
    const resolve = this.waiting.get(hung.id)!.resolve;
    this.waiting.delete(hung.id);
    resolve({ ok: false, reason: 'hung', detail: 'the session did not come in time' });
    this.start();
    for (const [id, w] of this.waiting) this.worker.postMessage({ type: 'connect', id, job: w.job } satisfies ConnectorRequest);
    return true;
  }

  /** Closes every session but those of `keep` and waits for the thread to end. */
  async close(keep: number[] = []): Promise<void> {
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ type: 'close', keep } satisfies ConnectorRequest);
    await exited;
  }

  private start(): void {
    const worker = new Worker(WORKER_URL, { workerData: this.input });
    this.worker = worker;
    // A thread that was abandoned and comes back is no longer heard.
    worker.on('message', (m: ConnectorReply) => {
      if (worker !== this.worker) return;
      if (m.type === 'failed') return this.fail(m.message);
      const request = this.waiting.get(m.id);
      if (m.type === 'begins') {
        if (request) this.inFlight = { id: m.id, job: request.job, sinceNs: process.hrtime.bigint() };
        return;
      }
      this.inFlight = null;
      this.waiting.delete(m.id);
      request?.resolve(m.ok ? { ok: true, session: Buffer.from(m.session), keys: m.keys.map((k) => Buffer.from(k)) } : { ok: false, reason: m.reason, detail: m.detail });
    });
    worker.on('error', (error) => {
      if (worker === this.worker) this.fail(`the connector thread failed: ${error.message}`);
    });
  }

  private fail(message: string): void {
    this.failure = message;
    for (const w of this.waiting.values()) w.resolve({ ok: false, reason: 'error', detail: message });
    this.waiting.clear();
  }
}
