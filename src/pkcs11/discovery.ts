import pkcs11 from 'pkcs11js';
import { setupError } from '../errors.js';

/** A token as the module reports it; slots are ordered by slot id, and tokens are named by label and serial. */
export interface TokenRef {
  slot: Buffer;
  slotId: string;
  slotDescription: string;
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  firmwareVersion: string;
  loginRequired: boolean;
  initialized: boolean;
  userPinCountLow: boolean;
  userPinFinalTry: boolean;
  userPinLocked: boolean;
}

/** pkcs11js gives slot handles as 8-byte little-endian Buffers. */
export const slotIdOf = (slot: Buffer): bigint => slot.readBigUInt64LE(0);

export const tokenName = (t: Pick<TokenRef, 'label' | 'serial' | 'slotId'>) =>
  `'${t.label}' (serial ${t.serial}, slot ${t.slotId})`;

export function readToken(lib: pkcs11.PKCS11, slot: Buffer): TokenRef {
  const slotInfo = lib.C_GetSlotInfo(slot);
  const info = lib.C_GetTokenInfo(slot);
  const has = (flag: number) => (info.flags & flag) !== 0;
  return {
    slot,
    slotId: slotIdOf(slot).toString(),
    slotDescription: slotInfo.slotDescription.trim(),
    label: info.label.trim(),
    manufacturer: info.manufacturerID.trim(),
    model: info.model.trim(),
    serial: info.serialNumber.trim(),
    firmwareVersion: `${info.firmwareVersion.major}.${info.firmwareVersion.minor}`,
    loginRequired: has(pkcs11.CKF_LOGIN_REQUIRED),
    initialized: has(pkcs11.CKF_TOKEN_INITIALIZED),
    userPinCountLow: has(pkcs11.CKF_USER_PIN_COUNT_LOW),
    userPinFinalTry: has(pkcs11.CKF_USER_PIN_FINAL_TRY),
    userPinLocked: has(pkcs11.CKF_USER_PIN_LOCKED),
  };
}

/** Initialized tokens present in the module, ordered by slot id so that a run can be repeated on the same tokens. */
export function listTokens(lib: pkcs11.PKCS11): TokenRef[] {
  return lib
    .C_GetSlotList(true)
    .sort((a, b) => (slotIdOf(a) < slotIdOf(b) ? -1 : slotIdOf(a) > slotIdOf(b) ? 1 : 0))
    .map((slot) => readToken(lib, slot))
    .filter((t) => t.initialized);
}

export interface TokenSelection {
  slotIds?: string[];
  labelPrefix?: string;
}

/** Applies --slots / --token-label, then checks that enough tokens remain for the largest configuration. */
export function selectTokens(tokens: TokenRef[], selection: TokenSelection, needed: number): TokenRef[] {
  let selected = tokens;
  if (selection.slotIds) {
    const missing = selection.slotIds.filter((id) => !tokens.some((t) => t.slotId === id));
    if (missing.length > 0) {
      throw setupError(
        `no initialized token in slot ${missing.join(', ')}`,
        `slots with tokens: ${tokens.map((t) => t.slotId).join(', ') || 'none'}; run 'hsm-bench list' to see them`,
      );
    }
    selected = selection.slotIds.map((id) => tokens.find((t) => t.slotId === id)!);
  }
  if (selection.labelPrefix !== undefined) {
    selected = selected.filter((t) => t.label.startsWith(selection.labelPrefix!));
  }
  if (selected.length < needed) {
    throw setupError(
      `${needed} token${needed === 1 ? ' is' : 's are'} needed but ${selected.length} ${selected.length === 1 ? 'was' : 'were'} found` +
        (selection.labelPrefix !== undefined ? ` with a label starting '${selection.labelPrefix}'` : ''),
      `found: ${selected.map(tokenName).join(', ') || 'none'}; lower --tokens or connect more tokens`,
    );
  }
  return selected;
}
