import pkcs11 from 'pkcs11js';
import { readToken, slotIdOf, type TokenRef } from './discovery.js';
import { findObjects, keyPairFamilyOf } from './keys.js';
import { KEY_PAIR_FAMILY_NAME } from '../model/algorithms.js';
import { curveName } from '../model/curves.js';
import { mechanismNames, PKCS11_3 } from './mechanisms.js';
import { pkcs11Text } from './module.js';
import { CKF_TOKEN_PRESENT } from './token-connection.js';
import { mechanismList, slotList } from './list-counts.js';

/** What `hsm-bench list` shows: every slot, like a hub's port list, and optionally mechanisms and keys. */
export interface SlotListing {
  slotId: string;
  slotDescription: string;
  tokenPresent: boolean;
  token: Omit<TokenRef, 'slot'> | null;
  mechanisms?: { name: string; minKeySize: number; maxKeySize: number }[];
  keys?: KeyListing[];
}

export interface KeyListing {
  label: string;
  id: string;
  type: 'RSA' | 'EC' | 'EdDSA';
  /** RSA modulus bits, or the curve name (the OID in hex for curves hsm-bench does not know). */
  size: string;
  /** Whether the matching private key was found; null when not logged in (private keys are hidden then). */
  hasPrivateKey: boolean | null;
}

export function listSlots(lib: pkcs11.PKCS11): SlotListing[] {
  return slotList(lib, false)
    .sort((a, b) => (slotIdOf(a) < slotIdOf(b) ? -1 : 1))
    .map((slot) => {
      const info = lib.C_GetSlotInfo(slot);
      const tokenPresent = (info.flags & CKF_TOKEN_PRESENT) !== 0;
      let token: SlotListing['token'] = null;
      if (tokenPresent) {
        const { slot: _handle, ...identity } = readToken(lib, slot);
        token = identity;
      }
      return { slotId: slotIdOf(slot).toString(), slotDescription: pkcs11Text(info.slotDescription), tokenPresent, token };
    });
}

/** Signing mechanisms (RSA, ECDSA and EdDSA with CKF_SIGN) with the key sizes the token reports. */
export function signingMechanisms(lib: pkcs11.PKCS11, slot: Buffer): NonNullable<SlotListing['mechanisms']> {
  const codes = mechanismList(lib, slot);
  const names = mechanismNames(codes);
  return codes
    .map((code, i) => ({ code, name: names[i]! }))
    .filter(({ name }) => /RSA|ECDSA|EDDSA/.test(name))
    .map(({ code, name }) => ({ name, info: lib.C_GetMechanismInfo(slot, code) }))
    .filter(({ info }) => (info.flags & pkcs11.CKF_SIGN) !== 0)
    .map(({ name, info }) => ({ name, minKeySize: info.minKeySize, maxKeySize: info.maxKeySize }));
}

/** Key pairs usable for signing, found by their public keys; with `loggedIn`, also checks for the private key. */
export function listKeyPairs(lib: pkcs11.PKCS11, session: Buffer, loggedIn: boolean): KeyListing[] {
  const publicKeys = findObjects(lib, session, [{ type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY }]);
  return publicKeys.flatMap((handle): KeyListing[] => {
    const [label, id, keyType] = lib.C_GetAttributeValue(session, handle, [{ type: pkcs11.CKA_LABEL }, { type: pkcs11.CKA_ID }, { type: pkcs11.CKA_KEY_TYPE }]);
    const type = (keyType!.value as Buffer).readUInt32LE(0);
    let size: string;
    if (type === pkcs11.CKK_RSA) {
      size = String((lib.C_GetAttributeValue(session, handle, [{ type: pkcs11.CKA_MODULUS }])[0]!.value as Buffer).length * 8);
    } else if (type === pkcs11.CKK_EC || type === PKCS11_3.CKK_EC_EDWARDS) {
      size = curveName(lib.C_GetAttributeValue(session, handle, [{ type: pkcs11.CKA_EC_PARAMS }])[0]!.value as Buffer);
    } else {
      return [];
    }
    const idBytes = (id!.value as Buffer) ?? Buffer.alloc(0);
    // Shown, never searched for: control characters are made harmless for the terminal that lists it.
    const labelText = pkcs11Text(((label!.value as Buffer) ?? Buffer.alloc(0)).toString('utf8'));
    let hasPrivateKey: boolean | null = null;
    if (loggedIn) {
      hasPrivateKey =
        findObjects(lib, session, [
          { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
          { type: pkcs11.CKA_ID, value: idBytes },
        ]).length > 0;
    }
    return [{ label: labelText, id: idBytes.toString('hex'), type: KEY_PAIR_FAMILY_NAME[keyPairFamilyOf(type)!], size, hasPrivateKey }];
  });
}
