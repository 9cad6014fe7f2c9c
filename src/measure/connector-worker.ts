import type { SessionKey } from '../model/workload.js';
import type { ConnectOutcome } from '../pkcs11/token-connection.js';
/**
 * The native engine's sessions live here, in a thread of their own: opening a session, logging in and finding the
 * key can take seconds on a smart card (or hang on a module that waits for a reader), and the main thread must
 * keep draining every other token's ring meanwhile; a thread whose request never returns is abandoned by the run's
 * watchdog (connector.ts), and a new one serves the others. One TokenConnection per job, the same code the worker threads
 * use, through the run's PIN guard; the module instance is the one the main thread initialized (a shared one).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ModuleInstance } from '../pkcs11/module.js';
import { PinGuard } from '../pkcs11/pin-guard.js';
import { TokenConnection } from '../pkcs11/token-connection.js';

const input = workerData as ConnectorInput;
const port = parentPort!;
let instance: ModuleInstance | undefined;
let connections: TokenConnection[] = [];
try {
  instance = ModuleInstance.load(input.modulePath, 'shared');
  const guard = new PinGuard(input.pinGuard);
  connections = input.jobs.map(
    (j) =>
      new TokenConnection(
        instance!.lib,
        Buffer.from(j.slot),
        j.pin,
        { guard, token: j.token },
        input.keys.map((key, i) => ({ key, id: Buffer.from(j.keyIds[i]!) })),
      ),
  );
} catch (error) {
  port.postMessage({ type: 'failed', message: `cannot load the module: ${(error as Error).message}` } satisfies ConnectorReply);
}

port.on('message', (m: ConnectorRequest) => {
  if (m.type === 'close') {
    connections.forEach((c, job) => {
      if (!m.keep.includes(job)) c.close();
    });
    instance?.close();
    port.close();
    return;
  }
  const connection = connections[m.job]!;
  port.postMessage({ type: 'begins', id: m.id } satisfies ConnectorReply);
  const outcome = connection.connect();
  port.postMessage(
    (outcome.ok
      ? { type: 'connected', id: m.id, ok: true, session: new Uint8Array(connection.session!), keys: connection.keys!.map((k) => new Uint8Array(k)) }
      : { type: 'connected', id: m.id, ok: false, reason: outcome.reason, detail: outcome.detail }) satisfies ConnectorReply,
  );
});

export interface ConnectorInput {
  modulePath: string;
  pinGuard: SharedArrayBuffer;
  /** Per operation of the workload, its key. */
  keys: SessionKey[];
  jobs: { token: number; slot: Uint8Array; pin: string | null; keyIds: Uint8Array[] }[];
}

/** close: `keep`, jobs whose sessions stay open (a thread abandoned inside a call is still in them). */
export type ConnectorRequest = { type: 'connect'; id: number; job: number } | { type: 'close'; keep: number[] };

/** 'begins': the thread starts on a request (those before it have been answered). */
export type ConnectorReply =
  | { type: 'begins'; id: number }
  | { type: 'connected'; id: number; ok: true; session: Uint8Array; keys: Uint8Array[] }
  | { type: 'connected'; id: number; ok: false; reason: Exclude<ConnectOutcome, { ok: true }>['reason']; detail: string }
  | { type: 'failed'; message: string };

/** 'hung': the watchdog gave up waiting for the session (abandon()); the thread that asked for it is left inside the module. */
export type Connected = { ok: true; session: Buffer; keys: Buffer[] } | Exclude<ConnectOutcome, { ok: true }> | { ok: false; reason: 'hung'; detail: string };
