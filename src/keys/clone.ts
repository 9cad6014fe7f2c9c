import { createCipheriv, randomBytes } from 'node:crypto';
import pkcs11, { type Template } from 'pkcs11js';
import { setupError } from '../core/errors.js';
import { verifySignature } from '../operations/verifier.js';
import { publicKeyFromAttributes, type PublicKeyAttributes } from '../pkcs11/public-key.js';
import { ckrOf, describe } from '../model/ckr.js';
import { tokenName, type TokenRef } from '../pkcs11/discovery.js';
import { findObjects, keyPairFamilyOf, publicKeyTemplate, readFlag, readPublicKey } from '../pkcs11/keys.js';
import { chooseSignMechanism, MECHANISM_CHOICES } from '../pkcs11/mechanisms.js';
import { KEY_PAIR_FAMILY_NAME } from '../model/algorithms.js';
import { toPkcs11Mechanism } from '../pkcs11/timed-call.js';
import { signInput, signMechanism } from '../operations/sign.js';
import { quote, commandLine } from '../core/quote.js';
import { mechanismList } from '../pkcs11/list-counts.js';

export const DEFAULT_KEK_LABEL = 'hsm-bench-kek';
/** OpenSC's module on Debian: the one through which SmartCard-HSMs clone keys under their DKEK (with OpenSC's tools). */
export const OPENSC_MODULE = '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so';
/** AES key wrap with padding (RFC 5649): wraps private keys of any length under an AES key-encryption key. */
const WRAP_MECHANISM = { mechanism: pkcs11.CKM_AES_KEY_WRAP_PAD };

export interface Side {
  token: TokenRef;
  session: Buffer;
  /** The flags that name this token in a hint's command: its module (or workspace), and its slot. */
  flags: string[];
}

/** CKA_CHECK_VALUE of an AES key (PKCS#11 2.40): the first 3 bytes of the key's ECB encryption of a zero block. */
const aesCheckValue = (key: Buffer) => {
  const cipher = createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.alloc(16)), cipher.final()]).subarray(0, 3);
};

/** A token that looks like a SmartCard-HSM (CardContact's module, or OpenSC's view of one, or the pico-hsm). */
export const isSmartCardHsm = (t: Pick<TokenRef, 'label' | 'manufacturer' | 'model'>) => /SmartCard-HSM|Pico-HSM/i.test(`${t.label} ${t.model}`) || /CardContact|Pol Henarejos/i.test(t.manufacturer);

/**
 * Imports the KEK as a sensitive, non-extractable token AES key that can only wrap and unwrap. A KEK of that label
 * already there is compared by its check values first: the same share is left as it is, another share's is an error.
 */
export function importKek(lib: pkcs11.PKCS11, s: Side, key: Buffer, label: string, kcv: string): 'imported' | 'present' {
  const present = findObjects(lib, s.session, [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
    { type: pkcs11.CKA_LABEL, value: label },
  ]);
  if (present.length > 1) {
    throw setupError(
      `token ${tokenName(s.token)} has ${present.length} secret keys labelled ${quote(label)}`,
      `keys clone needs one KEK per token: delete the extra ones, or import this share under another --kek-label`,
    );
  }
  if (present.length === 1) {
    sameKek(lib, s, present[0]!, key, label, kcv);
    return 'present';
  }
  try {
    lib.C_CreateObject(s.session, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
      { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_AES },
      { type: pkcs11.CKA_VALUE, value: key },
      { type: pkcs11.CKA_LABEL, value: label },
      { type: pkcs11.CKA_ID, value: Buffer.from(kcv, 'hex') },
      { type: pkcs11.CKA_TOKEN, value: true },
      { type: pkcs11.CKA_PRIVATE, value: true },
      { type: pkcs11.CKA_SENSITIVE, value: true },
      { type: pkcs11.CKA_EXTRACTABLE, value: false },
      { type: pkcs11.CKA_WRAP, value: true },
      { type: pkcs11.CKA_UNWRAP, value: true },
      { type: pkcs11.CKA_ENCRYPT, value: false },
      { type: pkcs11.CKA_DECRYPT, value: false },
    ]);
  } catch (error) {
    throw setupError(`token ${tokenName(s.token)} refused to import the KEK as an AES wrapping key: ${describe(error)}`, kekRefusalHint(s.token, ckrOf(error)), error);
  }
  return 'imported';
}

