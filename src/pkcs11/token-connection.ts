import pkcs11 from 'pkcs11js';
import { ckrName, ckrOf, describe } from '../model/ckr.js';
import { slotIdOf } from './discovery.js';
import { findObjects } from './keys.js';
import { closeSessionQuietly, presentPin, type PinSeat } from './session.js';
import { toTemplate, type SessionKey } from '../model/workload.js';
import { quote } from '../core/quote.js';
import { slotList } from './list-counts.js';

/** CK_SLOT_INFO flag (PKCS#11 2.40 §3.2): pkcs11js exports it, but its type definitions lack it. */
export const CKF_TOKEN_PRESENT = 0x1;

/** 'pin-withheld': the token's flags or PIN lengths said the PIN must not be presented, and it was not; `code`: the module's CKR, where it gave one. */
export type ConnectOutcome = { ok: true } | { ok: false; reason: 'absent' | 'pin-refused' | 'pin-withheld' | 'no-key' | 'error'; detail: string; code?: number };

/** The key handle of an operation that uses none (digest, random, keygen): what the native loop is given. */
const NO_KEY = Buffer.alloc(8);

/**
 * One thread's session on one token, with what it takes to get it back: asking the slot whether the token is
 * present (OpenSC notices a card put back only when the slot is asked), a new session, a login when this module
 * instance is not logged in (through the run's PIN guard, never with a PIN that failed) and the operation's key
 * found (or imported) again.
 */
export class TokenConnection {
  session: Buffer | null = null;
  /** The key each operation calls with, in this session (found or imported again after every reconnect). */
  keys: Buffer[] | null = null;

  constructor(
    private readonly lib: pkcs11.PKCS11,
    private readonly slot: Buffer,
    /** The user PIN, or null for a token that needs no login. */
    private readonly pin: string | null,
    private readonly seat: PinSeat,
    /** Per operation: its key, and the key pair's CKA_ID (empty: find by label only, or no key pair). */
    private readonly operationKeys: readonly { key: SessionKey; id: Buffer }[],
  ) {}

  tokenPresent(): boolean {
    try {
      const slotId = slotIdOf(this.slot);
      const present = slotList(this.lib, true).some((s) => slotIdOf(s) === slotId);
      return present && (this.lib.C_GetSlotInfo(this.slot).flags & CKF_TOKEN_PRESENT) !== 0;
    } catch {
      return false;
    }
  }

  /** A session got back after a failure or at the start: the slot asked first whether the token is there. */
  connect(): ConnectOutcome {
    this.close();
    // A token whose PIN was refused is not asked for: open() says so.
    if (!this.seat.guard.refused(this.seat.token) && !this.tokenPresent()) return { ok: false, reason: 'absent', detail: 'no token in the slot' };
    return this.open();
  }

  /**
   * A session opened, logged in where the token is logged out, and its keys found: no slot asked (--session-per-call
   * times this per call, where a slot list may be a reader poll; a token gone fails the call, whose reconnect asks).
   */
  open(): ConnectOutcome {
    this.close();
    if (this.seat.guard.refused(this.seat.token)) return { ok: false, reason: 'pin-refused', detail: 'the PIN was refused earlier in the run; the PIN is not presented again' };
    try {
      this.session = this.lib.C_OpenSession(this.slot, pkcs11.CKF_SERIAL_SESSION);
      if (this.pin !== null) {
        const login = presentPin(this.lib, this.slot, this.session, this.pin, this.seat);
        if (login.outcome === 'withheld') return { ok: false, reason: 'pin-withheld', detail: `hsm-bench did not present the PIN: ${login.why}` };
        if (login.outcome === 'refused') {
          return {
            ok: false,
            reason: 'pin-refused',
            detail: `${login.code === undefined ? 'the PIN was refused earlier in the run' : `the token refused the PIN (${ckrName(login.code)})`}; the PIN is not presented again`,
            code: login.code,
          };
        }
      }
      return this.findKeys();
    } catch (error) {
      return { ok: false, reason: 'error', detail: describe(error), code: ckrOf(error) };
    }
  }

  /** Every operation's key found (or imported) again in the open session (also per call, with --find-key-per-call). */
  findKeys(): ConnectOutcome {
    try {
      const keys: Buffer[] = [];
      for (const k of this.operationKeys) {
        const found = this.findKey(this.session!, k.key, k.id);
        if (found === null) return { ok: false, reason: 'no-key', detail: `no key labelled ${quote((k.key as { label: string }).label)}` };
        keys.push(found);
      }
      this.keys = keys;
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: 'error', detail: describe(error), code: ckrOf(error) };
    }
  }

  /**
   * The first connection of a worker's own module instance (p11-kit's client, whose server forks a process per
   * connection that loads the module afresh): that fresh view can miss a token or fail for a moment while another
   * process writes the token's files (SoftHSM2 rewrites its token file at every login). So a token absent or an
   * error at the start is asked again, in a renewed instance, for up to two seconds; a refused PIN or a missing key
   * is final at once. A PIN is presented again only after an error that was not a PIN failure (the guard decides).
   */
  connectAtStart(sleep: (ms: number) => void, renew: () => void): ConnectOutcome {
    let outcome = this.connect();
    for (let waitMs = 50; !outcome.ok && (outcome.reason === 'absent' || outcome.reason === 'error') && waitMs <= 800; waitMs *= 2) {
      this.close();
      sleep(waitMs);
      renew();
      outcome = this.connect();
    }
    return outcome;
  }

  /** Never throws: the session may have gone with the token. */
  close(): void {
    closeSessionQuietly(this.lib, this.session);
    this.session = null;
    this.keys = null;
  }

  /** The operation's key in a new session: a token object found again, or the test key imported again. */
  private findKey(session: Buffer, k: SessionKey, id: Buffer): Buffer | null {
    if (k.kind === 'none') return NO_KEY;
    if (k.kind === 'imported') {
      return this.lib.C_CreateObject(session, toTemplate(k.template));
    }
    const [found] = findObjects(this.lib, session, [
      { type: pkcs11.CKA_CLASS, value: k.cls },
      // A key named by --key-id alone (a mechanism as given) has no label to match.
      ...(k.label === '' && id.length > 0 ? [] : [{ type: pkcs11.CKA_LABEL, value: k.label }]),
      ...(id.length > 0 ? [{ type: pkcs11.CKA_ID, value: id }] : []),
    ]);
    return found ?? null;
  }
}
