/**
 * The PIN attributes of RFC 7512 `pkcs11:` URIs, found by structure: a URI that carries one is refused as a
 * selection, never quoted in a message, and loses them in a recorded command line.
 */

/** Attributes that carry a PIN or say where one is (RFC 7512 query attributes): never on a command line. */
const PIN_ATTRIBUTES = new Set(['pin-value', 'pin-source']);

/** An attribute's name as RFC 7512 compares it: case-insensitive, and percent-decoded (p%69n-value is pin-value). */
export function attributeName(part: string): string {
  const eq = part.indexOf('=');
  const raw = eq < 0 ? part : part.slice(0, eq);
  try {
    return decodeURIComponent(raw).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/** The parts of a URI, path attributes (';') and query attributes ('&'), as `name=value` strings. */
export function uriParts(uri: string): { path: string[]; query: string[] } {
  const rest = uri.slice(uri.slice(0, 7).toLowerCase() === 'pkcs11:' ? 7 : 0);
  const at = rest.indexOf('?');
  const path = at < 0 ? rest : rest.slice(0, at);
  const query = at < 0 ? '' : rest.slice(at + 1);
  return { path: path.split(';').filter((p) => p !== ''), query: query.split('&').filter((p) => p !== '') };
}

/** Whether a URI carries a PIN attribute with a value, in its path or its query, in any case or encoding. */
export const uriCarriesPin = (uri: string): boolean => {
  const { path, query } = uriParts(uri);
  return [...path, ...query].some((part) => part.includes('=') && PIN_ATTRIBUTES.has(attributeName(part)));
};

/** The URI without its PIN attributes, for a command line that is recorded (run.json, report, checkpoint). */
export function withoutPinAttributes(uri: string): string {
  const { path, query } = uriParts(uri);
  const keep = (parts: string[]) => parts.filter((part) => !PIN_ATTRIBUTES.has(attributeName(part)));
  const kept = keep(query);
  return `pkcs11:${keep(path).join(';')}${kept.length > 0 ? `?${kept.join('&')}` : ''}`;
}
