import pkcs11 from 'pkcs11js';
import { setupError } from '../errors.js';
import { ckrName, ckrOf } from './ckr.js';
import { readToken, tokenName, type TokenRef } from './discovery.js';

const PIN_FAILURES = new Set([pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_PIN_EXPIRED, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE]);

/** Tokens (by serial) whose login failed in this process: real cards lock after three wrong PINs, so never again. */
const tokensWithFailedPin = new Set<string>();

export function openSession(lib: pkcs11.PKCS11, token: TokenRef, readWrite = false): Buffer {
  const flags = pkcs11.CKF_SERIAL_SESSION | (readWrite ? pkcs11.CKF_RW_SESSION : 0);
  try {
    return lib.C_OpenSession(token.slot, flags);
  } catch (error) {
    throw setupError(`cannot open a session on token ${tokenName(token)}: ${describe(error)}`, 'is the token present and not in use by another program?', error);
  }
}

/**
 * Logs the user in. Login is per token per process and shared by all its sessions (pitfall 9), so it is done once,
 * in the main thread, on a session kept open for the whole run. A PIN error stops at once and is never retried.
 */
export function login(lib: pkcs11.PKCS11, session: Buffer, token: TokenRef, pin: string): void {
  if (tokensWithFailedPin.has(token.serial)) {
    throw setupError(`the PIN already failed on token ${tokenName(token)}; not trying it again`, 'check the PIN before the next run');
  }
  try {
    lib.C_Login(session, pkcs11.CKU_USER, pin);
  } catch (error) {
    const code = ckrOf(error);
    if (code === pkcs11.CKR_USER_ALREADY_LOGGED_IN) return;
    if (code !== undefined && PIN_FAILURES.has(code)) {
      tokensWithFailedPin.add(token.serial);
      throw setupError(`login to token ${tokenName(token)} failed: ${ckrName(code)}${pinCounterNote(lib, token)}`, 'check the PIN (hsm-bench never retries a PIN that failed: smart cards lock after a few wrong tries)', error);
    }
    throw setupError(`login to token ${tokenName(token)} failed: ${describe(error)}`, 'is the token present and initialized?', error);
  }
}

function pinCounterNote(lib: pkcs11.PKCS11, token: TokenRef): string {
  try {
    const now = readToken(lib, token.slot);
    if (now.userPinLocked) return ' (the user PIN is now locked)';
    if (now.userPinFinalTry) return ' (CKF_USER_PIN_FINAL_TRY: one more wrong PIN locks the token)';
    if (now.userPinCountLow) return ' (CKF_USER_PIN_COUNT_LOW: a wrong PIN was entered before)';
  } catch {
    // The flags are a courtesy; the login error itself is what matters.
  }
  return '';
}

export function describe(error: unknown): string {
  const code = ckrOf(error);
  return code === undefined ? (error as Error).message : ckrName(code);
}
