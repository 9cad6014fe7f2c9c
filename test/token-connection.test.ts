import pkcs11 from 'pkcs11js';
import { describe, expect, it } from 'vitest';
import { PinGuard } from '../src/pkcs11/pin-guard.js';
import { TokenConnection } from '../src/pkcs11/token-connection.js';

/**
 * A scripted module instance: the fault this retry exists for (a fresh p11-kit client instance whose server-side
 * SoftHSM2 misses a token while another process rewrites the token file) cannot be produced on demand by a real
 * module, so the policy is checked here and the real stack is exercised by the p11-kit tests.
 */
function scriptedModule(opts: { absentUntilRenewals: number; loginError?: number }) {
  const slot = Buffer.alloc(8);
  const calls: string[] = [];
  let renewals = 0;
  const ckError = (code: number) => new Error(`CKR_SCRIPTED:${code}`);
  const lib = {
    C_GetSlotList: () => (renewals >= opts.absentUntilRenewals ? [slot] : []),
    C_GetSlotInfo: () => ({ flags: 1 }),
    C_OpenSession: () => Buffer.from([1]),
    C_CloseSession: () => undefined,
    C_GetSessionInfo: () => ({ state: 0 }),
    C_GetTokenInfo: () => ({ flags: pkcs11.CKF_TOKEN_INITIALIZED | pkcs11.CKF_LOGIN_REQUIRED, minPinLen: 4, maxPinLen: 255 }),
    C_Login: () => {
      calls.push('C_Login');
      if (opts.loginError !== undefined) throw ckError(opts.loginError);
    },
    C_FindObjectsInit: () => undefined,
    C_FindObjects: () => [Buffer.from([2])],
    C_FindObjectsFinal: () => undefined,
  } as unknown as pkcs11.PKCS11;
  const connection = new TokenConnection(lib, slot, '648219', { guard: new PinGuard(1), token: 0 }, [{ key: { kind: 'token-object', cls: pkcs11.CKO_PRIVATE_KEY, label: 'k' }, id: Buffer.alloc(0) }]);
  const sleptMs: number[] = [];
  const start = () =>
    connection.connectAtStart(
      (ms) => sleptMs.push(ms),
      () => renewals++,
    );
  return { start, calls, sleptMs, renewals: () => renewals };
}

describe('TokenConnection.connectAtStart', () => {
  it('renews the instance and asks again while the token is absent, then connects', () => {
    const m = scriptedModule({ absentUntilRenewals: 2 });
    expect(m.start()).toEqual({ ok: true });
    expect(m.renewals()).toBe(2);
    expect(m.sleptMs).toEqual([50, 100]);
  });

  it('gives up after about two seconds of absence, with the reason', () => {
    const m = scriptedModule({ absentUntilRenewals: 99 });
    expect(m.start()).toMatchObject({ ok: false, reason: 'absent' });
    expect(m.sleptMs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2000);
  });

  it('never presents a refused PIN again', () => {
    const m = scriptedModule({ absentUntilRenewals: 0, loginError: pkcs11.CKR_PIN_INCORRECT });
    expect(m.start()).toMatchObject({ ok: false, reason: 'pin-refused' });
    expect(m.calls.filter((c) => c === 'C_Login')).toHaveLength(1);
    expect(m.renewals()).toBe(0);
  });

  it('asks again after an error that is not about the PIN', () => {
    const m = scriptedModule({ absentUntilRenewals: 0, loginError: pkcs11.CKR_GENERAL_ERROR });
    expect(m.start()).toMatchObject({ ok: false, reason: 'error' });
    expect(m.renewals()).toBeGreaterThan(0);
  });
});
