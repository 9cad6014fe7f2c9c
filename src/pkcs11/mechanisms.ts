import pkcs11 from 'pkcs11js';
import { setupError } from '../core/errors.js';
import type { KeyPairFamily } from '../model/algorithms.js';

export const MECHANISM_CHOICES = { rsa: ['pkcs1', 'pss'], ec: ['ecdsa'], eddsa: ['eddsa'] } as const;
export type MechanismChoice = 'pkcs1' | 'pss' | 'ecdsa' | 'eddsa';

/** PKCS#11 3.0's Edwards-curve codes, which pkcs11js 2.1 does not name. */
export const PKCS11_3 = { CKM_EC_EDWARDS_KEY_PAIR_GEN: 0x1055, CKM_EDDSA: 0x1057, CKK_EC_EDWARDS: 0x40 } as const;

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

export function mechanismNames(codes: readonly number[]): string[] {
  const byCode = new Map([...Object.entries(pkcs11), ...Object.entries(PKCS11_3)].filter(([n, v]) => n.startsWith('CKM_') && typeof v === 'number').map(([n, v]) => [v as number, n]));
  return codes.map((c) => byCode.get(c) ?? `CKM_0x${c.toString(16)}`);
}
