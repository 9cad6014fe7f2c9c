/**
 * Whether an encoded Edwards point (RFC 8032: y little-endian, the top bit x's sign) lies on its curve. Node's
 * key import takes any 32 or 57 bytes as an Ed25519 or Ed448 key, so it cannot tell a token's garbage from a key.
 */

interface EdwardsCurve {
  bytes: number;
  p: bigint;
  /** x² = (y² − 1) / (d·y² − a) for the curve a·x² + y² = 1 + d·x²·y². */
  a: bigint;
  d: bigint;
}

const P25519 = 2n ** 255n - 19n;
const P448 = 2n ** 448n - 2n ** 224n - 1n;

const mod = (n: bigint, p: bigint) => ((n % p) + p) % p;

function modPow(base: bigint, exponent: bigint, p: bigint): bigint {
  let result = 1n;
  for (let b = mod(base, p), e = exponent; e > 0n; e >>= 1n, b = (b * b) % p) if (e & 1n) result = (result * b) % p;
  return result;
}

const inverse = (n: bigint, p: bigint) => modPow(n, p - 2n, p);

export const EDWARDS_CURVES: Record<'ed25519' | 'ed448', EdwardsCurve> = {
  // edwards25519: −x² + y² = 1 + d·x²·y², d = −121665/121666.
  ed25519: { bytes: 32, p: P25519, a: -1n, d: mod(-121665n * inverse(121666n, P25519), P25519) },
  // edwards448: x² + y² = 1 + d·x²·y², d = −39081.
  ed448: { bytes: 57, p: P448, a: 1n, d: mod(-39081n, P448) },
};

export function edwardsPointOnCurve(curve: EdwardsCurve, encoded: Uint8Array): boolean {
  if (encoded.length !== curve.bytes) return false;
  const last = encoded[curve.bytes - 1]!;
  const xSign = last >> 7;
  // Ed448's last byte holds only x's sign: its other bits are zero in an encoding.
  if (curve.bytes === 57 && (last & 0x7f) !== 0) return false;
  let y = 0n;
  for (let i = curve.bytes - 1; i >= 0; i--) y = (y << 8n) | BigInt(i === curve.bytes - 1 ? last & 0x7f : encoded[i]!);
  if (y >= curve.p) return false;
  const { p, a, d } = curve;
  const y2 = (y * y) % p;
  const x2 = mod((y2 - 1n) * inverse(mod(d * y2 - a, p), p), p);
  // x = 0 has no negative: an encoding that says so names no point (RFC 8032, 5.1.3 and 5.2.3).
  if (x2 === 0n) return xSign === 0;
  // Euler's criterion: x² has a square root modulo p only if it is a quadratic residue.
  return modPow(x2, (p - 1n) / 2n, p) === 1n;
}
