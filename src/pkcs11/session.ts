import pkcs11 from 'pkcs11js';
import { ExitCode, HsmBenchError, setupError } from '../core/errors.js';
import { ckrName, ckrOf, describe } from '../model/ckr.js';
import { readToken, tokenName, type TokenRef } from './discovery.js';
import type { PinGuard } from './pin-guard.js';

const PIN_FAILURES = new Set([pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_PIN_EXPIRED, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE]);
/** CK_STATE values of a session whose user is logged in (pkcs11js has no constants for them). */
const CKS_RO_USER_FUNCTIONS = 1;
const CKS_RW_USER_FUNCTIONS = 3;

/** A PIN the token refused: which token of the run, so that a resumed burn-in can remember it. */
export class PinRefusedError extends HsmBenchError {
  constructor(
    message: string,
    hint: string,
    readonly token: number,
  ) {
    super(message, ExitCode.setup, hint);
  }
}

/** Where a login happens: the run's PIN guard and the token's index in the run. */
export interface PinSeat {
  guard: PinGuard;
  token: number;
}

export function openSession(lib: pkcs11.PKCS11, token: TokenRef, readWrite = false): Buffer {
  const flags = pkcs11.CKF_SERIAL_SESSION | (readWrite ? pkcs11.CKF_RW_SESSION : 0);
  try {
    return lib.C_OpenSession(token.slot, flags);
  } catch (error) {
    throw setupError(`cannot open a session on token ${tokenName(token)}: ${describe(error)}`, 'is the token present and not in use by another program?', error);
  }
}

/** Closes a session that may already be gone (a token pulled out, a module that dropped it): clean-up never throws. */
export function closeSessionQuietly(lib: pkcs11.PKCS11, session: Buffer | null): void {
  if (session === null) return;
  try {
    lib.C_CloseSession(session);
  } catch {
    // Nothing to close: the session went with the token.
  }
}

/** Login is per token per module instance and shared by its sessions: ask before presenting the PIN again. */
function isLoggedIn(lib: pkcs11.PKCS11, session: Buffer): boolean {
  const state = lib.C_GetSessionInfo(session).state;
  return state === CKS_RO_USER_FUNCTIONS || state === CKS_RW_USER_FUNCTIONS;
}

/** Why a PIN was not presented: the token's PIN is locked, one more wrong PIN would lock it, or the PIN cannot be its PIN. */
export type WithheldReason = 'locked' | 'final-try' | 'length';
/**
 * 'refused': `code` is the token's answer to the one C_Login (absent: refused earlier in the run, not presented now);
 * `countLowBefore`, whether the token reported CKF_USER_PIN_COUNT_LOW before that login.
 */
export type PinOutcome = { outcome: 'accepted' } | { outcome: 'refused'; code?: number; countLowBefore?: boolean } | { outcome: 'withheld'; reason: WithheldReason; why: string };

/** What the user can do about a PIN that was withheld. */
const WITHHELD_HINTS: Record<WithheldReason, string> = {
  locked: "unblock the PIN with the token's SO PIN (for OpenSC tokens: pkcs11-tool --login-type so --init-pin), then run again",
  'final-try': 'make sure of the PIN first (one more wrong one locks the token), then run again with --allow-final-pin-try; or reset the counter with the SO PIN',
  length: 'check which PIN you gave (HSM_BENCH_PIN, --pin-env, --pin-file): it is not one this token can have',
};

/** pkcs11js gives CK_ULONG lengths as 32-bit numbers: CK_UNAVAILABLE_INFORMATION reads as this. */
const UNAVAILABLE_32 = 0xffffffff;

/**
 * Why the PIN must not be presented to the token now, as its own C_GetTokenInfo says, or undefined. The flags are
 * read at the moment of the login, not at discovery: a wrong PIN entered elsewhere (another program, another
 * thread's token re-plugged) changes them during a run. The message never contains the PIN, not even its length.
 */
function pinWithheldBecause(info: pkcs11.TokenInfo, pin: string, allowFinalTry: boolean): { reason: WithheldReason; why: string } | undefined {
  if ((info.flags & pkcs11.CKF_USER_PIN_LOCKED) !== 0) return { reason: 'locked', why: 'its user PIN is locked (CKF_USER_PIN_LOCKED)' };
  if ((info.flags & pkcs11.CKF_USER_PIN_FINAL_TRY) !== 0 && !allowFinalTry) {
    return { reason: 'final-try', why: 'its flags say one more wrong PIN locks it (CKF_USER_PIN_FINAL_TRY); hsm-bench presents a PIN to such a token only with --allow-final-pin-try' };
  }
  const bytes = Buffer.byteLength(pin, 'utf8');
  const max = info.maxPinLen === 0 || info.maxPinLen === UNAVAILABLE_32 || info.maxPinLen < info.minPinLen ? Infinity : info.maxPinLen;
  if (bytes < info.minPinLen || bytes > max) {
    return { reason: 'length', why: `the PIN given cannot be its PIN: the token takes PINs of ${info.minPinLen}${max === Infinity ? ' or more' : ` to ${max}`} bytes (ulMinPinLen, ulMaxPinLen)` };
  }
  return undefined;
}

