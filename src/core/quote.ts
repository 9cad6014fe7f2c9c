import { uriCarriesPin } from './uri-pin.js';

/**
 * The one way a message quotes a value the user gave (a flag value, a path, a list item, a word commander did not
 * know). Users put a PIN where a label, a serial or a path belongs; a message must then not print it. So every
 * secret this invocation holds is known here, and a value that IS one is never quoted: it is compared whole, never
 * searched for inside other text, which would rewrite honest text (a serial 00000000 with PIN 0000). A value that
 * carries a PIN by its structure (a pkcs11: URI with pin-value, pasted into the wrong flag) is not quoted either.
 */
const secrets = new Set<string>();

/** A PIN or passphrase this invocation may hold: never quoted in a message. */
export function addSecret(secret: string): void {
  if (secret !== '') secrets.add(secret);
}

const isOneSecret = (value: string): boolean => {
  const bare = value.trim();
  const inline = /^--[\w-]+=(.*)$/s.exec(bare)?.[1];
  return secrets.has(value) || secrets.has(bare) || secrets.has(bare.replace(/^-+/, '')) || (inline !== undefined && secrets.has(inline.trim()));
};

/**
 * Whether `value` is one of the secrets, as typed or with the blanks or dashes around it that a flag value may
 * carry, or after `--flag=`; a path one of whose names is one (a PIN given as `--baseline` comes back joined, `246810/run.json`, or
 * resolved against the working folder); or a URI that carries a PIN attribute. Names are compared whole.
 */
export function isSecret(value: string): boolean {
  return isOneSecret(value) || (value.includes('/') && value.split('/').some(isOneSecret)) || uriCarriesPin(value.trim());
}

/** What a message shows in place of a value that is a secret. */
export const SECRET_SHOWN = '(a secret: not shown)';

/** Longer values are cut: a message line is no place for a pasted file. */
const MAX_QUOTED_CHARS = 60;

/** Control characters would drive the terminal or break the line: shown as '?'. */
const visible = (value: string) => value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

/** `value` in single quotes for a message, cut when long; a secret is not shown. */
export function quote(value: string): string {
  if (isSecret(value)) return SECRET_SHOWN;
  const text = visible(value);
  return `'${text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS - 20)}…` : text}'`;
}

/** `value` whole and unquoted, for paths and ids in messages; a secret is not shown. */
export function shown(value: string): string {
  return isSecret(value) ? SECRET_SHOWN : visible(value);
}

/** A shell word, quoted only where the shell needs it. */
export const shellWord = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/**
 * A command line a message suggests (`hsm-bench keys delete --label L --slots 3`), built from words, never from
 * text with values pasted in: each word is quoted for the shell, a word that is a secret is not shown, and control
 * characters are shown as '?'.
 */
export function commandLine(...words: string[]): string {
  return words.map((word) => (isSecret(word) ? SECRET_SHOWN : visible(shellWord(word)))).join(' ');
}
