import { randomBytes } from 'node:crypto';
import pkcs11, { type Template } from 'pkcs11js';
import { setupError } from '../core/errors.js';
import { withArticle } from '../core/words.js';
import { ALGORITHMS, isKeyPairFamily, KEY_PAIR_FAMILY_NAME, type Algorithm, type KeyPairFamily } from '../model/algorithms.js';
import { ckrCode, ckrOf, describe } from '../model/ckr.js';
import { tokenName, type TokenRef } from './discovery.js';
import { KEY_PAIR_GENERATION, mechanismNames, PKCS11_3 } from './mechanisms.js';
import { USAGE_ATTRIBUTES, readFlag, type KeyUsage } from './keys.js';

/** The usage attributes of a key pair: what the private key may do, what the public key may do (ECDH derives with the private key). */
const PRIVATE_USAGES = [pkcs11.CKA_SIGN, pkcs11.CKA_DECRYPT, pkcs11.CKA_UNWRAP, pkcs11.CKA_DERIVE, pkcs11.CKA_SIGN_RECOVER];
const PUBLIC_USAGES = [pkcs11.CKA_VERIFY, pkcs11.CKA_ENCRYPT, pkcs11.CKA_WRAP, pkcs11.CKA_VERIFY_RECOVER];
/**
 * What a private key of each usage may do and still have one usage: signing with message recovery is signing, unwrapping
 * is decrypting a key. Everything else the private key allows, read back, is a second usage, and such a key is not
 * kept. The public key's attributes are said false too but not held against the token: what a public key allows
 * anyone can do with it anyway (sc-hsm-embedded marks every EC public key CKA_ENCRYPT).
 */
const SAME_USAGE: Record<KeyUsage, number[]> = {
  sign: [pkcs11.CKA_SIGN, pkcs11.CKA_SIGN_RECOVER],
  decrypt: [pkcs11.CKA_DECRYPT, pkcs11.CKA_UNWRAP],
  derive: [pkcs11.CKA_DERIVE],
};

/** The mechanisms hsm-bench's operations use a key of each usage with: a key for a usage the token cannot use is refused. */
const USAGE_MECHANISMS: Record<KeyUsage, Record<KeyPairFamily, { name: string; ckm: number }[]>> = {
  sign: {
    rsa: ['CKM_SHA256_RSA_PKCS', 'CKM_RSA_PKCS', 'CKM_SHA256_RSA_PKCS_PSS', 'CKM_RSA_PKCS_PSS'].map(mechanism),
    ec: ['CKM_ECDSA_SHA256', 'CKM_ECDSA'].map(mechanism),
    eddsa: ['CKM_EDDSA'].map(mechanism),
  },
  decrypt: { rsa: ['CKM_RSA_PKCS', 'CKM_RSA_PKCS_OAEP'].map(mechanism), ec: [], eddsa: [] },
  derive: { rsa: [], ec: ['CKM_ECDH1_DERIVE'].map(mechanism), eddsa: [] },
};
function mechanism(name: string) {
  return { name, ckm: ({ ...pkcs11, ...PKCS11_3 } as unknown as Record<string, number>)[name]! };
}

const attributeName = (type: number) => Object.entries(pkcs11).find(([n, v]) => n.startsWith('CKA_') && v === type)?.[0] ?? `attribute 0x${type.toString(16)}`;

/** Refusals that may come from one attribute of the templates (tpm2-pkcs11 answers CKR_GENERAL_ERROR for some). */
const TEMPLATE_SUSPECTS = new Set(
  [
    'CKR_ATTRIBUTE_VALUE_INVALID',
    'CKR_ATTRIBUTE_TYPE_INVALID',
    'CKR_ATTRIBUTE_READ_ONLY',
    'CKR_TEMPLATE_INCONSISTENT',
    'CKR_TEMPLATE_INCOMPLETE',
    'CKR_ACTION_PROHIBITED',
    'CKR_GENERAL_ERROR',
    'CKR_FUNCTION_FAILED',
  ].map(ckrCode),
);

