import pkcs11 from 'pkcs11js';
import { setupError } from '../core/errors.js';

export const MECHANISM_CHOICES = { rsa: ['pkcs1', 'pss'], ec: ['ecdsa'] } as const;
export type MechanismChoice = 'pkcs1' | 'pss' | 'ecdsa';

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
};

/** Picks the first candidate that every token reports in C_GetMechanismList, so all tokens sign alike. */
export function chooseSignMechanism(choice: MechanismChoice, tokens: readonly { name: string; mechanisms: readonly number[] }[]): SignMechanism {
  const found = CANDIDATES[choice].find((m) => tokens.every((t) => t.mechanisms.includes(m.ckm)));
  if (found) return found;
  const wanted = CANDIDATES[choice].map((m) => m.name).join(' or ');
  const lacking = tokens.filter((t) => !CANDIDATES[choice].some((m) => t.mechanisms.includes(m.ckm)));
  const example = lacking[0] ?? tokens[0]!;
  const offered = mechanismNames(example.mechanisms).filter((n) => /RSA|ECDSA/.test(n));
  throw setupError(
    lacking.length > 0 ? `token ${example.name} supports neither ${wanted}` : `no single mechanism of ${wanted} is supported by all selected tokens`,
    `token ${example.name} offers: ${offered.join(', ') || 'no RSA or ECDSA signing mechanism'}; choose another --mechanism or other tokens`,
  );
}

export function mechanismNames(codes: readonly number[]): string[] {
  const byCode = new Map(
    Object.entries(pkcs11)
      .filter(([n, v]) => n.startsWith('CKM_') && typeof v === 'number')
      .map(([n, v]) => [v as number, n]),
  );
  return codes.map((c) => byCode.get(c) ?? `CKM_0x${c.toString(16)}`);
}
