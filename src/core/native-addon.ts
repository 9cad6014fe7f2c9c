import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { NATIVE_SOURCES } from './native-abi.js';
import { packageFile } from './version.js';

/**
 * The native parts of the build (binding.gyp: the timed loop, the list counter, the module probe), each used only
 * when it was built from the sources beside it. Each reports the digest of the sources it was built from (its ABI:
 * native/abi.json, "sources"); a part that reports another, or none, is stale (the C changed after the build) and
 * is refused with why, never used: a stale timed loop would read a spec, or write records, other than these.
 */
export type NativePart<T> = { part: T; why?: undefined; stale?: undefined } | { part: null; why: string; stale: boolean };

let sourceDigest: string | null | undefined;

/**
 * SHA-256 over each native source's path, a NUL, its bytes and a NUL (the twin of sourceDigest in
 * native/generate-abi.mjs, which writes it into the build); null where a source is missing (an incomplete install).
 */
export function nativeSourceDigest(): string | null {
  if (sourceDigest !== undefined) return sourceDigest;
  const hash = createHash('sha256');
  for (const file of NATIVE_SOURCES) {
    const path = packageFile(file);
    if (!existsSync(path)) return (sourceDigest = null);
    hash.update(`${file}\0`).update(readFileSync(path)).update('\0');
  }
  return (sourceDigest = hash.digest('hex'));
}

const notBuilt = (file: string) => ({ part: null, why: `${file} was not built (npm run build:native builds it)`, stale: false }) as const;

/** The part, if it reports `abi` and that is the digest of these sources; else why not. */
function checked<T>(file: string, part: T, abi: unknown): NativePart<T> {
  const digest = nativeSourceDigest();
  if (digest === null) return { part: null, why: `${file} cannot be checked against its sources (one of ${NATIVE_SOURCES.join(', ')} is missing)`, stale: true };
  if (abi !== digest) return { part: null, why: `${file} is stale, built from other native sources than these (npm run build:native rebuilds it)`, stale: true };
  return { part };
}

/** An addon, build/Release/NAME.node (a shared library in this process: it is asked its digest before any use). */
export function loadAddon<T>(name: string): NativePart<T> {
  const file = `build/Release/${name}.node`;
  const path = packageFile(file);
  if (!existsSync(path)) return notBuilt(file);
  const addon = createRequire(import.meta.url)(path) as T & { abi?: unknown };
  return checked<T>(file, addon, addon.abi);
}

/** A native program, build/Release/NAME (its path), which prints its digest when given --abi (and does nothing else). */
export function nativeProgram(name: string): NativePart<string> {
  const file = `build/Release/${name}`;
  const path = packageFile(file);
  if (!existsSync(path)) return notBuilt(file);
  const r = spawnSync(path, ['--abi'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  return checked(file, path, r.status === 0 ? r.stdout.trim() : undefined);
}
