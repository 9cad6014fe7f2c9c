import { attributeName, uriCarriesPin, uriParts } from '../core/uri-pin.js';
import { usageError } from '../core/errors.js';
import { quote } from '../core/quote.js';

/** The token-level attributes of an RFC 7512 `pkcs11:` URI, as the convention of p11-kit, OpenSSL and GnuTLS has them. */
export const URI_TOKEN_ATTRIBUTES = [
  'token',
  'manufacturer',
  'serial',
  'model',
  'slot-description',
  'slot-manufacturer',
  'slot-id',
  'library-manufacturer',
  'library-description',
  'library-version',
] as const;
export type UriAttribute = (typeof URI_TOKEN_ATTRIBUTES)[number];
export type Pkcs11Uri = Partial<Record<UriAttribute, string>>;

const OBJECT_ATTRIBUTES = new Set(['object', 'id', 'type']);

function decode(value: string, name: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw usageError(`${name} has a bad percent-encoding in ${quote(value)}`, 'write reserved characters as %XX, e.g. a space as %20');
  }
}

/**
 * Parses `pkcs11:token=...;serial=...` into the attributes a token must match. Attribute names are matched
 * case-insensitively and percent-decoded, as RFC 7512 has them. A PIN in the URI (pin-value, or pin-source naming
 * where one is) is refused without echoing it: a PIN is never a command-line argument.
 */
/** `field`: how the caller's source names the URI (--token-uri, or a lab file's path). */
export function parsePkcs11Uri(uri: string, field = '--token-uri'): Pkcs11Uri {
  const hint = "for example 'pkcs11:token=Pico-HSM%20(UserPIN);slot-id=4' (RFC 7512; see hsm-bench list)";
  if (uriCarriesPin(uri)) {
    throw usageError(`${field} must not carry a PIN (pin-value or pin-source)`, 'give the PIN through HSM_BENCH_PIN, --pin-env or --pin-file; a PIN is never a command-line argument');
  }
  if (uri.slice(0, 7).toLowerCase() !== 'pkcs11:') throw usageError(`${field} must start with 'pkcs11:'`, hint);
  const parsed: Pkcs11Uri = {};
  for (const part of uriParts(uri).path) {
    const eq = part.indexOf('=');
    const name = attributeName(part);
    if (eq < 0) throw usageError(`${field} attribute ${quote(name)} has no value`, hint);
    if (OBJECT_ATTRIBUTES.has(name)) throw usageError(`${field} selects tokens; ${quote(name)} names a key`, 'name the key pair with --key-label');
    if (!(URI_TOKEN_ATTRIBUTES as readonly string[]).includes(name)) {
      throw usageError(`${field} has an unknown attribute ${quote(name)}`, `token attributes are: ${URI_TOKEN_ATTRIBUTES.join(', ')}`);
    }
    if (parsed[name as UriAttribute] !== undefined) throw usageError(`${field} gives ${quote(name)} twice`, hint);
    parsed[name as UriAttribute] = decode(part.slice(eq + 1), field);
  }
  if (Object.keys(parsed).length === 0) throw usageError(`${field} names no attribute`, hint);
  if (parsed['slot-id'] !== undefined && !/^\d+$/.test(parsed['slot-id'])) throw usageError(`${field} slot-id must be a number, not ${quote(parsed['slot-id'])}`, hint);
  return parsed;
}
