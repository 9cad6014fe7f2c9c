import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { softhsmModulePath } from '../../src/keys/embedded-softhsm.js';
import { tempDir } from './cli.js';

export const SPY_MODULE = '/usr/lib/x86_64-linux-gnu/pkcs11-spy.so';
export const TEST_PIN = '246810';

/**
 * SoftHSM2 used as a user's module would be: tokens made with softhsm2-util, keys made with OpenSC's
 * pkcs11-tool, never by hsm-bench's embedded provisioning. Test PINs on these tools' command lines are fine:
 * the tokens live in a temporary folder and die with it.
 */
export class ExternalSoftHsm {
  readonly dir = tempDir('external');
  readonly conf = join(this.dir, 'softhsm2.conf');
  readonly module = softhsmModulePath();

  constructor(extraConf = '') {
    mkdirSync(join(this.dir, 'tokens'));
    writeFileSync(this.conf, `directories.tokendir = ${join(this.dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n${extraConf}`);
  }

  get env(): Record<string, string> {
    return { SOFTHSM2_CONF: this.conf };
  }

  initToken(label: string, pin = TEST_PIN): void {
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', '13579135'], { env: { ...process.env, ...this.env }, stdio: 'pipe' });
  }

  generateKey(tokenLabel: string, keyType: string, keyLabel: string): void {
    execFileSync('pkcs11-tool', ['--module', this.module, '--token-label', tokenLabel, '--login', '--pin', TEST_PIN, '--keypairgen', '--key-type', keyType, '--label', keyLabel, '--id', '0a0b'], {
      env: { ...process.env, ...this.env },
      stdio: 'pipe',
    });
  }

  /** Environment that routes the module through OpenSC's pkcs11-spy.so, logging every call to `log`. */
  spyEnv(log: string): Record<string, string> {
    return { ...this.env, PKCS11SPY: this.module, PKCS11SPY_OUTPUT: log };
  }
}

/** Builds test/faults/faulty-pkcs11.c: a module wrapper that injects faults (CKR_DEVICE_ERROR, a changed PIN) and slowness into a real module. */
export function buildFaultyModule(): string {
  const out = join(tempDir('faulty'), 'faulty-pkcs11.so');
  const source = new URL('../faults/faulty-pkcs11.c', import.meta.url).pathname;
  const headers = new URL('../../node_modules/pkcs11js/includes/pkcs11', import.meta.url).pathname;
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', out, source, '-I', headers, '-ldl', '-lpthread']);
  return out;
}
