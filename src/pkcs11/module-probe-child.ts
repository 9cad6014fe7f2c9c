import { writeSync } from 'node:fs';
import pkcs11 from 'pkcs11js';
import { ckrOf } from '../model/ckr.js';

/**
 * The probe of a module where the native one (native/module-probe.c) was not built: the same steps and lines,
 * through pkcs11js, in a Node process of its own. pkcs11js loads (dlopen and C_GetFunctionList) in one call and
 * calls through the list without checking it, so a NULL list shows as a crash in the C_Initialize that follows.
 */
const say = (line: string) => writeSync(1, `${line}\n`);
const end = (): never => process.exit(0);
const path = process.argv[2]!;

function load(which: string): pkcs11.PKCS11 {
  say(`step C_GetFunctionList${which}`);
  const lib = new pkcs11.PKCS11();
  try {
    lib.load(path);
  } catch (error) {
    say(`declined C_GetFunctionList${which} ${ckrOf(error) ?? 0}`);
    end();
  }
  return lib;
}

function call(step: string, work: () => void, accepted: number[] = []): number {
  say(`step ${step}`);
  try {
    work();
    return pkcs11.CKR_OK;
  } catch (error) {
    const rv = ckrOf(error);
    if (rv !== undefined && accepted.includes(rv)) return rv;
    say(`declined ${step} ${rv ?? 0}`);
    return end();
  }
}

const lib = load('');
call('C_Initialize', () => lib.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK }), [pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED]);
call('C_GetInfo', () => lib.C_GetInfo());
call('C_GetSlotList', () => lib.C_GetSlotList(false));
const again = load(' (a second load)');
const rv = call('C_Initialize (a second load)', () => again.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK }), [pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED]);
say(`ok ${rv === pkcs11.CKR_OK ? 'per-load' : 'shared'}`);
end();
