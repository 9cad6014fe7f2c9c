import pkcs11 from 'pkcs11js';
import { setupError } from '../core/errors.js';
import type { KeyPairFamily } from '../model/algorithms.js';

export const MECHANISM_CHOICES = { rsa: ['pkcs1', 'pss'], ec: ['ecdsa'], eddsa: ['eddsa'] } as const;
export type MechanismChoice = 'pkcs1' | 'pss' | 'ecdsa' | 'eddsa';

/** PKCS#11 3.0's Edwards-curve codes, which pkcs11js 2.1 does not name. */
export const PKCS11_3 = { CKM_EC_EDWARDS_KEY_PAIR_GEN: 0x1055, CKM_EDDSA: 0x1057, CKK_EC_EDWARDS: 0x40 } as const;

/**
 * PKCS#11 3.2's post-quantum codes, which pkcs11js 2.1 does not name: as the 3.2 header (pkcs11t.h) defines them,
 * copied from p11-kit's common/pkcs11.h of 3.2.
 */
export const PKCS11_3_2 = {
  CKM_ML_KEM_KEY_PAIR_GEN: 0x0f,
  CKM_ML_KEM: 0x17,
  CKM_ML_DSA_KEY_PAIR_GEN: 0x1c,
  CKM_ML_DSA: 0x1d,
  CKM_HASH_ML_DSA: 0x1f,
  CKM_HASH_ML_DSA_SHA224: 0x23,
  CKM_HASH_ML_DSA_SHA256: 0x24,
  CKM_HASH_ML_DSA_SHA384: 0x25,
  CKM_HASH_ML_DSA_SHA512: 0x26,
  CKM_HASH_ML_DSA_SHA3_224: 0x27,
  CKM_HASH_ML_DSA_SHA3_256: 0x28,
  CKM_HASH_ML_DSA_SHA3_384: 0x29,
  CKM_HASH_ML_DSA_SHA3_512: 0x2a,
  CKM_HASH_ML_DSA_SHAKE128: 0x2b,
  CKM_HASH_ML_DSA_SHAKE256: 0x2c,
  CKM_SLH_DSA_KEY_PAIR_GEN: 0x2d,
  CKM_SLH_DSA: 0x2e,
  CKM_HASH_SLH_DSA: 0x34,
  CKM_HASH_SLH_DSA_SHA224: 0x36,
  CKM_HASH_SLH_DSA_SHA256: 0x37,
  CKM_HASH_SLH_DSA_SHA384: 0x38,
  CKM_HASH_SLH_DSA_SHA512: 0x39,
  CKM_HASH_SLH_DSA_SHA3_224: 0x3a,
  CKM_HASH_SLH_DSA_SHA3_256: 0x3b,
  CKM_HASH_SLH_DSA_SHA3_384: 0x3c,
  CKM_HASH_SLH_DSA_SHA3_512: 0x3d,
  CKM_HASH_SLH_DSA_SHAKE128: 0x3e,
  CKM_HASH_SLH_DSA_SHAKE256: 0x3f,
} as const;

/** The mechanism that generates a key pair of each family. */
export const KEY_PAIR_GENERATION: Record<KeyPairFamily, { name: string; ckm: number }> = {
  rsa: { name: 'CKM_RSA_PKCS_KEY_PAIR_GEN', ckm: pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN },
  ec: { name: 'CKM_EC_KEY_PAIR_GEN', ckm: pkcs11.CKM_EC_KEY_PAIR_GEN },
  eddsa: { name: 'CKM_EC_EDWARDS_KEY_PAIR_GEN', ckm: PKCS11_3.CKM_EC_EDWARDS_KEY_PAIR_GEN },
};

/**
 * How one signature is made: the PKCS#11 mechanism, and what the host does to the message first.
 * 'sha256' hashes on the host (for tokens without the combined hash-and-sign mechanism);
 * 'sha256-digestinfo' also wraps the hash in the PKCS#1 DigestInfo for raw CKM_RSA_PKCS.
 */
export interface SignMechanism {
  name: string;
  ckm: number;
  pss: boolean;
  hostDigest: 'none' | 'sha256' | 'sha256-digestinfo';
}

export const PSS_SALT_BYTES = 32;

