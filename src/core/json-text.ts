import { HsmBenchError } from './errors.js';
import { nameOf, readInputText, type InputKind } from './input-file.js';

const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;
const WHITESPACE = /[ \t\n\r]*/y;

/** Where `text` stops being JSON (RFC 8259): the offset of the first wrong character, or the end of a text cut short. */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const skip = () => {
    WHITESPACE.lastIndex = i;
    WHITESPACE.exec(text);
    i = WHITESPACE.lastIndex;
  };
  const match = (pattern: RegExp) => {
    pattern.lastIndex = i;
    if (!pattern.test(text)) return false;
    i = pattern.lastIndex;
    return true;
  };
  /** Moves past a string starting at i; false where it breaks. */
  const string = () => {
    if (text[i] !== '"') return false;
    for (i++; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const e = text[++i];
        if (e === 'u' ? !/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5)) : e === undefined || !'"\\/bfnrt'.includes(e)) return false;
        if (e === 'u') i += 4;
      }
    }
    return false;
  };
  // Iterative, with the open containers on a stack: a file of a million '[' must not overflow the call stack.
  const open: string[] = [];
  let want: 'value' | 'key' | 'after' = 'value';
  for (;;) {
    skip();
    if (want === 'value') {
      const c = text[i];
      if (c === '{' || c === '[') {
        open.push(c);
        i++;
        skip();
        if (text[i] === (c === '{' ? '}' : ']')) {
          open.pop();
          i++;
          want = 'after';
        } else want = c === '{' ? 'key' : 'value';
      } else if (string() || match(NUMBER) || match(LITERAL)) want = 'after';
      else return i;
    } else if (want === 'key') {
      if (!string()) return i;
      skip();
      if (text[i++] !== ':') return i - 1;
      want = 'value';
    } else {
      const top = open[open.length - 1];
      if (top === undefined) return i === text.length ? undefined : i;
      const c = text[i++];
      if (c === ',') want = top === '{' ? 'key' : 'value';
      else if (c === (top === '{' ? '}' : ']')) open.pop();
      else return i - 1;
    }
  }
}

/** Line and column (from 1) of an offset in `text`. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lastBreak = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: offset - lastBreak };
}

/**
 * Parses JSON that came from a file the user named. The parser's own message quotes the text it choked on, and a
 * PIN file given by mistake (--config ~/.pin) would be printed: this message says only where the text went wrong.
 */
export function parseJsonText(given: string, path: string, kind: InputKind): unknown {
  const text = given.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text);
  } catch {
    const offset = jsonErrorOffset(text);
    const where = offset === undefined ? '' : (({ line, column }) => ` at line ${line}, column ${column}`)(lineAndColumn(text, offset));
    throw new HsmBenchError(`the ${kind.what} ${nameOf(path, kind)} is not valid JSON${where}`, kind.exitCode, kind.hint);
  }
}

/** A file's version field for a message: a small whole number is shown, anything else is not quoted. */
export const versionText = (version: unknown): string => (Number.isInteger(version) && (version as number) >= 0 && (version as number) < 1000 ? String(version) : 'none that this hsm-bench knows');

/** An input file (bounded, see readInputText) parsed as JSON, with no part of its text in any message. */
export const readJsonFile = (path: string, kind: InputKind): unknown => parseJsonText(readInputText(path, kind), path, kind);
