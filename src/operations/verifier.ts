import { constants, verify, type KeyObject } from 'node:crypto';
import { PSS_SALT_BYTES, type SignMechanism } from '../pkcs11/mechanisms.js';

/** Verifies a token's signature over a message on the host, the way any relying party would. */
export function verifySignature(key: KeyObject, mechanism: SignMechanism, message: Buffer, signature: Buffer): boolean {
  const edwards = key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448';
  const options =
    key.asymmetricKeyType === 'ec'
      ? { key, dsaEncoding: 'ieee-p1363' as const }
      : mechanism.pss
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_BYTES }
        : { key, padding: constants.RSA_PKCS1_PADDING };
  try {
    // EdDSA hashes inside the algorithm: node:crypto takes no digest name for it.
    return edwards ? verify(null, message, key, signature) : verify('sha256', message, options, signature);
  } catch {
    // A malformed signature (wrong length, bad encoding) is a signature that does not verify.
    return false;
  }
}
