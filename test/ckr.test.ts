import { describe, expect, it } from 'vitest';
import pkcs11 from 'pkcs11js';
import { ckrCategory, ckrCode, ckrName, describe as describeError } from '../src/model/ckr.js';

describe('ckr', () => {
  it('names codes from the pkcs11js constants', () => {
    expect(ckrName(0)).toBe('CKR_OK');
    expect(ckrName(pkcs11.CKR_PIN_INCORRECT)).toBe('CKR_PIN_INCORRECT');
  });
  it('names the PKCS#11 3.0 codes pkcs11js lacks (tpm2-pkcs11 answers CKR_CURVE_NOT_SUPPORTED for brainpool)', () => {
    expect(ckrName(0x140)).toBe('CKR_CURVE_NOT_SUPPORTED');
    expect(ckrName(0x1b)).toBe('CKR_ACTION_PROHIBITED');
    expect(ckrName(0x42)).toBe('CKR_AEAD_DECRYPT_FAILED');
    expect(ckrName(0x201)).toBe('CKR_TOKEN_RESOURCE_EXCEEDED');
    expect(ckrName(0x202)).toBe('CKR_OPERATION_CANCEL_FAILED');
    expect(ckrCode('CKR_CURVE_NOT_SUPPORTED')).toBe(0x140);
    expect(() => ckrCode('CKR_NO_SUCH_THING')).toThrow(/no PKCS#11 return value is named CKR_NO_SUCH_THING/);
  });
  it('writes vendor codes as unsigned hex, also when they arrive as signed 32-bit integers (the native loop)', () => {
    expect(ckrName(0x80000001)).toBe('CKR_0x80000001');
    expect(ckrName(0x80000001 | 0)).toBe('CKR_0x80000001');
    expect(ckrName(-1 >>> 0)).toBe('CKR_0xFFFFFFFF');
    expect(ckrName(0x300)).toBe('CKR_0x00000300');
    const vendorError = new Error('CKR_VENDOR_DEFINED:2147483649');
    expect(describeError(vendorError)).toMatch(/^CKR_0x80000001 \(a code of the module's vendor/);
  });
  it('puts codes into categories a person can act on', () => {
    expect(ckrCategory(pkcs11.CKR_PIN_LOCKED)).toBe('auth');
    expect(ckrCategory(pkcs11.CKR_DEVICE_REMOVED)).toBe('device');
    expect(ckrCategory(pkcs11.CKR_SESSION_HANDLE_INVALID)).toBe('session');
    expect(ckrCategory(pkcs11.CKR_MECHANISM_INVALID)).toBe('mechanism');
    expect(ckrCategory(0x80000001)).toBe('other');
  });
});
