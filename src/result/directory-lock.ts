import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setupError } from '../errors.js';

/** Directories this process holds; released when it exits, however it exits short of a kill -9. */
const held = new Set<string>();

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Takes a directory for this process, for as long as it runs: the embedded workspace (two processes would both
 * create the same tokens and keys, and sign on the same tokens, each bending the other's numbers) and a burn-in's
 * run directory (two resumes at once would both append to its records). A lock left by a process that died is
 * taken over. `what` and `hint` name the directory and the way out in the messages.
 */
export function lockDirectory(dir: string, what: string, hint: string): void {
  if (held.has(dir)) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'lock');
  // The lock appears whole, with its owner in it, or not at all (a hard link): another process never reads an
  // empty lock and takes it for a dead one's.
  const mine = `${path}.${process.pid}`;
  writeFileSync(mine, String(process.pid), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(mine, path);
        held.add(dir);
        if (held.size === 1) process.on('exit', releaseAll);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw setupError(`cannot lock ${what} ${dir}: ${(error as NodeJS.ErrnoException).code}`, hint, error);
        const owner = Number(readFileSync(path, 'utf8').trim());
        if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) throw setupError(`${what} ${dir} is in use by another hsm-bench (process ${owner})`, hint);
        rmSync(path, { force: true });
      }
    }
    throw setupError(`cannot lock ${what} ${dir}: another process keeps taking it`, hint);
  } finally {
    rmSync(mine, { force: true });
  }
}

function releaseAll(): void {
  for (const dir of held) {
    const path = join(dir, 'lock');
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path);
    } catch {
      // Already gone: nothing to release.
    }
  }
  held.clear();
}