/** Preference order per choice: the combined mechanism first, the host-hashed fallback second. */
const CANDIDATES: Record<MechanismChoice, SignMechanism[]> = {
  pkcs1: [
    { name: 'CKM_SHA256_RSA_PKCS', ckm: pkcs11.CKM_SHA256_RSA_PKCS, pss: false, hostDigest: 'none' },
    { name: 'CKM_RSA_PKCS', ckm: pkcs11.CKM_RSA_PKCS, pss: false, hostDigest: 'sha256-digestinfo' },
  ],
  pss: [
    { name: 'CKM_SHA256_RSA_PKCS_PSS', ckm: pkcs11.CKM_SHA256_RSA_PKCS_PSS, pss: true, hostDigest: 'none' },
    { name: 'CKM_RSA_PKCS_PSS', ckm: pkcs11.CKM_RSA_PKCS_PSS, pss: true, hostDigest: 'sha256' },
  ],
  ecdsa: [
    { name: 'CKM_ECDSA_SHA256', ckm: pkcs11.CKM_ECDSA_SHA256, pss: false, hostDigest: 'none' },
    { name: 'CKM_ECDSA', ckm: pkcs11.CKM_ECDSA, pss: false, hostDigest: 'sha256' },
  ],
  // EdDSA signs the message itself (PureEdDSA): there is no host-hashed form.
  eddsa: [{ name: 'CKM_EDDSA', ckm: PKCS11_3.CKM_EDDSA, pss: false, hostDigest: 'none' }],
};

/** Picks the first candidate that every token reports in C_GetMechanismList, so all tokens sign alike. */
export function chooseSignMechanism(choice: MechanismChoice, tokens: readonly { name: string; mechanisms: readonly number[] }[]): SignMechanism {
  const found = CANDIDATES[choice].find((m) => tokens.every((t) => t.mechanisms.includes(m.ckm)));
  if (found) return found;
  const wanted = CANDIDATES[choice].map((m) => m.name).join(' or ');
  const lacking = tokens.filter((t) => !CANDIDATES[choice].some((m) => t.mechanisms.includes(m.ckm)));
  const example = lacking[0] ?? tokens[0]!;
  const offered = mechanismNames(example.mechanisms).filter((n) => /RSA|ECDSA|EDDSA/.test(n));
  throw setupError(
    lacking.length > 0 ? `token ${example.name} supports neither ${wanted}` : `no single mechanism of ${wanted} is supported by all selected tokens`,
    `token ${example.name} offers: ${offered.join(', ') || 'no RSA, ECDSA or EdDSA signing mechanism'}; choose another --mechanism or other tokens`,
  );
}

/** Every CKM_ name hsm-bench knows (pkcs11js's, and the 3.0 and 3.2 codes it lacks) with its code. */
const NAMED_MECHANISMS: readonly [string, number][] = [...Object.entries(pkcs11), ...Object.entries(PKCS11_3), ...Object.entries(PKCS11_3_2)].filter(
  (e): e is [string, number] => e[0].startsWith('CKM_') && typeof e[1] === 'number',
);

export function mechanismNames(codes: readonly number[]): string[] {
  const byCode = new Map(NAMED_MECHANISMS.map(([n, v]) => [v, n]));
  return codes.map((c) => byCode.get(c) ?? `CKM_0x${c.toString(16)}`);
}

/** A CKM_ name's code (any case), or undefined for a name no header hsm-bench knows gives. */
export const mechanismCode = (name: string): number | undefined => NAMED_MECHANISMS.find(([n]) => n === name.toUpperCase())?.[1];

/** The known CKM_ names nearest to a mistyped one (fewest edits), for the hint of its error. */
export function nearestMechanismNames(name: string, count = 3): string[] {
  const wanted = name.toUpperCase();
  const distance = (a: string, b: string) => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
      row = next;
    }
    return row[b.length]!;
  };
  return [...new Set(NAMED_MECHANISMS.map(([n]) => n))]
    .map((n) => ({ n, d: distance(wanted, n) }))
    .sort((x, y) => x.d - y.d || x.n.localeCompare(y.n))
    .slice(0, count)
    .map((x) => x.n);
}
