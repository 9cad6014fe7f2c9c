import { existsSync } from 'node:fs';
import pkcs11 from 'pkcs11js';
import { setupError } from '../errors.js';
import { ckrName, ckrOf } from './ckr.js';

export interface ModuleInfo {
  path: string;
  manufacturer: string;
  libraryDescription: string;
  libraryVersion: string;
  cryptokiVersion: string;
}

const version = (v: { major: number; minor: number }) => `${v.major}.${v.minor}`;

/** A loaded and initialized PKCS#11 library. One per process: initialize once, finalize once. */
export class Pkcs11Module {
  private constructor(
    readonly lib: pkcs11.PKCS11,
    readonly info: ModuleInfo,
  ) {}

  /**
   * Loads and initializes the library in this (the main) thread. CKF_OS_LOCKING_OK is required: without it
   * SoftHSM disables its locking and multi-threaded signing crashes (PKCS11-FACTS pitfall 1).
   */
  static open(path: string): Pkcs11Module {
    if (!existsSync(path)) {
      throw setupError(`PKCS#11 module ${path} does not exist`, 'give the full path of the module (.so) with --module');
    }
    const lib = new pkcs11.PKCS11();
    try {
      lib.load(path);
    } catch (error) {
      throw setupError(
        `cannot load PKCS#11 module ${path}: ${(error as Error).message}`,
        'the file must be a PKCS#11 shared library exporting C_GetFunctionList, built for this machine',
        error,
      );
    }
    try {
      lib.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
      const info = lib.C_GetInfo();
      return new Pkcs11Module(lib, {
        path,
        manufacturer: info.manufacturerID.trim(),
        libraryDescription: info.libraryDescription.trim(),
        libraryVersion: version(info.libraryVersion),
        cryptokiVersion: version(info.cryptokiVersion),
      });
    } catch (error) {
      lib.close();
      const code = ckrOf(error);
      throw setupError(
        `PKCS#11 module ${path} failed to initialize: ${code === undefined ? (error as Error).message : ckrName(code)}`,
        'check the module configuration (for SoftHSM2: SOFTHSM2_CONF and its tokendir)',
        error,
      );
    }
  }

  /** Finalize after every worker has ended: one C_Finalize breaks every other thread's sessions (pitfall 3). */
  close(): void {
    try {
      this.lib.C_Finalize();
    } finally {
      this.lib.close();
    }
  }
}
