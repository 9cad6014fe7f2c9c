import type { RunEvent } from '../model/run-events.js';
import { Worker } from 'node:worker_threads';
import pkcs11 from 'pkcs11js';
import { ExitCode, HsmBenchError, setupError } from '../core/errors.js';
import { tokenName, type TokenRef } from '../pkcs11/discovery.js';
import { PinRefusedError } from '../pkcs11/session.js';
import { WrongAnswerError } from '../model/wrong-answer.js';
import { SETUP_STEP_TIMEOUT_MS } from '../measure/call-watchdog.js';
import { noteThreadLeftInModule } from '../measure/threads-left.js';
import type { SetupStep } from '../model/run-events.js';
import type { PreparedEntry, SetupError, SetupReply, SetupRequest, SetupWorkerInput } from './token-setup-worker.js';

/** A step that takes this long is said on stderr (which token, which call, the bound), before it times out. */
const SLOW_STEP_NOTICE_MS = 5_000;
const WATCH_MS = 100;
const WORKER_URL = new URL('./token-setup-worker.js', import.meta.url);

/** What a step does, as the messages say it. */
export const STEP_WORDS: Record<SetupStep, string> = {
  listing: 'listing the tokens (C_GetSlotList, C_GetSlotInfo, C_GetTokenInfo)',
  session: 'opening a session (C_OpenSession)',
  login: 'the login (C_Login)',
  mechanisms: 'listing its mechanisms (C_GetMechanismList)',
  key: 'finding its key pair (C_FindObjects, C_GetAttributeValue)',
  prepare: 'preparing the operation (keys and inputs)',
  trial: 'the trial call before the run',
};

/** The error the set-up's thread met, thrown again here as what it was. */
function rethrown(e: SetupError): Error {
  if (e.kind === 'module') return new pkcs11.Pkcs11Error('', e.code, e.method);
  if (e.kind === 'other') return Object.assign(new Error(e.message), { stack: e.stack });
  if (e.pinRefusedToken !== undefined) return new PinRefusedError(e.message, e.hint ?? '', e.pinRefusedToken);
  return e.wrongAnswer !== undefined ? new WrongAnswerError(e.message, e.hint ?? '', e.wrongAnswer) : new HsmBenchError(e.message, e.exitCode, e.hint);
}

/**
 * The main thread's side of token-setup-worker.ts: the set-up's PKCS#11 calls run in that thread, and each step is
 * bounded here (--call-timeout, or SETUP_STEP_TIMEOUT_MS). A step past its bound is exit 3 naming the token and the
 * call (the thread is left inside the module: nothing can take it back); a Ctrl-C or SIGTERM meanwhile is exit 130
 * at once. The main thread stays free all along: signals, progress and the supervisor's messages are never held.
 */
export class TokenSetupThread {
  private readonly worker: Worker;
  private readonly boundMs: number;
  private current: { step: SetupStep; token: number | null; sinceMs: number; noticed: boolean } | null = null;
  /** The tokens the steps' indexes refer to, once chosen. */
  private tokens: TokenRef[] = [];
  private waiting: { resolve: (reply: SetupReply) => void; reject: (error: Error) => void } | undefined;
  private ended: Error | undefined;
  /** The set-up succeeded: the thread ends by itself, its sessions left open. */
  private done = false;
  private readonly watch: NodeJS.Timeout;
  private readonly onStop = (signal: NodeJS.Signals) => this.end(new HsmBenchError(`interrupted (${signal}) during the set-up${this.inFlight()}; nothing was measured`, ExitCode.interrupted));

  constructor(
    input: SetupWorkerInput,
    /** --call-timeout, or null. */
    private readonly callTimeoutMs: number | null,
    private readonly emit: (event: RunEvent) => void,
  ) {
    this.boundMs = callTimeoutMs ?? SETUP_STEP_TIMEOUT_MS;
    this.worker = new Worker(WORKER_URL, { workerData: input });
    this.worker.on('message', (m: SetupReply) => {
      if (m.type === 'step') {
        this.current = { step: m.step, token: m.token, sinceMs: performance.now(), noticed: false };
        return;
      }
      this.current = null;
      if (m.type === 'failed') return this.end(rethrown(m.error));
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.resolve(m);
    });
    this.worker.on('error', (error) => this.end(error));
    this.watch = setInterval(() => this.check(), WATCH_MS);
    process.on('SIGINT', this.onStop);
    process.on('SIGTERM', this.onStop);
  }

  /** The tokens of the module, as the set-up's thread listed them. */
  async listed(): Promise<TokenRef[]> {
    const reply = await this.next();
    return (reply as Extract<SetupReply, { type: 'listed' }>).tokens.map((t) => ({ ...t, slot: Buffer.from(t.slot) }));
  }

  /** Sessions and logins on `request.tokens`, the operations prepared and tried; then the thread's work is done. */
  async prepared(request: SetupRequest): Promise<PreparedEntry[]> {
    this.tokens = request.tokens;
    const reply = this.next();
    this.worker.postMessage(request);
    const operations = (await reply) as Extract<SetupReply, { type: 'prepared' }>;
    this.done = true;
    this.dispose();
    return operations.operations;
  }

  /** Stops watching; a thread that waits for a request that will not come (the tokens refused here) is ended. */
  close(): void {
    this.dispose();
    if (!this.done && this.ended === undefined) void this.worker.terminate();
  }

  private dispose(): void {
    clearInterval(this.watch);
    process.off('SIGINT', this.onStop);
    process.off('SIGTERM', this.onStop);
  }

  private next(): Promise<SetupReply> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** Ends the set-up with `error`; a thread inside a call is left there (it may never return). */
  private end(error: Error): void {
    if (this.ended) return;
    this.ended = error;
    this.dispose();
    if (this.current !== null) {
      noteThreadLeftInModule();
      this.worker.unref();
    } else void this.worker.terminate();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }

  private check(): void {
    const c = this.current;
    if (c === null) return;
    const inFlightMs = performance.now() - c.sinceMs;
    if (inFlightMs > this.boundMs) {
      const bound = this.callTimeoutMs === null ? `the set-up's bound; --call-timeout sets it` : '--call-timeout';
      const what = `${STEP_WORDS[c.step]} did not return within ${this.boundMs / 1000} s (${bound})`;
      this.end(
        setupError(
          c.token === null ? `the PKCS#11 module did not answer: ${what}` : `token ${tokenName(this.tokens[c.token]!)} did not answer: ${what}`,
          'check the token and its reader, card or server, and try it with its vendor tool (e.g. pkcs11-tool --module MODULE -L); a token that needs longer may be given it with --call-timeout',
        ),
      );
    } else if (!c.noticed && inFlightMs >= SLOW_STEP_NOTICE_MS) {
      c.noticed = true;
      this.emit({ type: 'setup-step-slow', token: c.token === null ? null : tokenName(this.tokens[c.token]!), step: c.step, waitedS: SLOW_STEP_NOTICE_MS / 1000, boundS: this.boundMs / 1000 });
    }
  }

  /** The step in flight, for a message: " (… had not returned)". */
  private inFlight(): string {
    const c = this.current;
    if (c === null) return '';
    return ` (${STEP_WORDS[c.step]}${c.token === null ? '' : ` on token ${tokenName(this.tokens[c.token]!)}`} had not returned)`;
  }
}
