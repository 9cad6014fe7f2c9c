import pkcs11, { type Template } from 'pkcs11js';
import { setupError } from '../core/errors.js';
import { edwardsCurveOid, type PublicKeyAttributes } from './public-key.js';
import { KEY_PAIR_FAMILY_NAME, type Algorithm, type KeyPairFamily } from '../model/algorithms.js';
import { PKCS11_3 } from './mechanisms.js';
import { curveName } from '../model/curves.js';
import { tokenName, type TokenRef } from './discovery.js';
import { describe } from '../model/ckr.js';
import { quote, commandLine } from '../core/quote.js';

export interface KeyPairRef {
  label: string;
  id: Buffer;
  privateKey: Buffer;
  publicKeyHandle: Buffer;
  publicKey: PublicKeyAttributes;
}

/** What a key pair is for: one usage per key, as PKI practice keeps signing and decryption keys apart. */
export type KeyUsage = 'sign' | 'decrypt' | 'derive';
export const KEY_USAGES: readonly KeyUsage[] = ['sign', 'decrypt', 'derive'];

/** hsm-bench-<alg> for signing keys (as before usages existed), hsm-bench-<alg>-<usage> for the others. */
export const defaultKeyLabel = (alg: Algorithm, usage: KeyUsage = 'sign') => `hsm-bench-${alg.id}${usage === 'sign' ? '' : `-${usage}`}`;

/** The attributes of a key pair for a usage: private key, public key. */
export const USAGE_ATTRIBUTES: Record<KeyUsage, { private: number; public: number | null }> = {
  sign: { private: pkcs11.CKA_SIGN, public: pkcs11.CKA_VERIFY },
  decrypt: { private: pkcs11.CKA_DECRYPT, public: pkcs11.CKA_ENCRYPT },
  derive: { private: pkcs11.CKA_DERIVE, public: null },
};

export function findObjects(lib: pkcs11.PKCS11, session: Buffer, template: Template): Buffer[] {
  lib.C_FindObjectsInit(session, template);
  try {
    return lib.C_FindObjects(session, 64);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

/** Reads only public attributes: private key material never leaves the token. */
export function readPublicKey(lib: pkcs11.PKCS11, session: Buffer, handle: Buffer, family: KeyPairFamily): PublicKeyAttributes {
  if (family === 'rsa') {
    const [modulus, publicExponent] = lib.C_GetAttributeValue(session, handle, [{ type: pkcs11.CKA_MODULUS }, { type: pkcs11.CKA_PUBLIC_EXPONENT }]);
    return { family: 'rsa', modulus: modulus!.value as Buffer, publicExponent: publicExponent!.value as Buffer };
  }
  const [ecParams, ecPoint] = lib.C_GetAttributeValue(session, handle, [{ type: pkcs11.CKA_EC_PARAMS }, { type: pkcs11.CKA_EC_POINT }]);
  return { family, ecParams: ecParams!.value as Buffer, ecPoint: ecPoint!.value as Buffer };
}

/** The family of a CKA_KEY_TYPE, or undefined for a key type that makes no key pair hsm-bench uses. */
export function keyPairFamilyOf(keyType: number): KeyPairFamily | undefined {
  return keyType === pkcs11.CKK_RSA ? 'rsa' : keyType === pkcs11.CKK_EC ? 'ec' : keyType === PKCS11_3.CKK_EC_EDWARDS ? 'eddsa' : undefined;
}

/** The attributes that write a public key back into a token. */
export function publicKeyTemplate(k: PublicKeyAttributes): Template {
  return k.family === 'rsa'
    ? [
        { type: pkcs11.CKA_MODULUS, value: k.modulus },
        { type: pkcs11.CKA_PUBLIC_EXPONENT, value: k.publicExponent },
      ]
    : [
        { type: pkcs11.CKA_EC_PARAMS, value: k.ecParams },
        { type: pkcs11.CKA_EC_POINT, value: k.ecPoint },
      ];
}

function describeKey(k: PublicKeyAttributes): string {
  return k.family === 'rsa' ? `an RSA-${k.modulus.length * 8} key` : `an ${KEY_PAIR_FAMILY_NAME[k.family]} key on ${curveName(k.ecParams)}`;
}

function matchesAlgorithm(k: PublicKeyAttributes, alg: Algorithm): boolean {
  if (k.family !== alg.family) return false;
  if (k.family === 'rsa') return k.modulus.length * 8 === alg.bits;
  // An Edwards curve may be named by its OID or by its printable name (PKCS#11 3.0 allows both).
  if (k.family === 'eddsa') return alg.family === 'eddsa' && edwardsCurveOid(k.ecParams)?.equals(alg.curveOidDer) === true;
  return alg.family === 'ec' && k.ecParams.equals(alg.curveOidDer);
}

export function hasPrivateKey(lib: pkcs11.PKCS11, session: Buffer, label: string): boolean {
  return (
    findObjects(lib, session, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
      { type: pkcs11.CKA_LABEL, value: label },
    ]).length > 0
  );
}

/**
 * Finds the key pair labelled `label` on a logged-in session: the private key for signing, the public key's
 * material for host verification. Only public attributes are read; private key material never leaves the token.
 * `tokenFlags`: the flags that point `hsm-bench keys` at the run's module and tokens (src/plan/token-flags.ts), for
 * the command a missing key's hint gives.
 */
export function findKeyPair(lib: pkcs11.PKCS11, session: Buffer, token: TokenRef, alg: Algorithm, label: string, usage: KeyUsage, tokenFlags: readonly string[]): KeyPairRef {
  const hint = `create it with: ${commandLine('hsm-bench', 'keys', 'create', ...tokenFlags, '--alg', alg.id, '--usage', usage, '--label', label)} (or, with --op, name an existing key with --key-label)`;
  let privateKeys: Buffer[];
  try {
    privateKeys = findObjects(lib, session, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
      { type: pkcs11.CKA_LABEL, value: label },
    ]);
  } catch (error) {
    throw setupError(`cannot search keys on token ${tokenName(token)}: ${describe(error)}`, hint, error);
  }
  if (privateKeys.length === 0) throw setupError(`no private key labelled ${quote(label)} on token ${tokenName(token)}`, hint);
  if (privateKeys.length > 1) throw setupError(`${privateKeys.length} private keys are labelled ${quote(label)} on token ${tokenName(token)}`, 'give each key pair its own label');
  const privateKey = privateKeys[0]!;
  const [idAttr] = lib.C_GetAttributeValue(session, privateKey, [{ type: pkcs11.CKA_ID }]);
  const id = (idAttr!.value as Buffer) ?? Buffer.alloc(0);
  const publicTemplate: Template = [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
    { type: pkcs11.CKA_LABEL, value: label },
  ];
  if (id.length > 0) publicTemplate.push({ type: pkcs11.CKA_ID, value: id });
  const publicKeys = findObjects(lib, session, publicTemplate);
  if (publicKeys.length !== 1) {
    throw setupError(
      `no single public key labelled ${quote(label)} beside the private key on token ${tokenName(token)}`,
      'hsm-bench verifies every signature against the public key on the token; import or create the public key',
    );
  }
  const [keyType] = lib.C_GetAttributeValue(session, publicKeys[0]!, [{ type: pkcs11.CKA_KEY_TYPE }]);
  const family = keyPairFamilyOf((keyType!.value as Buffer).readUInt32LE(0));
  if (family !== alg.family) {
    const what = family === undefined ? 'a key of a type hsm-bench does not sign with' : `an ${KEY_PAIR_FAMILY_NAME[family]} key`;
    throw setupError(`key ${quote(label)} on token ${tokenName(token)} is ${what}, not ${alg.displayName}`, 'choose the matching --alg or another --key-label');
  }
  const publicKey = readPublicKey(lib, session, publicKeys[0]!, family);
  if (!matchesAlgorithm(publicKey, alg)) {
    throw setupError(`key ${quote(label)} on token ${tokenName(token)} is ${describeKey(publicKey)}, not ${alg.displayName}`, 'choose the matching --alg or another --key-label');
  }
  return { label, id, privateKey, publicKeyHandle: publicKeys[0]!, publicKey };
}

