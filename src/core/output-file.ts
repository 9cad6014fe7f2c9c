import { closeSync, constants, fstatSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import { ExitCode, HsmBenchError } from './errors.js';
import { fileType } from './file-type.js';
import { shown } from './quote.js';

const notAFile = (path: string, what: string) =>
  new HsmBenchError(`${shown(path)} is ${what}, not a file`, ExitCode.usage, 'hsm-bench writes its outputs into regular files only: remove it, or give another path');

/**
 * Opens a file to write, never blocking: a FIFO in its place would block the open until a reader came (and with
 * it every signal, Ctrl-C included), and a device would take the bytes. Only a regular file, or none yet, is
 * opened, and it is emptied (unless `append`) only once known to be one. The caller closes the descriptor.
 */
export function openOutputFile(path: string, options: { mode?: number; append?: boolean } = {}): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOCTTY | (options.append ? constants.O_APPEND : 0), options.mode ?? 0o666);
  } catch (error) {
    // A FIFO without a reader (or a device without its hardware) refuses a non-blocking open with ENXIO.
    const info = (error as NodeJS.ErrnoException).code === 'ENXIO' ? statSync(path, { throwIfNoEntry: false }) : undefined;
    if (info !== undefined) throw notAFile(path, fileType(info));
    throw error;
  }
  const info = fstatSync(fd);
  if (!info.isFile()) {
    closeSync(fd);
    throw notAFile(path, fileType(info));
  }
  if (!options.append) ftruncateSync(fd, 0);
  return fd;
}

/** Writes `content` as the whole of a regular file (see openOutputFile). */
export function writeOutputFile(path: string, content: string | Uint8Array, mode?: number): void {
  const fd = openOutputFile(path, { mode });
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
  } finally {
    closeSync(fd);
  }
}
