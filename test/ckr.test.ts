import { describe, expect, it } from 'vitest';
import pkcs11 from 'pkcs11js';
import { ckrCategory, ckrName } from '../src/pkcs11/ckr.js';

describe('ckr', () => {
  it('names codes from the pkcs11js constants', () => {
    expect(ckrName(0)).toBe('CKR_OK');
    expect(ckrName(pkcs11.CKR_PIN_INCORRECT)).toBe('CKR_PIN_INCORRECT');
    expect(ckrName(0x80000001)).toBe('CKR_0x80000001');
  });
  it('puts codes into categories a person can act on', () => {
    expect(ckrCategory(pkcs11.CKR_PIN_LOCKED)).toBe('auth');
    expect(ckrCategory(pkcs11.CKR_DEVICE_REMOVED)).toBe('device');
    expect(ckrCategory(pkcs11.CKR_SESSION_HANDLE_INVALID)).toBe('session');
    expect(ckrCategory(pkcs11.CKR_MECHANISM_INVALID)).toBe('mechanism');
    expect(ckrCategory(0x80000001)).toBe('other');
  });
});
