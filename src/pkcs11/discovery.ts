import { TokenSelection } from '../model/plan.js';
import pkcs11 from 'pkcs11js';
import { setupError, usageError } from '../core/errors.js';
import { pkcs11Text } from './module.js';
import { type ModuleInfo } from '../model/run-result.js';
import type { Pkcs11Uri } from '../model/token-uri.js';
import { quote, shown } from '../core/quote.js';
import { slotList } from './list-counts.js';
import { serialShown } from '../model/serial.js';

/**
 * A token as the module reports it. Labels and even serials repeat in real clusters (SmartCard-HSMs initialised
 * alike): within one module instance the slot tells tokens apart, and within a run a token is its index in the
 * run's token list.
 */
export interface TokenRef {
  slot: Buffer;
  slotId: string;
  slotDescription: string;
  slotManufacturer: string;
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

/** How messages name a token: a token may have an empty serial (CardContact's module reports none for a SmartCard-HSM). */
export const tokenName = (t: Pick<TokenRef, 'label' | 'serial' | 'slotId'>) => `'${t.label}' (${t.serial ? `serial ${t.serial}` : 'no serial'}, slot ${t.slotId})`;

export function readToken(lib: pkcs11.PKCS11, slot: Buffer): TokenRef {
  const slotInfo = lib.C_GetSlotInfo(slot);
  const info = lib.C_GetTokenInfo(slot);
  const has = (flag: number) => (info.flags & flag) !== 0;
  return {
    slot,
    slotId: slotIdOf(slot).toString(),
    slotDescription: pkcs11Text(slotInfo.slotDescription),
    slotManufacturer: pkcs11Text(slotInfo.manufacturerID),
    label: pkcs11Text(info.label),
    manufacturer: pkcs11Text(info.manufacturerID),
    model: pkcs11Text(info.model),
    serial: pkcs11Text(info.serialNumber),
    firmwareVersion: `${info.firmwareVersion.major}.${info.firmwareVersion.minor}`,
    loginRequired: has(pkcs11.CKF_LOGIN_REQUIRED),
    initialized: has(pkcs11.CKF_TOKEN_INITIALIZED),
    userPinCountLow: has(pkcs11.CKF_USER_PIN_COUNT_LOW),
    userPinFinalTry: has(pkcs11.CKF_USER_PIN_FINAL_TRY),
    userPinLocked: has(pkcs11.CKF_USER_PIN_LOCKED),
  };
}

const bySlotId = (a: TokenRef, b: TokenRef) => (BigInt(a.slotId) < BigInt(b.slotId) ? -1 : BigInt(a.slotId) > BigInt(b.slotId) ? 1 : 0);

/** Initialized tokens present in the module, ordered by slot id so that a run can be repeated on the same tokens. */
export function listTokens(lib: pkcs11.PKCS11): TokenRef[] {
  return slotList(lib, true)
    .map((slot) => readToken(lib, slot))
    .filter((t) => t.initialized)
    .sort(bySlotId);
}

/** Whether a token (of `module`) matches the URI's attributes. */
function matchesUri(t: TokenRef, uri: Pkcs11Uri, module: ModuleInfo): boolean {
  const actual: Record<keyof Pkcs11Uri, string> = {
    token: t.label,
    manufacturer: t.manufacturer,
    serial: t.serial,
    model: t.model,
    'slot-description': t.slotDescription,
    'slot-manufacturer': t.slotManufacturer,
    'slot-id': t.slotId,
    'library-manufacturer': module.manufacturer,
    'library-description': module.libraryDescription,
    'library-version': module.libraryVersion,
  };
  return Object.entries(uri).every(([name, value]) => actual[name as keyof Pkcs11Uri] === value);
}

/** The filters that do not fix an order (--token-label, --token-uri), as one description for messages. */
const filterText = (s: TokenSelection) => [s.labelPrefix !== undefined && `a label starting ${quote(s.labelPrefix)}`, s.uri && `the attributes of --token-uri`].filter(Boolean).join(' and ');

/** How a user names the tokens a PIN may go to. */
export const NAME_TOKENS_HINT = "name them with --slots, --serials, --token-label or --token-uri (see 'hsm-bench list'), or take every one with --all-tokens";

/**
 * Applies --token-uri and --token-label, then --slots or --serials (which also fix the order), and checks that
 * enough tokens remain for the largest configuration. The caller logs in to the tokens returned, so when none
 * were named and the module shows more than `needed`, hsm-bench would be choosing where the PIN goes: a card with
 * another PIN would lose a try at every run, and three runs lock it. That is refused (exit 2).
 */
export function selectTokens(tokens: TokenRef[], selection: TokenSelection, needed: number, module: ModuleInfo): TokenRef[] {
  if (!selection.named && tokens.length > needed) {
    throw usageError(
      `the module shows ${tokens.length} initialized tokens and none was named: hsm-bench presents the PIN only to tokens you name`,
      `${NAME_TOKENS_HINT}; ${needed === 1 ? 'a module with one token needs no name' : `a run on ${needed} tokens of a module that shows ${needed} needs no name`}`,
    );
  }
  let selected = tokens.filter((t) => (selection.labelPrefix === undefined || t.label.startsWith(selection.labelPrefix)) && (!selection.uri || matchesUri(t, selection.uri, module)));
  if (selection.order === 'label') selected = [...selected].sort((a, b) => a.label.localeCompare(b.label) || bySlotId(a, b));
  const filters = filterText(selection);
  const seen = (list: TokenRef[], what: (t: TokenRef) => string) => list.map(what).join(', ') || 'none';
  if (selection.slotIds) {
    const missing = selection.slotIds.filter((id) => !selected.some((t) => t.slotId === id));
    if (missing.length > 0) {
      throw setupError(
        `no initialized token${filters ? ` with ${filters}` : ''} in slot ${missing.map(shown).join(', ')}`,
        `slots with such tokens: ${seen(selected, (t) => t.slotId)}; run 'hsm-bench list' to see them`,
      );
    }
    selected = selection.slotIds.map((id) => selected.find((t) => t.slotId === id)!);
  } else if (selection.serials) {
    selected = selection.serials.map((serial) => {
      const matching = selected.filter((t) => t.serial === serial);
      if (matching.length === 0) {
        throw setupError(
          `no initialized token${filters ? ` with ${filters}` : ''} has serial ${shown(serial)}`,
          `serials found: ${seen(selected, (t) => serialShown(t.serial))}; run 'hsm-bench list'`,
        );
      }
      if (matching.length > 1) {
        throw setupError(
          `${matching.length} tokens carry serial ${shown(serial)} (slots ${matching.map((t) => t.slotId).join(', ')})`,
          'identical tokens can share a serial: select them by slot with --slots, or with --token-uri and slot-id',
        );
      }
      return matching[0]!;
    });
  }
  if (selected.length < needed) {
    throw setupError(
      `${needed} token${needed === 1 ? ' is' : 's are'} needed but ${selected.length} ${selected.length === 1 ? 'was' : 'were'} found${filters ? ` with ${filters}` : ''}`,
      `found: ${selected.map(tokenName).join(', ') || 'none'}; lower --tokens, widen the selection, or connect more tokens`,
    );
  }
  return selected;
}
