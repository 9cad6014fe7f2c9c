import { Worker } from 'node:worker_threads';
import type { ConnectOutcome } from '../pkcs11/token-connection.js';
import type { SessionKey } from '../model/workload.js';

export interface ConnectorInput {
  modulePath: string;
  pinGuard: SharedArrayBuffer;
  /** Per operation of the workload, its key. */
  keys: SessionKey[];
  jobs: { token: number; slot: Uint8Array; pin: string | null; keyIds: Uint8Array[] }[];
}

/** close: `keep`, jobs whose sessions stay open (a thread abandoned inside a call is still in them). */
export type ConnectorRequest = { type: 'connect'; id: number; job: number } | { type: 'close'; keep: number[] };
export type ConnectorReply =
  | { type: 'connected'; id: number; ok: true; session: Uint8Array; keys: Uint8Array[] }
  | { type: 'connected'; id: number; ok: false; reason: Exclude<ConnectOutcome, { ok: true }>['reason']; detail: string }
  | { type: 'failed'; message: string };

export type Connected = { ok: true; session: Buffer; keys: Buffer[] } | Exclude<ConnectOutcome, { ok: true }>;

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