/**
 * Presents the user PIN through the guard, unless this instance is logged in already or the token's flags and
 * PIN lengths say the PIN must not be presented ('withheld', nothing sent). Returns 'refused' when the token
 * refused the PIN, now or earlier in the run (then it was not presented); throws errors that are not about the
 * PIN. The one place where hsm-bench calls C_Login: the main thread, the worker threads and the connector thread
 * all log in here.
 */
export function presentPin(lib: pkcs11.PKCS11, slot: Buffer, session: Buffer, pin: string, seat: PinSeat): PinOutcome {
  let code: number | undefined;
  let countLowBefore = false;
  let withheld: { reason: WithheldReason; why: string } | undefined;
  const outcome = seat.guard.present(seat.token, () => {
    // Asked once, under the lock: another thread of this module instance may have logged in while this one waited
    // (and a second C_GetSessionInfo would be one more call inside a --session-per-call run's clock).
    if (isLoggedIn(lib, session)) return 'accepted';
    const info = lib.C_GetTokenInfo(slot);
    withheld = pinWithheldBecause(info, pin, seat.guard.allowFinalPinTry);
    if (withheld !== undefined) return 'withheld';
    // What the token's counter said before this login: after a refusal, the flag it shows is then its answer to it, or not.
    countLowBefore = (info.flags & pkcs11.CKF_USER_PIN_COUNT_LOW) !== 0;
    try {
      lib.C_Login(session, pkcs11.CKU_USER, pin);
      return 'accepted';
    } catch (error) {
      code = ckrOf(error);
      if (code === pkcs11.CKR_USER_ALREADY_LOGGED_IN) return 'accepted';
      if (code !== undefined && PIN_FAILURES.has(code)) return 'refused';
      throw error;
    }
  });
  if (outcome === 'withheld') return { outcome, ...withheld! };
  return outcome === 'accepted' ? { outcome } : { outcome, code, countLowBefore };
}

/**
 * Logs the user in from the main thread, before signing starts: a PIN error stops the run at once, and the
 * guard keeps every later login on that token (any thread, any module instance) from presenting it again.
 */
export function login(lib: pkcs11.PKCS11, session: Buffer, token: TokenRef, pin: string, seat: PinSeat): void {
  let result: PinOutcome;
  try {
    result = presentPin(lib, token.slot, session, pin, seat);
  } catch (error) {
    throw setupError(`login to token ${tokenName(token)} failed: ${describe(error)}`, 'is the token present and initialized?', error);
  }
  if (result.outcome === 'withheld') {
    throw setupError(`hsm-bench did not present the PIN to token ${tokenName(token)}: ${result.why}`, WITHHELD_HINTS[result.reason]);
  }
  if (result.outcome === 'refused') {
    const why =
      result.code === undefined
        ? 'the PIN already failed on it in this run'
        : `${ckrName(result.code)}: hsm-bench presented the PIN once and will not present it to this token again${pinCounterNote(lib, token, result.countLowBefore ?? false)}`;
    throw new PinRefusedError(`login to token ${tokenName(token)} failed: ${why}`, 'check the PIN (hsm-bench never retries a PIN that failed: smart cards lock after a few wrong tries)', seat.token);
  }
}

/**
 * What the token's own PIN flags say after hsm-bench's one refused try. They count every wrong PIN since the last
 * successful login, tries made elsewhere too, so each is told apart from the one try hsm-bench made
 * (`countLowBefore`: the token reported CKF_USER_PIN_COUNT_LOW before it; SoftHSM2 sets it at the first wrong PIN).
 */
function pinCounterNote(lib: pkcs11.PKCS11, token: TokenRef, countLowBefore: boolean): string {
  try {
    const now = readToken(lib, token.slot);
    if (now.userPinLocked) return '; the token now reports its user PIN locked (CKF_USER_PIN_LOCKED)';
    if (now.userPinFinalTry) return '; the token now reports that one more wrong PIN locks it (CKF_USER_PIN_FINAL_TRY)';
    if (now.userPinCountLow)
      return countLowBefore
        ? '; the token reported CKF_USER_PIN_COUNT_LOW before this try too: a wrong PIN had been entered since its last successful login, not by this run'
        : '; the token now reports CKF_USER_PIN_COUNT_LOW (a wrong PIN entered since its last successful login): that is this one try';
  } catch {
    // The flags are a courtesy; the login error itself is what matters.
  }
  return '';
}
