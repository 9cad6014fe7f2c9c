import { createPublicKey, type KeyObject } from 'node:crypto';
import { EDWARDS_CURVES, edwardsPointOnCurve } from './edwards-point.js';

/** Public key material as read from a token: RSA modulus and exponent, or EC (ECDSA or Edwards) parameters and point. */
export type PublicKeyAttributes = { family: 'rsa'; modulus: Buffer; publicExponent: Buffer } | { family: 'ec' | 'eddsa'; ecParams: Buffer; ecPoint: Buffer };

const EC_PUBLIC_KEY_OID = Buffer.from('06072a8648ce3d0201', 'hex');

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const der = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);

/** CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40); some modules return the bare point. */
export function unwrapEcPoint(ecPoint: Buffer): Buffer {
  if (ecPoint[0] !== 0x04 || ecPoint.length < 3) return ecPoint;
  const first = ecPoint[1]!;
  const headerBytes = first < 0x80 ? 2 : 2 + (first & 0x7f);
  const bodyLength = first < 0x80 ? first : ecPoint.subarray(2, headerBytes).reduce((n, b) => n * 256 + b, 0);
  return headerBytes + bodyLength === ecPoint.length ? ecPoint.subarray(headerBytes) : ecPoint;
}

/** The Edwards curves' OIDs (RFC 8410), DER: also what PKCS#11 3.0's printable CKA_EC_PARAMS names stand for. */
const EDWARDS_OID: Record<string, Buffer> = {
  edwards25519: Buffer.from('06032b6570', 'hex'),
  edwards448: Buffer.from('06032b6571', 'hex'),
};

/** CKA_EC_PARAMS of an Edwards key as its OID: given as the OID, or as the printable curve name PKCS#11 3.0 allows. */
export function edwardsCurveOid(ecParams: Buffer): Buffer | undefined {
  if (Object.values(EDWARDS_OID).some((oid) => oid.equals(ecParams))) return ecParams;
  if (ecParams[0] === 0x13 && ecParams[1] === ecParams.length - 2) return EDWARDS_OID[ecParams.subarray(2).toString('latin1')];
  return undefined;
}

/**
 * Node's JWK import knows no brainpool curve, so EC keys go through an SPKI DER built from the token's
 * CKA_EC_PARAMS (the named-curve OID) and point; RSA keys import as JWK.
 */
export function publicKeyFromAttributes(attrs: PublicKeyAttributes): KeyObject {
  if (attrs.family === 'rsa') {
    return createPublicKey({
      key: { kty: 'RSA', n: attrs.modulus.toString('base64url'), e: attrs.publicExponent.toString('base64url') },
      format: 'jwk',
    });
  }
  // An Edwards key's algorithm is its curve's OID alone (RFC 8410); an ECDSA key's is id-ecPublicKey with the curve.
  const edwards = attrs.family === 'eddsa' ? edwardsCurveOid(attrs.ecParams) : undefined;
  if (attrs.family === 'eddsa' && edwards === undefined) throw new Error('not an Edwards curve');
  const curve = edwards === undefined ? undefined : edwards.equals(EDWARDS_OID.edwards25519!) ? EDWARDS_CURVES.ed25519 : EDWARDS_CURVES.ed448;
  // A bare Edwards point has its curve's exact length (it may begin with bytes that look like a DER header).
  const point = curve !== undefined && attrs.ecPoint.length === curve.bytes ? attrs.ecPoint : unwrapEcPoint(attrs.ecPoint);
  if (curve !== undefined && !edwardsPointOnCurve(curve, point)) throw new Error('the point is not on the curve');
  const algorithm = der(0x30, edwards ?? Buffer.concat([EC_PUBLIC_KEY_OID, attrs.ecParams]));
  const subjectPublicKey = der(0x03, Buffer.concat([Buffer.from([0]), point]));
  return createPublicKey({ key: der(0x30, Buffer.concat([algorithm, subjectPublicKey])), format: 'der', type: 'spki' });
}
