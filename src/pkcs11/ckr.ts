import pkcs11 from 'pkcs11js';

export type CkrCategory = 'ok' | 'auth' | 'session' | 'device' | 'key' | 'mechanism' | 'other';

/** CKR code → name, built from pkcs11js's own constants so that no table of codes is copied here. */
const namesByCode = new Map<number, string>(
  Object.entries(pkcs11)
    .filter(([name, value]) => name.startsWith('CKR_') && typeof value === 'number')
    .map(([name, value]) => [value as number, name]),
);

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
};

/** The name of a CKR code, or CKR_0x… for vendor codes pkcs11js does not know. */
export function ckrName(code: number): string {
  return namesByCode.get(code) ?? `CKR_0x${code.toString(16).toUpperCase().padStart(8, '0')}`;
}

export function ckrCategory(code: number): CkrCategory {
  return categoryByName[ckrName(code)] ?? 'other';
}

/**
 * The CKR code and the function of an error thrown by pkcs11js, or undefined for errors that did not come from
 * the module. Most calls throw a Pkcs11Error; a few (C_CreateObject, C_CopyObject, C_SetAttributeValue in
 * pkcs11js 2.1) throw a plain Error whose message is "CKR_NAME:code".
 */
export function moduleFailure(error: unknown): { code: number; method: string } | undefined {
  if (error instanceof pkcs11.Pkcs11Error) return { code: error.code, method: error.method };
  if (!(error instanceof Error)) return undefined;
  const match = /^CKR_\w+:(\d+)$/.exec(error.message);
  if (!match) return undefined;
  return { code: Number(match[1]), method: /at PKCS11\.(C_\w+)/.exec(error.stack ?? '')?.[1] ?? 'a PKCS#11 call' };
}

export const ckrOf = (error: unknown): number | undefined => moduleFailure(error)?.code;

/** An error in a message: the CKR name of a module's error, the message of any other. */
export function describe(error: unknown): string {
  const code = ckrOf(error);
  return code === undefined ? (error as Error).message : ckrName(code);
}