/** The usages a private key allows, as the token says (sign, decrypt, derive). */
export function usagesOf(lib: pkcs11.PKCS11, session: Buffer, privateKey: Buffer): KeyUsage[] {
  return KEY_USAGES.filter((u) => {
    try {
      return readFlag(lib, session, privateKey, USAGE_ATTRIBUTES[u].private);
    } catch {
      // An attribute the key type does not have (CKA_DERIVE on some RSA keys): not a usage it allows.
      return false;
    }
  });
}

/** The usage attribute a key pair lacks for `usage` (CKA_DECRYPT false on the private key…), or null. */
export function missingUsage(lib: pkcs11.PKCS11, session: Buffer, pair: KeyPairRef, usage: KeyUsage): string | null {
  const attributes = USAGE_ATTRIBUTES[usage];
  const name = (type: number) => Object.entries(pkcs11).find(([n, v]) => n.startsWith('CKA_') && v === type)![0];
  if (!readFlag(lib, session, pair.privateKey, attributes.private)) return `${name(attributes.private)} on the private key`;
  if (attributes.public !== null && !readFlag(lib, session, pair.publicKeyHandle, attributes.public)) return `${name(attributes.public)} on the public key`;
  return null;
}

/** A CK_BBOOL attribute: pkcs11js returns it as a one-byte Buffer (a Buffer of 0 is truthy, so read the byte). */
export function readFlag(lib: pkcs11.PKCS11, session: Buffer, handle: Buffer, type: number): boolean {
  return (lib.C_GetAttributeValue(session, handle, [{ type }])[0]!.value as Buffer)[0] === 1;
}

/** Deletes one object: only `keys delete` does, and only objects labelled as the user named them. */
export function destroyObject(lib: pkcs11.PKCS11, session: Buffer, handle: Buffer): void {
  lib.C_DestroyObject(session, handle);
}

/** Every object (any class) whose CKA_LABEL is exactly `label`. */
export function objectsLabelled(lib: pkcs11.PKCS11, session: Buffer, label: string): { handle: Buffer; className: string }[] {
  return findObjects(lib, session, [{ type: pkcs11.CKA_LABEL, value: label }]).map((handle) => {
    const cls = (lib.C_GetAttributeValue(session, handle, [{ type: pkcs11.CKA_CLASS }])[0]!.value as Buffer).readUInt32LE(0);
    const className = cls === pkcs11.CKO_PRIVATE_KEY ? 'private key' : cls === pkcs11.CKO_PUBLIC_KEY ? 'public key' : cls === pkcs11.CKO_SECRET_KEY ? 'secret key' : `object class ${cls}`;
    return { handle, className };
  });
}
