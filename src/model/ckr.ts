import pkcs11 from 'pkcs11js';

export type CkrCategory = 'ok' | 'auth' | 'session' | 'device' | 'key' | 'mechanism' | 'other';

/**
 * The return values PKCS#11 names (3.0, and those 3.1 and 3.2 added) that pkcs11js 2.1 has no constant for: modules
 * return them (tpm2-pkcs11 answers CKR_CURVE_NOT_SUPPORTED for a curve it lacks), so messages must name them.
 */
const NAMED_BEYOND_PKCS11JS: Record<string, number> = {
  CKR_ACTION_PROHIBITED: 0x1b,
  CKR_AEAD_DECRYPT_FAILED: 0x42,
  CKR_CURVE_NOT_SUPPORTED: 0x140,
  CKR_TOKEN_RESOURCE_EXCEEDED: 0x201,
  CKR_OPERATION_CANCEL_FAILED: 0x202,
  CKR_KEY_EXHAUSTED: 0x203,
  CKR_PENDING: 0x204,
  CKR_SESSION_ASYNC_NOT_SUPPORTED: 0x205,
  CKR_SEED_RANDOM_REQUIRED: 0x206,
  CKR_OPERATION_NOT_VALIDATED: 0x207,
  CKR_TOKEN_NOT_INITIALIZED: 0x208,
  CKR_PARAMETER_SET_NOT_SUPPORTED: 0x209,
};

/** Codes from here up are the vendor's own (CKR_VENDOR_DEFINED): only the module's documentation names them. */
const CKR_VENDOR_DEFINED = 0x80000000;

/** CKR name → code: pkcs11js's constants and the ones it lacks. */
const codesByName = new Map<string, number>([
  ...Object.entries(pkcs11).filter((e): e is [string, number] => e[0].startsWith('CKR_') && typeof e[1] === 'number'),
  ...Object.entries(NAMED_BEYOND_PKCS11JS),
]);
const namesByCode = new Map<number, string>([...codesByName].map(([name, code]) => [code, name]));

/** The code of a CKR name; throws on a name PKCS#11 does not have, so that a typo cannot pass as "no code". */
export function ckrCode(name: string): number {
  const code = codesByName.get(name);
  if (code === undefined) throw new Error(`no PKCS#11 return value is named ${name}`);
  return code;
}

const categoryByName: Record<string, CkrCategory> = {
  CKR_OK: 'ok',
  CKR_PIN_INCORRECT: 'auth',
  CKR_PIN_INVALID: 'auth',
  CKR_PIN_LEN_RANGE: 'auth',
  CKR_PIN_EXPIRED: 'auth',
  CKR_PIN_LOCKED: 'auth',
  CKR_USER_NOT_LOGGED_IN: 'auth',
  CKR_USER_PIN_NOT_INITIALIZED: 'auth',
  CKR_USER_TYPE_INVALID: 'auth',
  CKR_SESSION_HANDLE_INVALID: 'session',
  CKR_SESSION_CLOSED: 'session',
  CKR_SESSION_COUNT: 'session',
  CKR_SESSION_EXISTS: 'session',
  CKR_OPERATION_ACTIVE: 'session',
  CKR_OPERATION_NOT_INITIALIZED: 'session',
  CKR_DEVICE_ERROR: 'device',
  CKR_DEVICE_MEMORY: 'device',
  CKR_DEVICE_REMOVED: 'device',
  CKR_TOKEN_NOT_PRESENT: 'device',
  CKR_TOKEN_NOT_RECOGNIZED: 'device',
  CKR_SLOT_ID_INVALID: 'device',
  CKR_GENERAL_ERROR: 'device',
  CKR_FUNCTION_FAILED: 'device',
  CKR_KEY_HANDLE_INVALID: 'key',
  CKR_KEY_TYPE_INCONSISTENT: 'key',
  CKR_KEY_SIZE_RANGE: 'key',
  CKR_KEY_FUNCTION_NOT_PERMITTED: 'key',
  CKR_OBJECT_HANDLE_INVALID: 'key',
  CKR_MECHANISM_INVALID: 'mechanism',
  CKR_MECHANISM_PARAM_INVALID: 'mechanism',
  CKR_FUNCTION_NOT_SUPPORTED: 'mechanism',
  CKR_CURVE_NOT_SUPPORTED: 'mechanism',
};

/**
 * The name of a CKR code, or CKR_0x… (8 hex digits) for a code PKCS#11 does not name, such as a vendor's. A CK_RV is
 * an unsigned 32-bit value: one that arrives as a signed 32-bit integer (the native loop's records) is read back as
 * unsigned, so vendor codes read 0x8…, never negative.
 */
export function ckrName(code: number): string {
  const unsigned = code >>> 0;
  return namesByCode.get(unsigned) ?? `CKR_0x${unsigned.toString(16).toUpperCase().padStart(8, '0')}`;
}

export const isVendorCode = (code: number) => code >>> 0 >= CKR_VENDOR_DEFINED;

export function ckrCategory(code: number): CkrCategory {
  return categoryByName[ckrName(code)] ?? 'other';
}

/**
 * The CKR code and the function of an error thrown by pkcs11js, or undefined for errors that did not come from
 * the module. Most calls throw a Pkcs11Error; a few (C_CreateObject, C_CopyObject, C_SetAttributeValue in
 * pkcs11js 2.1) throw a plain Error whose message is "CKR_NAME:code".
 */
export function moduleFailure(error: unknown): { code: number; method: string } | undefined {
  if (error instanceof pkcs11.Pkcs11Error) return { code: error.code >>> 0, method: error.method };
  if (!(error instanceof Error)) return undefined;
  const match = /^CKR_\w+:(-?\d+)$/.exec(error.message);
  if (!match) return undefined;
  return { code: Number(match[1]) >>> 0, method: /at PKCS11\.(C_\w+)/.exec(error.stack ?? '')?.[1] ?? 'a PKCS#11 call' };
}

export const ckrOf = (error: unknown): number | undefined => moduleFailure(error)?.code;

/** A CKR code in a message: its name, and for a vendor's code, that only the module's documentation can say more. */
export const describeCode = (code: number) => (isVendorCode(code) ? `${ckrName(code)} (a code of the module's vendor: see its documentation)` : ckrName(code));

/** An error in a message: the CKR name of a module's error, the message of any other. */
export function describe(error: unknown): string {
  const code = ckrOf(error);
  return code === undefined ? (error as Error).message : describeCode(code);
}
