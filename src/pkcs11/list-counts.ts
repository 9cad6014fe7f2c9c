import type pkcs11 from 'pkcs11js';
import { shown } from '../core/quote.js';
import { setupError } from '../core/errors.js';
import { loadAddon } from '../core/native-addon.js';

/** More slots than any reader, hub or HSM partition list has; a module that says more is broken. */
export const MAX_SLOTS = 4096;
/** More mechanisms than PKCS#11 3.0 defines (about 600), vendor ones included. */
export const MAX_MECHANISMS = 8192;

type Answer = { rv: number; count: number };
interface ListCounter {
  slotCount(modulePath: string, tokenPresent: boolean): Answer;
  mechanismCount(modulePath: string, slot: Buffer): Answer;
}

let counter: ListCounter | null | undefined;

/** The native list counter (native/list-counts.c), or null where it was not built, or built from other sources (stale). */
function listCounter(): ListCounter | null {
  if (counter === undefined) counter = loadAddon<ListCounter>('list_counts').part;
  return counter;
}

/** The file each loaded library came from: what the list counter opens again. */
const modulePaths = new WeakMap<pkcs11.PKCS11, string>();

export const rememberModulePath = (lib: pkcs11.PKCS11, path: string): void => void modulePaths.set(lib, path);

/**
 * Refuses a list the module says is larger than any real one, before pkcs11js allocates it: pkcs11js allocates
 * what the module says, and a module that says 2^31 would have hsm-bench allocate 16 GiB or crash. Exit 3,
 * naming what the module said.
 */
function checkCount(lib: pkcs11.PKCS11, call: string, what: string, max: number, ask: (c: ListCounter, path: string) => Answer): void {
  const path = modulePaths.get(lib);
  const counter = path === undefined ? null : listCounter();
  const reported = counter === null ? undefined : ask(counter, path!);
  if (reported !== undefined && reported.rv === 0 && reported.count > max) {
    throw setupError(
      `PKCS#11 module ${shown(path!)} says it has ${reported.count} ${what} (${call}); hsm-bench lists at most ${max}, more than any real one has`,
      'the module is faulty or misconfigured: check its configuration, or ask its vendor',
    );
  }
}

/** The module's slots (only those with a token, with `tokenPresent`), their number checked first. */
export function slotList(lib: pkcs11.PKCS11, tokenPresent: boolean): Buffer[] {
  checkCount(lib, 'C_GetSlotList', 'slots', MAX_SLOTS, (c, path) => c.slotCount(path, tokenPresent));
  return lib.C_GetSlotList(tokenPresent);
}

/** A slot's mechanisms, their number checked first. */
export function mechanismList(lib: pkcs11.PKCS11, slot: Buffer): number[] {
  checkCount(lib, 'C_GetMechanismList', 'mechanisms', MAX_MECHANISMS, (c, path) => c.mechanismCount(path, slot));
  return lib.C_GetMechanismList(slot);
}