/** One attribute of the templates that the key pair could be made without: which template, and its value. */
interface Optional {
  side: 'private' | 'public';
  type: number;
  value: boolean;
}
const said = (a: Optional) => `${attributeName(a.type)}=${a.value} on the ${a.side} key`;

export interface GeneratedKeyPair {
  id: Buffer;
  privateKey: Buffer;
  publicKey: Buffer;
  /** What was left out of the template because the token refused it, although the key it made has no such usage. */
  leftOut: string[];
}

/**
 * Generates a token key pair, private and sensitive, for one usage and no other: every other usage attribute is said
 * false in the templates (left out, a token applies its own defaults: tpm2-pkcs11's EC keys sign and decrypt) and
 * read back from what the token made. Non-extractable unless `extractable` (needed only to clone it under a wrapping
 * key: the key still never leaves a token in the clear). A refusal is explained: the key-generation mechanism, the
 * key size or curve, or the attributes the token refuses, found by adding each optional attribute back in turn to the
 * key made with its usage alone (each trial key deleted again). Nothing is kept that does more than its usage.
 */
export function generateKeyPair(
  lib: pkcs11.PKCS11,
  session: Buffer,
  token: TokenRef,
  alg: Algorithm,
  label: string,
  { extractable = false, usage = 'sign' }: { extractable?: boolean; usage?: KeyUsage } = {},
): GeneratedKeyPair {
  if (!isKeyPairFamily(alg.family)) throw new Error(`${alg.displayName} is not a key pair algorithm`);
  const family = alg.family;
  const name = tokenName(token);
  const what = withArticle(`${alg.displayName} key pair`);
  const generation = KEY_PAIR_GENERATION[family];
  checkMechanisms(lib, token, alg, usage, generation);

  const id = randomBytes(16);
  const wanted = USAGE_ATTRIBUTES[usage];
  const common: Template = [
    { type: pkcs11.CKA_TOKEN, value: true },
    { type: pkcs11.CKA_LABEL, value: label },
    { type: pkcs11.CKA_ID, value: id },
  ];
  const publicBase: Template = [
    ...common,
    ...(family === 'rsa'
      ? [
          { type: pkcs11.CKA_MODULUS_BITS, value: alg.bits },
          { type: pkcs11.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
        ]
      : [{ type: pkcs11.CKA_EC_PARAMS, value: (alg as { curveOidDer: Buffer }).curveOidDer }]),
  ];
  const privateBase: Template = [...common, { type: pkcs11.CKA_PRIVATE, value: true }, { type: pkcs11.CKA_SENSITIVE, value: true }];
  // What a refusal is searched among: the extractable flag, the usage itself, the other usages said false.
  const optional: Optional[] = [
    ...(extractable ? [{ side: 'private' as const, type: pkcs11.CKA_EXTRACTABLE, value: true }] : []),
    { side: 'private', type: wanted.private, value: true },
    ...(wanted.public === null ? [] : [{ side: 'public' as const, type: wanted.public, value: true }]),
    ...PRIVATE_USAGES.filter((t) => t !== wanted.private).map((type) => ({ side: 'private' as const, type, value: false })),
    ...PUBLIC_USAGES.filter((t) => t !== wanted.public).map((type) => ({ side: 'public' as const, type, value: false })),
  ];
  const attempt = (without: readonly Optional[]) => {
    const keep = (side: Optional['side']) => optional.filter((a) => a.side === side && !without.includes(a)).map((a) => ({ type: a.type, value: a.value }));
    // Non-extractable is not optional: a key is made extractable only when asked for.
    const privateTemplate = [...privateBase, ...(extractable ? [] : [{ type: pkcs11.CKA_EXTRACTABLE, value: false }]), ...keep('private')];
    return lib.C_GenerateKeyPair(session, { mechanism: generation.ckm }, [...publicBase, ...keep('public')], privateTemplate);
  };

  let refusal: unknown;
  try {
    const made = attempt([]);
    const extra = unwantedUsages(lib, session, made, usage);
    if (extra.length > 0) {
      destroyQuietly(lib, session, made);
      throw setupError(`token ${name} made ${what} that can do more than ${usage} (${extra.join(', ')} true, although the template said false); it was deleted again`, oneUsageHint);
    }
    return { id, privateKey: made.privateKey, publicKey: made.publicKey, leftOut: [] };
  } catch (error) {
    if (ckrOf(error) === undefined) throw error;
    refusal = error;
  }
  const code = ckrOf(refusal)!;
  const refused = `token ${name} refused to generate ${what}: ${describe(refusal)}`;
  if (!TEMPLATE_SUSPECTS.has(code)) throw setupError(refused, refusalHint(lib, token, alg, code, generation), refusal);

  // Which attributes? From the key made with the usage alone, each optional attribute is added back in turn: those
  // the token refuses are named. Trial keys are deleted again; only a key that does its usage alone is kept.
  const usageOnly = optional.filter((a) => a.type === wanted.private || a.type === wanted.public);
  const others = optional.filter((a) => !usageOnly.includes(a));
  const trial = (without: readonly Optional[]) => tryAttempt(() => attempt(without));
  const minimal = trial(others);
  if (minimal === undefined) {
    const bare = trial(optional);
    if (bare === undefined)
      throw setupError(`${refused}; it refused it also without the optional attributes (${optional.map(said).join(', ')})`, refusalHint(lib, token, alg, code, generation), refusal);
    destroyQuietly(lib, session, bare);
    throw setupError(
      `${refused}; it made one without ${usageOnly.map(said).join(' and ')} (deleted again): it makes no ${KEY_PAIR_FAMILY_NAME[family]} keys that can ${usage}`,
      usageHint(usage),
      refusal,
    );
  }
  destroyQuietly(lib, session, minimal);
  const refusedAlone = others.filter((a) => {
    const made = trial(others.filter((o) => o !== a));
    if (made !== undefined) destroyQuietly(lib, session, made);
    return made === undefined;
  });
  const names = `it refuses ${listed(refusedAlone.map(said)) || 'no optional attribute alone, only their combination'} (each tried alone beside the usage; trial keys deleted again)`;
  const lastTry = refusedAlone.length > 0 && refusedAlone.length < others.length ? trial(refusedAlone) : undefined;
  const extra = lastTry === undefined ? [] : unwantedUsages(lib, session, lastTry, usage);
  if (lastTry !== undefined && extra.length === 0 && !refusedAlone.some((a) => a.value)) {
    return { id, privateKey: lastTry.privateKey, publicKey: lastTry.publicKey, leftOut: refusedAlone.map(said) };
  }
  if (lastTry !== undefined) destroyQuietly(lib, session, lastTry);
  if (refusedAlone.some((a) => a.type === pkcs11.CKA_EXTRACTABLE)) {
    throw setupError(
      `${refused}; ${names}: it makes no extractable keys`,
      'leave out --extractable; keys clone cannot copy keys from this token: create a key on each token instead (hsm-bench keys create)',
      refusal,
    );
  }
  throw setupError(
    `${refused}; ${names}${extra.length > 0 ? `; made without ${refusedAlone.length > 1 ? 'them' : 'it'}, the key had ${extra.join(', ')} true` : ''}: it makes no ${alg.displayName} key that can only ${usage}`,
    oneUsageHint,
    refusal,
  );
}

/** 'x', 'x and y', 'x, y and z'. */
const listed = (items: string[]) => (items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

const oneUsageHint =
  "hsm-bench makes keys for one usage each (PKI practice keeps signing and decryption keys apart); to measure this token, create a key with its own tools and name it with --key-label (hsm-bench checks only that the key allows the operation's usage)";

const usageHint = (usage: KeyUsage) => `choose an operation this token can do with its keys (hsm-bench list --mechanisms shows them), not --usage ${usage}`;

/** Before anything is generated: the token offers the key-generation mechanism, the RSA size, and a mechanism for the usage. */
function checkMechanisms(lib: pkcs11.PKCS11, token: TokenRef, alg: Algorithm, usage: KeyUsage, generation: { name: string; ckm: number }): void {
  const name = tokenName(token);
  const offered = lib.C_GetMechanismList(token.slot);
  const family = alg.family as KeyPairFamily;
  if (!offered.includes(generation.ckm)) {
    throw setupError(`token ${name} cannot generate ${KEY_PAIR_FAMILY_NAME[family]} key pairs: it offers no ${generation.name}`, `its mechanisms: ${mechanismNames(offered).join(', ') || 'none'}`);
  }
  if (family === 'rsa') {
    const range = keySizes(lib, token, generation.ckm);
    if (range && (alg.bits < range.min || alg.bits > range.max)) {
      throw setupError(`token ${name} makes RSA keys of ${range.min}–${range.max} bits, not ${alg.bits} (${generation.name})`, 'choose an --alg within that range');
    }
  }
  const users = USAGE_MECHANISMS[usage][family];
  if (users.length > 0 && !users.some((m) => offered.includes(m.ckm))) {
    throw setupError(
      `token ${name} cannot ${usage} with ${KEY_PAIR_FAMILY_NAME[family]} keys: it offers none of ${users.map((m) => m.name).join(', ')}, so a key to ${usage} would be of no use there`,
      usageHint(usage),
    );
  }
}

function keySizes(lib: pkcs11.PKCS11, token: TokenRef, ckm: number): { min: number; max: number } | undefined {
  try {
    const info = lib.C_GetMechanismInfo(token.slot, ckm);
    return info.maxKeySize > 0 ? { min: info.minKeySize, max: info.maxKeySize } : undefined;
  } catch {
    // The sizes are a courtesy: the generation itself says what the token refuses.
    return undefined;
  }
}

function refusalHint(lib: pkcs11.PKCS11, token: TokenRef, alg: Algorithm, code: number, generation: { name: string; ckm: number }): string {
  if (code === ckrCode('CKR_CURVE_NOT_SUPPORTED') || code === ckrCode('CKR_DOMAIN_PARAMS_INVALID')) {
    const others = ALGORITHMS.filter((a) => a.family === alg.family && a.id !== alg.id).map((a) => a.id);
    return `the token makes no keys on ${(alg as { curve?: string }).curve ?? alg.displayName}: choose another --alg (${others.join(', ')}; hsm-bench list --mechanisms shows what it offers)`;
  }
  const range = keySizes(lib, token, generation.ckm);
  if (code === ckrCode('CKR_KEY_SIZE_RANGE') && range) return `${generation.name} makes keys of ${range.min}–${range.max} bits on this token: choose an --alg within that range`;
  return "see the algorithms and key sizes it offers with 'hsm-bench list --mechanisms'";
}

function tryAttempt(generate: () => { privateKey: Buffer; publicKey: Buffer }) {
  try {
    return generate();
  } catch (error) {
    if (ckrOf(error) === undefined) throw error;
    return undefined;
  }
}

/** The usages other than `usage` that the private key the token made allows, read back ("CKA_DECRYPT on the private key"). */
function unwantedUsages(lib: pkcs11.PKCS11, session: Buffer, made: { privateKey: Buffer }, usage: KeyUsage): string[] {
  const allowed = (type: number) => {
    try {
      return readFlag(lib, session, made.privateKey, type);
    } catch {
      // An attribute the key does not have: a usage it does not allow.
      return false;
    }
  };
  return PRIVATE_USAGES.filter((t) => !SAME_USAGE[usage].includes(t) && allowed(t)).map((t) => `${attributeName(t)} on the private key`);
}

/** Deletes a key pair this call has just made (never any other object); a failure to is said, not hidden. */
function destroyQuietly(lib: pkcs11.PKCS11, session: Buffer, made: { privateKey: Buffer; publicKey: Buffer }): void {
  for (const handle of [made.privateKey, made.publicKey]) {
    try {
      lib.C_DestroyObject(session, handle);
    } catch (error) {
      process.stderr.write(`hsm-bench: warning: could not delete a trial key pair it had just made: ${describe(error)}; delete it by its label\n`);
    }
  }
}