/** What to do when a token refuses the KEK: the DKEK for SmartCard-HSMs; for any other token, what its refusal means. */
function kekRefusalHint(token: TokenRef, code: number | undefined): string {
  if (isSmartCardHsm(token)) {
    return `SmartCard-HSMs take no KEK through PKCS#11; they share keys through their DKEK instead, which 'keys clone' uses without any KEK through OpenSC's module (--module ${OPENSC_MODULE}; see docs/real-hardware.md)`;
  }
  const noClone = "keys clone cannot copy a key onto it under a KEK: create a key on each token instead (hsm-bench keys create), or copy keys with the token's own tools";
  if (code === pkcs11.CKR_KEY_SIZE_RANGE) return `the token takes no 256-bit AES key; ${noClone}`;
  if (code === pkcs11.CKR_SESSION_READ_ONLY || code === pkcs11.CKR_TOKEN_WRITE_PROTECTED) return 'the token is write-protected or takes no new objects: check its settings';
  return `the token imports no AES keys through PKCS#11 (${manufacturerOf(token)}); ${noClone}`;
}
const manufacturerOf = (t: TokenRef) => `${t.manufacturer} ${t.model}`.replace(/\s+/g, ' ').trim() || 'its module said no more';

/**
 * Whether the KEK already on a token is this share's: its CKA_CHECK_VALUE (computed by the token from the key, where the
 * token has it) or its CKA_ID (the share's key check value, as 'keys kek import' sets it). Another share's is an error.
 */
function sameKek(lib: pkcs11.PKCS11, s: Side, handle: Buffer, key: Buffer, label: string, kcv: string): void {
  const read = (type: number) => {
    try {
      const value = lib.C_GetAttributeValue(s.session, handle, [{ type }])[0]!.value as Buffer | undefined;
      return value && value.length > 0 ? Buffer.from(value) : undefined;
    } catch {
      // An attribute the token does not keep for this key: the other one decides.
      return undefined;
    }
  };
  const checkValue = read(pkcs11.CKA_CHECK_VALUE);
  const id = read(pkcs11.CKA_ID);
  const same = checkValue !== undefined ? checkValue.equals(aesCheckValue(key)) : id !== undefined ? id.toString('hex') === kcv : undefined;
  if (same === true) return;
  const name = tokenName(s.token);
  if (same === undefined) {
    throw setupError(
      `token ${name} already has a secret key labelled ${quote(label)}, and hsm-bench cannot tell whether it is this share's KEK (it has neither a check value nor an id)`,
      `import this share under another --kek-label, or delete that key if nothing needs it (${commandLine('hsm-bench', 'keys', 'delete', ...s.flags, '--label', label)})`,
    );
  }
  throw setupError(
    `token ${name} already has another KEK labelled ${quote(label)} (${checkValue !== undefined ? `check value ${checkValue.toString('hex')}, this share's ${aesCheckValue(key).toString('hex')}` : `key check value ${id!.toString('hex')}, this share's ${kcv}`}): keys cloned under one cannot be unwrapped under the other`,
    `tokens that pass keys to each other need the same share: import that token's share into the others instead, or this one under another --kek-label; delete the other KEK only if no key needs it (${commandLine('hsm-bench', 'keys', 'delete', ...s.flags, '--label', label)})`,
  );
}

function kekOn(lib: pkcs11.PKCS11, s: Side, kekLabel: string): Buffer {
  const found = findObjects(lib, s.session, [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
    { type: pkcs11.CKA_LABEL, value: kekLabel },
  ]);
  if (found.length !== 1) {
    throw setupError(
      `token ${tokenName(s.token)} has ${found.length === 0 ? 'no' : found.length} key-encryption key labelled ${quote(kekLabel)}`,
      "import the same share into every token first: 'hsm-bench keys kek import --file SHARE'",
    );
  }
  return found[0]!;
}

function single(lib: pkcs11.PKCS11, s: Side, cls: number, label: string): Buffer | undefined {
  return findObjects(lib, s.session, [
    { type: pkcs11.CKA_CLASS, value: cls },
    { type: pkcs11.CKA_LABEL, value: label },
  ])[0];
}

