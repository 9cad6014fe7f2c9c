import { existsSync, readFileSync } from 'node:fs';

/** The nearest package.json above this file (dist/src/ when built, src/ under the tests). */
function packageJsonUrl(): URL {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    const candidate = new URL('package.json', dir);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('package.json of hsm-bench not found');
}

/** The version in package.json: one source of truth for --version and run.json. */
export const TOOL_VERSION: string = JSON.parse(readFileSync(packageJsonUrl(), 'utf8')).version;
