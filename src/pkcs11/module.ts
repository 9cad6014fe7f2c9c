import { ModuleInstances, ModuleInfo } from '../model/run-result.js';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import pkcs11 from 'pkcs11js';
import { HsmBenchError, setupError } from '../core/errors.js';
import { ckrOf, describe } from '../model/ckr.js';
import { shown } from '../core/quote.js';
import { fileType } from '../core/file-type.js';
import { rememberModulePath } from './list-counts.js';
import { probeModule } from './module-probe.js';

const version = (v: { major: number; minor: number }) => `${v.major}.${v.minor}`;
/** PKCS#11 strings are blank-padded, and some tokens pad with NUL bytes instead: neither belongs in a report. */
/**
 * Control characters (an escape sequence in a label) are shown as '?': a token must not be able to drive the
 * terminal of whoever lists it, nor break a CSV or report line.
 */
export const pkcs11Text = (s: string) =>
  s
    .replace(/\0/g, '')
    .replace(/[\u0001-\u001f\u007f-\u009f]/g, '?')
    .trim();

/**
 * The file that will be loaded: a bare name (no '/') is searched by the dynamic loader along the system's paths,
 * not in the current folder, so a bare name that exists here is made a path, and only a path is checked.
 */
function resolveModule(path: string): string {
  if (!path.includes('/') && !existsSync(path)) return path;
  const file = path.includes('/') ? path : resolve(path);
  const info = statSync(file, { throwIfNoEntry: false });
  if (info === undefined) throw setupError(`PKCS#11 module ${shown(path)} does not exist`, 'give the full path of the module (.so) with --module');
  // Loading a FIFO would wait for a writer (until the load's time bound); a device or a folder is no library either.
  if (!info.isFile()) throw setupError(`PKCS#11 module ${shown(path)} is ${fileType(info)}, not a library file`, 'give the full path of the module (.so) with --module');
  return file;
}

function load(path: string): pkcs11.PKCS11 {
  const file = resolveModule(path);
  const lib = new pkcs11.PKCS11();
  try {
    lib.load(file);
    rememberModulePath(lib, file);
  } catch (error) {
    // The loader's message is "<file>: <why>": the file is named once, through the quoting, and only the reason follows.
    const why = (error as Error).message.startsWith(`${file}: `) ? (error as Error).message.slice(file.length + 2) : (error as Error).message;
    throw setupError(`cannot load PKCS#11 module ${shown(path)}: ${why}`, 'the file must be a PKCS#11 shared library exporting C_GetFunctionList, built for this machine', error);
  }
  return lib;
}

/**
 * CKF_OS_LOCKING_OK is required: without it SoftHSM disables its locking and multi-threaded signing crashes.
 * Returns false when this load shares an instance that is initialized already.
 */
function initialize(lib: pkcs11.PKCS11): boolean {
  try {
    lib.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
    return true;
  } catch (error) {
    if (ckrOf(error) === pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) return false;
    throw error;
  }
}

/**
 * Closes every session this process has on the module's slots, then finalizes it. PKCS#11 lets C_Finalize close
 * them itself, but not every module manages: sc-hsm-embedded's C_Finalize takes its (non-recursive) lock and then
 * takes it again for each session still open, and never returns. A run that was stopped or resumed can still hold
 * its login sessions, so they are closed first, whatever the command.
 */
function finalize(lib: pkcs11.PKCS11): void {
  let slots: Buffer[] = [];
  try {
    slots = lib.C_GetSlotList(false);
  } catch {
    // A module whose server or reader is gone has no slots to close; C_Finalize is still tried.
  }
  for (const slot of slots) {
    try {
      lib.C_CloseAllSessions(slot);
    } catch {
      // A slot without sessions, or a token removed: nothing of this process is left open there.
    }
  }
  lib.C_Finalize();
}

/** Modules opened and not closed yet: finalized at the end of the command, after its results are out. */
const openModules = new Set<Pkcs11Module>();

/** What the probe of each module loaded by this process found: a later run of a lab file loads it again unprobed. */
const probedInstances = new Map<string, ModuleInfo['instances']>();

/**
 * A loaded and initialized PKCS#11 library, opened in the main thread before any worker, after a probe in a process
 * of its own has seen it load and initialize without crashing or hanging.
 */