const sameKey = (x: PublicKeyAttributes, y: PublicKeyAttributes) =>
  x.family === 'rsa' && y.family === 'rsa'
    ? x.modulus.equals(y.modulus) && x.publicExponent.equals(y.publicExponent)
    : x.family !== 'rsa' && x.family === y.family && x.ecParams.equals(y.ecParams) && x.ecPoint.equals(y.ecPoint);

/**
 * Copies the key pair `label` from `source` to each target: the private key is wrapped under the shared KEK on
 * the source token and unwrapped inside the target, so its material never exists in the clear on the host. The
 * public key is copied as is. Each clone then signs a fresh message that must verify against the source's public
 * key, and its public key must equal the source's, before the clone counts as made.
 */
export function cloneKeyPair(lib: pkcs11.PKCS11, source: Side, targets: Side[], label: string, kekLabel: string, log: (line: string) => void): void {
  const { privateKey, type, id, family, publicKey: sourcePublic } = sourceKeyPair(lib, source, targets, label);
  if (!readFlag(lib, source.session, privateKey, pkcs11.CKA_EXTRACTABLE)) throw notExtractable(source, label);
  const targetKeks = targets.map((t) => kekOn(lib, t, kekLabel));
  let wrapped: Buffer;
  try {
    wrapped = Buffer.from(lib.C_WrapKey(source.session, WRAP_MECHANISM, kekOn(lib, source, kekLabel), privateKey, Buffer.alloc(16384)));
  } catch (error) {
    const code = ckrOf(error);
    throw setupError(
      `the module cannot wrap the private key on token ${tokenName(source.token)}: ${describe(error)}`,
      code === pkcs11.CKR_MECHANISM_INVALID || code === pkcs11.CKR_FUNCTION_NOT_SUPPORTED
        ? 'this module does not support CKM_AES_KEY_WRAP_PAD for private keys; use its vendor tools to clone keys'
        : code === pkcs11.CKR_KEY_NOT_WRAPPABLE
          ? // SoftHSM2 2.6.1 wraps RSA and EC private keys but not Edwards ones.
            `this module wraps no ${KEY_PAIR_FAMILY_NAME[family]} private keys; create a key on each token instead (hsm-bench keys create), or use its vendor tools to clone keys`
          : 'check that the key is extractable and the KEK may wrap',
      error,
    );
  }
  const common: Template = [
    { type: pkcs11.CKA_KEY_TYPE, value: type },
    { type: pkcs11.CKA_LABEL, value: label },
    { type: pkcs11.CKA_ID, value: id },
    { type: pkcs11.CKA_TOKEN, value: true },
  ];
  targets.forEach((t, i) => {
    let clone: Buffer;
    try {
      clone = lib.C_UnwrapKey(t.session, WRAP_MECHANISM, targetKeks[i]!, wrapped, [
        ...common,
        { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
        { type: pkcs11.CKA_PRIVATE, value: true },
        { type: pkcs11.CKA_SENSITIVE, value: true },
        { type: pkcs11.CKA_EXTRACTABLE, value: true },
        { type: pkcs11.CKA_SIGN, value: true },
      ]);
    } catch (error) {
      throw setupError(
        `unwrapping on token ${tokenName(t.token)} failed: ${describe(error)}`,
        'the share imported there must be the same as on the source (compare the KEK ids in hsm-bench list --keys)',
        error,
      );
    }
    const clonePublic = lib.C_CreateObject(t.session, [
      ...common,
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
      { type: pkcs11.CKA_VERIFY, value: true },
      ...publicKeyTemplate(sourcePublic),
    ]);
    prove(lib, t, clone, readPublicKey(lib, t.session, clonePublic, family), sourcePublic);
    log(`token ${tokenName(t.token)}: cloned ${quote(label)} from ${tokenName(source.token)}; its signature verifies against the source's public key`);
  });
}

/**
 * What the source alone can refuse, checked before the targets are logged in to: the key pair is there, and (when it
 * is to be wrapped under the KEK through PKCS#11) it may leave the token wrapped.
 */
export function checkCloneSource(lib: pkcs11.PKCS11, source: Side, label: string, wrappedByKek: boolean): void {
  const { privateKey } = sourceKeyPair(lib, source, [], label);
  if (wrappedByKek && !readFlag(lib, source.session, privateKey, pkcs11.CKA_EXTRACTABLE)) throw notExtractable(source, label);
}

const notExtractable = (source: Side, label: string) =>
  setupError(`key ${quote(label)} on token ${tokenName(source.token)} was created non-extractable and cannot be wrapped`, "create keys meant for cloning with 'hsm-bench keys create --extractable'");

/** The key pair to clone, found on the source, with the targets checked for a key of the same label. */
export function sourceKeyPair(lib: pkcs11.PKCS11, source: Side, targets: Side[], label: string) {
  const privateKey = single(lib, source, pkcs11.CKO_PRIVATE_KEY, label);
  const publicHandle = single(lib, source, pkcs11.CKO_PUBLIC_KEY, label);
  if (!privateKey || !publicHandle) throw setupError(`token ${tokenName(source.token)} has no key pair labelled ${quote(label)}`, "see 'hsm-bench list --keys'");
  const [keyType, id] = lib.C_GetAttributeValue(source.session, privateKey, [{ type: pkcs11.CKA_KEY_TYPE }, { type: pkcs11.CKA_ID }]);
  const type = (keyType!.value as Buffer).readUInt32LE(0);
  const family = keyPairFamilyOf(type);
  if (family === undefined)
    throw setupError(`key ${quote(label)} on token ${tokenName(source.token)} is of a type hsm-bench does not sign with (CKA_KEY_TYPE 0x${type.toString(16)})`, "clone it with the module's own tools");
  for (const t of targets) {
    if (single(lib, t, pkcs11.CKO_PRIVATE_KEY, label) || single(lib, t, pkcs11.CKO_PUBLIC_KEY, label)) {
      throw setupError(
        `token ${tokenName(t.token)} already has a key labelled ${quote(label)}`,
        `delete it first (${commandLine('hsm-bench', 'keys', 'delete', ...t.flags, '--label', label)}) or leave that token out`,
      );
    }
  }
  return { privateKey, type, id: (id!.value as Buffer) ?? Buffer.alloc(0), family, publicKey: readPublicKey(lib, source.session, publicHandle, family) };
}

/**
 * Finds the clone of `label` on a target after another program (the card's own tools) made it, and proves it
 * as cloneKeyPair does: same public key as the source, and a signature that verifies under the source's key.
 */
export function proveClone(lib: pkcs11.PKCS11, t: Side, label: string, sourcePublic: PublicKeyAttributes): void {
  const clone = single(lib, t, pkcs11.CKO_PRIVATE_KEY, label);
  const clonePublic = single(lib, t, pkcs11.CKO_PUBLIC_KEY, label);
  if (!clone || !clonePublic) throw setupError(`token ${tokenName(t.token)} shows no key pair labelled ${quote(label)} after the unwrap`, "see 'hsm-bench list --keys'");
  prove(lib, t, clone, readPublicKey(lib, t.session, clonePublic, sourcePublic.family), sourcePublic);
}

function prove(lib: pkcs11.PKCS11, t: Side, clone: Buffer, clonePublic: PublicKeyAttributes, sourcePublic: PublicKeyAttributes): void {
  if (!sameKey(clonePublic, sourcePublic)) throw setupError(`the public key cloned to token ${tokenName(t.token)} differs from the source's`);
  const mechanism = chooseSignMechanism(MECHANISM_CHOICES[sourcePublic.family][0], [{ name: tokenName(t.token), mechanisms: mechanismList(lib, t.token.slot) }]);
  const message = randomBytes(32);
  lib.C_SignInit(t.session, toPkcs11Mechanism(signMechanism(mechanism)), clone);
  const signature = Buffer.from(lib.C_Sign(t.session, signInput(mechanism, message), Buffer.alloc(1024)));
  if (!verifySignature(publicKeyFromAttributes(sourcePublic), mechanism, message, signature)) {
    throw setupError(`the key cloned to token ${tokenName(t.token)} signs, but its signature does not verify against the source's public key`, 'delete the clone and check the wrapping key');
  }
}
