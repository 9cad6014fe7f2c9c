import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import type pkcs11 from 'pkcs11js';
import { shown } from '../core/quote.js';
import { setupError } from '../errors.js';
import { packageFile } from '../version.js';

/** More slots than any reader, hub or HSM partition list has; a module that says more is broken. */
export const MAX_SLOTS = 4096;

interface SlotCounter {
  slotCount(modulePath: string, tokenPresent: boolean): { rv: number; count: number };
}

let counter: SlotCounter | null | undefined;

/** The native slot counter (native/slot-count.c), or null where the native part was not built. */
function slotCounter(): SlotCounter | null {
  if (counter !== undefined) return counter;
  const path = packageFile('build/Release/slot_count.node');
  counter = existsSync(path) ? (createRequire(import.meta.url)(path) as SlotCounter) : null;
  return counter;
}

/** The file each loaded library came from: what the slot counter opens again. */
const modulePaths = new WeakMap<pkcs11.PKCS11, string>();

export const rememberModulePath = (lib: pkcs11.PKCS11, path: string): void => void modulePaths.set(lib, path);

/**
 * The module's slots (only those with a token, with `tokenPresent`), with the count the module reports checked
 * first: pkcs11js allocates what the module says, and a module that says 2^31 slots would have hsm-bench
 * allocate 16 GiB or crash. Such a module is refused with exit 3, naming what it said.
 */
export function slotList(lib: pkcs11.PKCS11, tokenPresent: boolean): Buffer[] {
  const path = modulePaths.get(lib);
  const reported = path === undefined ? undefined : slotCounter()?.slotCount(path, tokenPresent);
  if (reported !== undefined && reported.rv === 0 && reported.count > MAX_SLOTS) {
    throw setupError(
      `PKCS#11 module ${shown(path!)} says it has ${reported.count} slots (C_GetSlotList); hsm-bench lists at most ${MAX_SLOTS}, more than any reader or HSM has`,
      'the module is faulty or misconfigured: check its configuration, or ask its vendor',
    );
  }
  return lib.C_GetSlotList(tokenPresent);
}
