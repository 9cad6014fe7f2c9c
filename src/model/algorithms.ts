import { usageError } from '../core/errors.js';
import { quote } from '../core/quote.js';

/**
 * The algorithms of the operations: the seed's RSA-2048 and brainpoolP256r1 and their usual neighbours for the
 * token's key pairs, and the Edwards curves of EdDSA; AES and HMAC for the test keys hsm-bench imports; SHA-256 and the token's generator for the
 * operations without a key. Which operation takes which is in src/operations/.
 */
export type Algorithm =
  | { id: string; family: 'rsa'; displayName: string; bits: number }
  | { id: string; family: 'ec' | 'eddsa'; displayName: string; bits: number; curve: string; curveOidDer: Buffer }
  | { id: string; family: 'aes' | 'hmac' | 'digest' | 'random'; displayName: string; bits: number }
  /** A mechanism as the user gave it (--mechanism CKM_… or a number): the key is whatever --key-label names. */
  | { id: string; family: 'any'; displayName: string; bits: number };

const ec = (id: string, displayName: string, bits: number, curve: string, oidHex: string): Algorithm => ({
  id,
  family: 'ec',
  displayName,
  bits,
  curve,
  curveOidDer: Buffer.from(oidHex, 'hex'),
});

/** The families of token key pairs, and how messages name them. */
export type KeyPairFamily = 'rsa' | 'ec' | 'eddsa';
export const KEY_PAIR_FAMILY_NAME = { rsa: 'RSA', ec: 'EC', eddsa: 'EdDSA' } as const satisfies Record<KeyPairFamily, string>;
export const isKeyPairFamily = (family: Algorithm['family']): family is KeyPairFamily => family in KEY_PAIR_FAMILY_NAME;

// EdDSA's bits are RFC 8032's b, the size of an encoded point (a public key); a signature is two of them.
const eddsa = (id: string, displayName: string, bits: number, oidHex: string): Algorithm => ({
  id,
  family: 'eddsa',
  displayName,
  bits,
  curve: displayName,
  curveOidDer: Buffer.from(oidHex, 'hex'),
});

export const ALGORITHMS: readonly Algorithm[] = [
  { id: 'rsa2048', family: 'rsa', displayName: 'RSA-2048', bits: 2048 },
  { id: 'rsa3072', family: 'rsa', displayName: 'RSA-3072', bits: 3072 },
  { id: 'rsa4096', family: 'rsa', displayName: 'RSA-4096', bits: 4096 },
  ec('p256', 'ECDSA P-256', 256, 'prime256v1', '06082a8648ce3d030107'),
  ec('p384', 'ECDSA P-384', 384, 'secp384r1', '06052b81040022'),
  ec('bp256', 'ECDSA brainpoolP256r1', 256, 'brainpoolP256r1', '06092b2403030208010107'),
  ec('bp384', 'ECDSA brainpoolP384r1', 384, 'brainpoolP384r1', '06092b240303020801010b'),
  eddsa('ed25519', 'Ed25519', 256, '06032b6570'),
  eddsa('ed448', 'Ed448', 456, '06032b6571'),
  { id: 'aes256', family: 'aes', displayName: 'AES-256', bits: 256 },
  { id: 'aes128', family: 'aes', displayName: 'AES-128', bits: 128 },
  { id: 'hmac-sha256', family: 'hmac', displayName: 'HMAC-SHA256', bits: 256 },
  { id: 'sha256', family: 'digest', displayName: 'SHA-256', bits: 256 },
  { id: 'random', family: 'random', displayName: '32 random bytes', bits: 256 },
];

/** The algorithm of a run by a mechanism as given: reports name the mechanism, since hsm-bench does not know the key's type. */
export const anyKeyAlgorithm = (mechanismName: string): Algorithm => ({ id: 'any-key', family: 'any', displayName: mechanismName, bits: 0 });

export function algorithmById(id: string): Algorithm {
  const found = ALGORITHMS.find((a) => a.id === id);
  if (!found) {
    throw usageError(`unknown algorithm ${quote(id)}`, `use one of: ${ALGORITHMS.map((a) => a.id).join(', ')}`);
  }
  return found;
}
