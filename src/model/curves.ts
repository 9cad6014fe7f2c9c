/** Curves by OID, for naming keys that hsm-bench does not sign with as well as those it does. */
const CURVE_NAMES: Record<string, string> = {
  '1.2.840.10045.3.1.7': 'prime256v1',
  '1.3.132.0.33': 'secp224r1',
  '1.3.132.0.34': 'secp384r1',
  '1.3.132.0.35': 'secp521r1',
  '1.3.132.0.10': 'secp256k1',
  '1.2.840.10045.3.1.1': 'prime192v1',
  '1.3.36.3.3.2.8.1.1.3': 'brainpoolP192r1',
  '1.3.36.3.3.2.8.1.1.5': 'brainpoolP224r1',
  '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1',
  '1.3.36.3.3.2.8.1.1.9': 'brainpoolP320r1',
  '1.3.36.3.3.2.8.1.1.11': 'brainpoolP384r1',
  '1.3.36.3.3.2.8.1.1.13': 'brainpoolP512r1',
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

/** The dotted form of a DER OBJECT IDENTIFIER (tag 06), or undefined when `der` is not one. */
function oidOf(der: Buffer): string | undefined {
  if (der.length < 3 || der[0] !== 0x06 || der[1] !== der.length - 2) return undefined;
  const arcs: number[] = [];
  let value = 0;
  for (const byte of der.subarray(2)) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  const first = arcs.shift();
  if (first === undefined) return undefined;
  return [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80, ...arcs].join('.');
}

/**
 * A readable name for CKA_EC_PARAMS: the curve's name, its OID when the name is unknown, the printable name some
 * modules use (Edwards curves), or a plain description of explicit parameters. Never DER in hex.
 */
export function curveName(ecParams: Buffer): string {
  const oid = oidOf(ecParams);
  if (oid !== undefined) return CURVE_NAMES[oid] ?? `curve OID ${oid}`;
  if (ecParams[0] === 0x13 && ecParams[1] === ecParams.length - 2) return ecParams.subarray(2).toString('latin1');
  if (ecParams[0] === 0x30) return 'explicit curve parameters';
  return 'unrecognised curve parameters';
}
