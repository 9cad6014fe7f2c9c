import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setupError } from '../errors.js';

/** Workspaces this process holds; released when it exits, however it exits short of a kill -9. */
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
 * Takes the embedded workspace for this process: two hsm-bench processes on one workspace would both create the
 * same tokens and keys (a duplicate key breaks every later run) and would sign on the same tokens, each bending
 * the other's numbers. A lock left by a process that died is taken over.
 */
export function lockWorkspace(workspace: string): void {
  if (held.has(workspace)) return;
  mkdirSync(workspace, { recursive: true, mode: 0o700 });
  const path = join(workspace, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      held.add(workspace);
      if (held.size === 1) process.on('exit', releaseAll);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw setupError(`cannot lock the workspace ${workspace}: ${(error as NodeJS.ErrnoException).code}`, 'choose a writable folder with --workspace', error);
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw setupError(`the embedded workspace ${workspace} is in use by another hsm-bench (process ${owner})`, 'wait until it ends, or give this run its own --workspace (or HSM_BENCH_WORKSPACE)');
      }
      rmSync(path, { force: true });
    }
  }
  throw setupError(`cannot lock the workspace ${workspace}: another process keeps taking it`, 'give this run its own --workspace');
}

function releaseAll(): void {
  for (const workspace of held) {
    const path = join(workspace, 'lock');
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path);
    } catch {
      // Already gone: nothing to release.
    }
  }
  held.clear();
}