export class Pkcs11Module {
  private constructor(
    readonly lib: pkcs11.PKCS11,
    readonly info: ModuleInfo,
  ) {}

  static async open(given: string): Promise<Pkcs11Module> {
    // Workers and run.json get the file that was loaded, not a bare name the loader might resolve otherwise.
    const path = resolveModule(given);
    // Probed once per process: a module loaded here before was probed, and a second process may wait in
    // C_Initialize for as long as this one has it open (OpenSC with pcscd does).
    const instances = probedInstances.get(path) ?? (await probeModule(path)).instances;
    if (instances !== null) probedInstances.set(path, instances);
    const lib = load(path);
    try {
      initialize(lib);
      const info = lib.C_GetInfo();
      // The probe saw a refusal that this load did not: the module answers differently from one load to the next.
      if (instances === null) throw setupError(`PKCS#11 module ${shown(path)} refused a call when probed, then initialized`, 'run again; if it persists, the module or its server is unstable');
      const mod = new Pkcs11Module(lib, {
        path,
        manufacturer: pkcs11Text(info.manufacturerID),
        libraryDescription: pkcs11Text(info.libraryDescription),
        libraryVersion: version(info.libraryVersion),
        cryptokiVersion: version(info.cryptokiVersion),
        instances,
      });
      openModules.add(mod);
      return mod;
    } catch (error) {
      lib.close();
      if (error instanceof HsmBenchError) throw error;
      throw setupError(
        `PKCS#11 module ${shown(path)} failed to initialize: ${describe(error)}`,
        'check the module configuration (for SoftHSM2: SOFTHSM2_CONF and its tokendir; for p11-kit-client: P11_KIT_SERVER_ADDRESS and its server)',
        error,
      );
    }
  }

  /**
   * Finalizes now: only where another program needs the tokens, or a fresh view of them is needed (the embedded
   * workspace after creating tokens, a key made by another program); every other module is finalized by
   * finalizeOpenModules, after all workers and all results.
   */
  close(): void {
    openModules.delete(this);
    try {
      finalize(this.lib);
    } catch {
      // A module that cannot finalize (its server gone, its reader unplugged) is done with all the same.
    } finally {
      this.lib.close();
    }
  }
}

/**
 * The last PKCS#11 calls of a command, after its results, reports and table are out: a module that crashes or
 * hangs in C_Finalize (real ones do) then costs nothing that was measured. One C_Finalize of a shared instance
 * breaks every other thread's sessions, so this runs once every worker has ended.
 */
export function finalizeOpenModules(): void {
  for (const mod of [...openModules]) mod.close();
}

export const hasOpenModules = (): boolean => openModules.size > 0;

/**
 * A worker thread's load of the module. It is initialized here only when the load is an instance of its own;
 * a shared instance was initialized by the main thread (SoftHSM's C_Initialize is not thread-safe, so it must
 * happen once, before the workers), and only the main thread finalizes it.
 */
export class ModuleInstance {
  private constructor(
    readonly lib: pkcs11.PKCS11,
    readonly own: boolean,
  ) {}

  /** `instances` as the main thread found them: a shared instance is never initialized again from a worker. */
  static load(path: string, instances: ModuleInstances): ModuleInstance {
    const lib = load(path);
    try {
      return new ModuleInstance(lib, instances === 'per-load' && initialize(lib));
    } catch (error) {
      lib.close();
      throw error;
    }
  }

  /**
   * A fresh view of the tokens for an instance of the worker's own (finalized and initialized again); a shared
   * instance is the main thread's and is left alone. Errors surface at the next call, as the connection's outcome.
   */
  renew(): void {
    if (!this.own) return;
    try {
      finalize(this.lib);
    } catch {
      // Finalizing an instance whose connection broke is best effort: the new initialize is what counts.
    }
    try {
      this.lib.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
    } catch {
      // The next call reports CKR_CRYPTOKI_NOT_INITIALIZED, which the caller's retry or error message covers.
    }
  }

  close(): void {
    try {
      if (this.own) finalize(this.lib);
    } catch {
      // As for the main instance: finalizing is best effort once signing is over.
    } finally {
      this.lib.close();
    }
  }
}
