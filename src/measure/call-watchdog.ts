/**
 * The watchdog on calls that do not return. A token's calls may take 1 ms (SoftHSM) or a minute (a smart card
 * generating an RSA-4096 key), so the bound on one call comes from the token's own calls: ten times the slowest
 * it made so far (its trial call before the run included), never under 10 s; or --call-timeout. A call in flight
 * past its bound is timed out: a failure (CALL_TIMED_OUT), its session abandoned for the rest of the run (the
 * thread stays inside the module: nothing can take it back) while the other sessions go on.
 * Once the run is stopping (Ctrl-C, SIGTERM, a failure that stops it), calls in flight are waited for at most 5 s:
 * one still in flight then is abandoned without a record (it has no outcome), so that a stop always ends the run.
 * Opening a session (C_OpenSession, C_Login, finding the key: at the start, or reconnecting in a burn-in) has no
 * service times of its own to go by: it is bounded by --call-timeout, or by SETUP_STEP_TIMEOUT_MS, as every step of
 * the set-up before the run is (token-setup-thread.ts); past it, its session is abandoned without a record.
 */
import type { CallBatch } from '../model/call-batch.js';
import { CALL_TIMED_OUT } from '../model/record-status.js';
import type { Engine } from './engine.js';

export const CALL_TIMEOUT_FLOOR_MS = 10_000;
/**
 * How long one step of setting a session up may take without --call-timeout: a smart card answers within seconds,
 * a network HSM within its own timeouts; one that takes a minute is not answering.
 */
export const SETUP_STEP_TIMEOUT_MS = 60_000;
export const CALL_TIMEOUT_SLOWEST_MULTIPLE = 10;
export const STOP_GRACE_MS = 5_000;

/** What the watchdog decided of a call in flight. */
export type CallVerdict = 'wait' | 'timed-out' | 'abandoned-at-stop';

/** What the watchdog asks of an engine's sessions: their call or opening in flight, and to give one up. */
export type WatchedSessions = Pick<Engine, 'inFlightSince' | 'connectingSince' | 'abandon' | 'abandonConnect'>;

/** A session the watchdog gave up: its call (or its opening, `connecting`) had been in flight `inFlightMs`. */
export interface AbandonedSession {
  worker: number;
  connecting: boolean;
  inFlightMs: number;
  /** The bound it was held to. */
  boundMs: number;
  outcome: Exclude<CallVerdict, 'wait'>;
}

export class CallWatchdog {
  /** Per token: its slowest call so far (ns). */
  private readonly slowestNs: number[];
  /** Sessions given up: looked at no more. */
  private readonly abandoned = new Set<number>();
  /** When the sweep first saw the run stopping (process.hrtime ns), or null. */
  private stoppingSinceNs: bigint | null = null;

  constructor(
    /** --call-timeout, or null for the bound derived from each token's calls. */
    private readonly callTimeoutMs: number | null,
    /** Per token: how long its trial call took (ns; 0 where there was none). */
    trialCallNs: readonly number[],
  ) {
    this.slowestNs = [...trialCallNs];
  }

  /** A call of `token` that returned after `latencyNs`. */
  observe(token: number, latencyNs: number): void {
    if (latencyNs > this.slowestNs[token]!) this.slowestNs[token] = latencyNs;
  }

  /** The calls of a batch of `token` that returned (one timed out never did: its latency is only how long it was waited for). */
  observeBatch(token: number, batch: CallBatch): void {
    for (let i = 0; i < batch.count; i++) if (batch.status[i] !== CALL_TIMED_OUT) this.observe(token, batch.latencyNs[i]!);
  }

  /** How long a call of `token` may be in flight. */
  boundMs(token: number): number {
    return this.callTimeoutMs ?? Math.max(CALL_TIMEOUT_FLOOR_MS, (CALL_TIMEOUT_SLOWEST_MULTIPLE * this.slowestNs[token]!) / 1e6);
  }

  /** How long opening a session may take. */
  connectBoundMs(): number {
    return this.callTimeoutMs ?? SETUP_STEP_TIMEOUT_MS;
  }

  /**
   * A call of `token` in flight for `inFlightMs` (`connecting`: the opening of its session); `stoppingForMs`: how long
   * the run has been stopping (null: it is not).
   */
  verdict(token: number, inFlightMs: number, stoppingForMs: number | null, connecting = false): CallVerdict {
    if (inFlightMs > (connecting ? this.connectBoundMs() : this.boundMs(token))) return 'timed-out';
    if (stoppingForMs !== null && stoppingForMs >= STOP_GRACE_MS) return 'abandoned-at-stop';
    return 'wait';
  }

  /**
   * One look, at `nowNs` (the engine's clock), at every session's call or opening in flight (`workerTokens`: each
   * session's token): each one past its bound, or past the stop's grace once `stopping`, is given up, and the session
   * is looked at no more. One whose call returned meanwhile (the engine refuses) is looked at again next time.
   */
  sweep(nowNs: bigint, stopping: boolean, workerTokens: readonly number[], sessions: WatchedSessions): AbandonedSession[] {
    if (this.stoppingSinceNs === null && stopping) this.stoppingSinceNs = nowNs;
    const stoppingForMs = this.stoppingSinceNs === null ? null : Number(nowNs - this.stoppingSinceNs) / 1e6;
    const given: AbandonedSession[] = [];
    for (const [worker, token] of workerTokens.entries()) {
      if (this.abandoned.has(worker)) continue;
      const connectingNs = sessions.connectingSince(worker);
      const connecting = connectingNs !== null;
      const sinceNs = connectingNs ?? sessions.inFlightSince(worker);
      if (sinceNs === null) continue;
      const inFlightMs = Number(nowNs - sinceNs) / 1e6;
      const outcome = this.verdict(token, inFlightMs, stoppingForMs, connecting);
      if (outcome === 'wait' || !(connecting ? sessions.abandonConnect(worker) : sessions.abandon(worker, outcome === 'timed-out'))) continue;
      this.abandoned.add(worker);
      given.push({ worker, connecting, inFlightMs, boundMs: connecting ? this.connectBoundMs() : this.boundMs(token), outcome });
    }
    return given;
  }

  /** Whether the session was given up (its call in flight is no longer waited for). */
  isAbandoned(worker: number): boolean {
    return this.abandoned.has(worker);
  }
}
