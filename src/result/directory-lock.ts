import { linkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, setupError } from '../errors.js';
import { readInputText } from '../core/input-file.js';
import { makeDirectory } from '../core/make-dir.js';
import { shown } from '../core/quote.js';

/** Directories this process holds; released when it exits normally or through main's error path. */
const held = new Set<string>();

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** A lock file holds a process id; anything else there (a FIFO planted in its place) is read as no owner. */
const LOCK_FILE = { what: 'lock file', maxBytes: 64, exitCode: ExitCode.setup, hint: '' };

/** The process named in a lock file; undefined when the file is gone (released meanwhile) or holds no process. */
function ownerOf(path: string): number | undefined {
  try {
    const pid = Number(readInputText(path, LOCK_FILE).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes a directory for this process, for as long as it runs: the embedded workspace (two processes would both
 * create the same tokens and keys, and sign on the same tokens, each bending the other's numbers) and a burn-in's
 * run directory (two resumes at once would both append to its records). A lock appears whole, with its owner in
 * it, or not at all (a hard link of a file already written), and a dead owner's lock is taken over under a
 * second lock, so that two processes never both remove it and both go on.
 */
export function lockDirectory(dir: string, what: string, hint: string): void {
  if (held.has(dir)) return;
  makeDirectory(dir, 0o700);
  const path = join(dir, 'lock');
  const takeover = `${path}.takeover`;
  const mine = `${path}.${process.pid}`;
  const inUse = (owner: number) => setupError(`${what} ${shown(dir)} is in use by another hsm-bench (process ${owner})`, hint);
  writeFileSync(mine, String(process.pid), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(mine, path);
        held.add(dir);
        if (held.size === 1) process.on('exit', releaseAll);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw setupError(`cannot lock ${what} ${shown(dir)}: ${(error as NodeJS.ErrnoException).code}`, hint, error);
      }
      const owner = ownerOf(path);
      if (owner !== undefined && owner !== process.pid && alive(owner)) throw inUse(owner);
      try {
        linkSync(mine, takeover);
      } catch {
        const other = ownerOf(takeover);
        if (other !== undefined && alive(other)) throw inUse(other);
        rmSync(takeover, { force: true });
        continue;
      }
      try {
        if (ownerOf(path) === owner) rmSync(path, { force: true });
      } finally {
        rmSync(takeover, { force: true });
      }
    }
    throw setupError(`cannot lock ${what} ${shown(dir)}: another process keeps taking it`, hint);
  } finally {
    rmSync(mine, { force: true });
  }
}

function releaseAll(): void {
  for (const dir of held) {
    const path = join(dir, 'lock');
    if (ownerOf(path) === process.pid) rmSync(path, { force: true });
  }
  held.clear();
}
