/**
 * "a" or "an" before a name as it is read aloud: letters spelt out (RSA, HMAC, ECDSA, AES) take "an" when the first is
 * read with a vowel sound (A, E, F, H, I, L, M, N, O, R, S, X), words by their first letter.
 */
export function withArticle(name: string): string {
  const spelt = /^[A-Z]{2,}/.test(name);
  const vowelSound = spelt ? /^[AEFHILMNORSX]/.test(name) : /^[aeiouAEIOU]/.test(name);
  return `${vowelSound ? 'an' : 'a'} ${name}`;
}
