import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { HsmBenchError, type ExitCode } from './errors.js';
import { shown } from './quote.js';
import { fileType } from './file-type.js';

/** What an input file is, for messages and bounds: its name, its largest sane size, and the exit code of a bad one. */
export interface InputKind {
  /** e.g. 'lab file', 'run.json', 'PIN file'. */
  what: string;
  maxBytes: number;
  exitCode: ExitCode;
  hint: string;
  /** How messages name the file instead of its path (e.g. 'given' for a PIN file, whose path may be the PIN pasted). */
  pathShown?: string;
}

const MiB = 1024 * 1024;

/** The file as messages name it. */
export const nameOf = (path: string, kind: InputKind) => kind.pathShown ?? shown(path);

export const sizeText = (bytes: number) => (bytes >= MiB ? `${Math.round(bytes / MiB)} MiB` : bytes >= 1024 ? `${Math.round(bytes / 1024)} KiB` : `${bytes} bytes`);

/**
 * Opens an input file for reading only if it is a regular file no larger than the kind allows. A symlink to
 * /dev/zero would be read for ever and a FIFO would block the open for ever (and with it, every signal): the file
 * is opened without blocking and its type is checked on the open descriptor, before a byte is read. Returns the
 * descriptor and the file's size; the caller closes it.
 */
export function openInputFile(path: string, kind: InputKind): { fd: number; sizeBytes: number } {
  const fail = (problem: string) => new HsmBenchError(`the ${kind.what} ${nameOf(path, kind)} ${problem}`, kind.exitCode, kind.hint);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw fail(code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (no permission)' : `cannot be opened (${code ?? 'error'})`);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw fail(`is ${fileType(info)}, not a file`);
    // Exact bytes where the rounded sizes would read the same (65,537 bytes against a 64 KiB limit).
    const exact = sizeText(info.size) === sizeText(kind.maxBytes);
    const bytes = (n: number) => (exact ? `${n.toLocaleString('en-US')} bytes` : sizeText(n));
    if (info.size > kind.maxBytes) throw fail(`is ${bytes(info.size)}, more than a ${kind.what} can be (${bytes(kind.maxBytes)})`);
    return { fd, sizeBytes: info.size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** An input file's bytes, read only if it is a regular file within its kind's size (see openInputFile). */
export function readInputFile(path: string, kind: InputKind): Buffer {
  const { fd, sizeBytes } = openInputFile(path, kind);
  try {
    // A file that grows while it is read is read no further than the bound.
    const buffer = Buffer.alloc(Math.min(sizeBytes, kind.maxBytes) + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > kind.maxBytes) throw new HsmBenchError(`the ${kind.what} ${nameOf(path, kind)} grew past ${sizeText(kind.maxBytes)} while it was read`, kind.exitCode, kind.hint);
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof HsmBenchError) throw error;
    throw new HsmBenchError(`the ${kind.what} ${nameOf(path, kind)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, kind.exitCode, kind.hint);
  } finally {
    closeSync(fd);
  }
}

/** Strict: bytes that are not UTF-8 are an error, not U+FFFD; a BOM is kept, so that a reader sees what the file holds. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * An input file as UTF-8 text (see readInputFile). A file in another encoding (a PIN saved as Latin-1) is refused:
 * decoded leniently, its text would differ from what the user wrote (a PIN would reach the token as EF BF BD).
 */
export function readInputText(path: string, kind: InputKind): string {
  const bytes = readInputFile(path, kind);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HsmBenchError(`the ${kind.what} ${nameOf(path, kind)} is not UTF-8 text`, kind.exitCode, 'save it as UTF-8 text (hsm-bench reads no other encoding)');
  }
}
