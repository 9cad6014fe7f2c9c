import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The folder of hsm-bench's package.json above this file (dist/src/ when built, src/ under the tests). */
function findPackageRoot(): URL {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    if (existsSync(new URL('package.json', dir))) return dir;
  }
  throw new Error('package.json of hsm-bench not found');
}

const ROOT = findPackageRoot();

/** A file shipped with the package (schemas/, build/), by its path from the package's root. */
export const packageFile = (relative: string): string => fileURLToPath(new URL(relative, ROOT));

/** The version in package.json: one source of truth for --version and run.json. */
export const TOOL_VERSION: string = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')).version;
