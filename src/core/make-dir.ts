import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ExitCode, HsmBenchError } from './errors.js';
import { shown } from './quote.js';

/**
 * Creates a folder and its missing parents, one component at a time, each tried once. Node's recursive mkdir
 * retries for ever where the kernel answers ENOENT for a parent that exists (/proc, /sys): `--out /proc/x` spun
 * the process, deaf to signals. Here every step either succeeds, finds a folder there already, or fails with a
 * message naming the folder (exit 3).
 */
export function makeDirectory(path: string, mode = 0o777): void {
  const target = resolve(path);
  const missing: string[] = [];
  for (let dir = target; !isDirectory(dir); dir = dirname(dir)) {
    if (dir === dirname(dir)) break;
    missing.unshift(dir);
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && isDirectory(dir)) continue;
      throw new HsmBenchError(
        `cannot create the folder ${shown(dir)}: ${code === 'EEXIST' ? 'a file is in the way' : code === 'ENOENT' || code === 'EPERM' ? `${code} (a system folder such as /proc takes no new folders)` : (code ?? 'error')}`,
        ExitCode.setup,
        'choose a folder you can write to',
        { cause: error },
      );
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
