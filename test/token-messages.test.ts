import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import pkcs11 from 'pkcs11js';
import { runCli, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

// What a token refuses, said so that the user can act on it: tokens that refuse what tpm2-pkcs11 (a TPM through
// PKCS#11) refuses, made of SoftHSM2 tokens by the fault module (test/faults/faulty-pkcs11.c). The same messages on
// a real software TPM are in test/emu-stacks.test.ts.

const hex = (n: number) => `0x${n.toString(16)}`;

describe('messages of token refusals (SoftHSM2 behind the fault module)', () => {
  let faulty: string;
  let hsm: ExternalSoftHsm;
  beforeAll(() => {
    faulty = buildFaultyModule();
    hsm = new ExternalSoftHsm();
    hsm.initToken('msg');
  });
  const env = (faults: Record<string, string> = {}) => ({ ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', ...faults });
  const create = (args: string[], faults: Record<string, string> = {}) => runCli(['keys', 'create', '--module', faulty, '--token-label', 'msg', ...args], env(faults));
  const listKeys = () => runCli(['list', '--module', hsm.module, '--token-label', 'msg', '--keys'], { ...hsm.env, HSM_BENCH_PIN: TEST_PIN }).stdout;

  it('--op derive on a token without ECDH names the missing mechanism, not a key to create', () => {
    const r = runCli(
      ['scale', '--module', faulty, '--token-label', 'msg', '--op', 'derive', '--alg', 'p256', '--tokens', '1', '--out', tempDir('msg-derive')],
      env({ FAULTY_HIDE_MECHANISMS: hex(pkcs11.CKM_ECDH1_DERIVE) }),
    );
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/cannot derive with ECDH: it offers none of CKM_ECDH1_DERIVE/);
    expect(r.stderr).not.toMatch(/keys create/);
  });

  it('keys create --usage derive on a token without ECDH is refused before a key is made', () => {
    const r = create(['--alg', 'p256', '--usage', 'derive', '--label', 'no-ecdh'], { FAULTY_HIDE_MECHANISMS: hex(pkcs11.CKM_ECDH1_DERIVE) });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/cannot derive with EC keys: it offers none of CKM_ECDH1_DERIVE, so a key to derive would be of no use there/);
    expect(listKeys()).not.toContain('no-ecdh');
  });

  it('a refused CKA_EXTRACTABLE is named, not sent to the key sizes', () => {
    const r = create(['--alg', 'p256', '--label', 'no-extract', '--extractable'], { FAULTY_REFUSE_ATTRIBUTE: `${hex(pkcs11.CKA_EXTRACTABLE)}=1` });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(
      /refused to generate an ECDSA P-256 key pair: CKR_ATTRIBUTE_VALUE_INVALID; it refuses CKA_EXTRACTABLE=true on the private key \(each tried alone beside the usage; trial keys deleted again\): it makes no extractable keys\nhint: leave out --extractable/,
    );
    expect(r.stderr).not.toMatch(/key sizes/);
    expect(listKeys()).not.toContain('no-extract');
  });

  it('a refused usage is named (CKR_TEMPLATE_INCONSISTENT on CKA_DERIVE=true)', () => {
    const r = create(['--alg', 'p256', '--usage', 'derive', '--label', 'no-derive'], {
      FAULTY_REFUSE_ATTRIBUTE: `${hex(pkcs11.CKA_DERIVE)}=1`,
      FAULTY_REFUSE_CKR: hex(pkcs11.CKR_TEMPLATE_INCONSISTENT),
    });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/CKR_TEMPLATE_INCONSISTENT; it made one without CKA_DERIVE=true on the private key \(deleted again\): it makes no EC keys that can derive/);
    expect(listKeys()).not.toContain('no-derive');
  });

  it('an "other usage false" the token refuses is left out when the key it makes does not allow that usage anyway', () => {
    // SoftHSM2's EC keys do not derive unless told to: a sign key made without CKA_DERIVE=false still cannot.
    const r = create(['--alg', 'p256', '--usage', 'sign', '--label', 'sign-only'], { FAULTY_REFUSE_ATTRIBUTE: `${hex(pkcs11.CKA_DERIVE)}=0` });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/note: token .* refused CKA_DERIVE=false on the private key in the template; the key it made does not allow that usage either/);
    expect(r.stdout).toMatch(/created ECDSA P-256 key pair 'sign-only' to sign,/);
    // SoftHSM2's keys sign-recover unless told not to: a key made without CKA_SIGN_RECOVER=false is refused, and deleted.
    const recover = create(['--alg', 'p256', '--usage', 'derive', '--label', 'no-recover'], { FAULTY_REFUSE_ATTRIBUTE: `${hex(pkcs11.CKA_SIGN_RECOVER)}=0` });
    expect(recover.status).toBe(3);
    expect(recover.stderr).toMatch(
      /it refuses CKA_SIGN_RECOVER=false on the private key \(each tried alone beside the usage; trial keys deleted again\); made without it, the key had CKA_SIGN_RECOVER on the private key true: it makes no ECDSA P-256 key that can only derive/,
    );
    expect(listKeys()).not.toContain('no-recover');
  });

  it('keys create --usage sign and --usage derive on EC, decrypt on RSA: every other usage false, read back', () => {
    for (const [alg, usage, allowed] of [
      ['p256', 'sign', 'sign'],
      ['p256', 'derive', 'derive'],
      ['rsa2048', 'decrypt', 'decrypt'],
      ['rsa2048', 'sign', 'sign'],
    ]) {
      const label = `one-${alg}-${usage}`;
      const r = runCli(['keys', 'create', '--module', hsm.module, '--token-label', 'msg', '--alg', alg!, '--usage', usage!, '--label', label], { ...hsm.env, HSM_BENCH_PIN: TEST_PIN });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`key pair '${label}' to ${allowed},`));
    }
  });

  it("a vendor code from key generation is unsigned hex, said to be the vendor's", () => {
    const r = create(['--alg', 'p256', '--label', 'vendor'], { FAULTY_GENERATE_CKR: '0x80000001' });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/refused to generate an ECDSA P-256 key pair: CKR_0x80000001 \(a code of the module's vendor/);
    expect(r.stderr).not.toMatch(/0x-/);
  });

  it('vendor codes from signatures (native loop and worker threads) are recorded as unsigned hex', () => {
    const out = tempDir('msg-vendor');
    expect(runCli(['keys', 'create', '--module', hsm.module, '--token-label', 'msg', '--alg', 'p256', '--label', 'vk'], { ...hsm.env, HSM_BENCH_PIN: TEST_PIN }).status).toBe(0);
    const r = runCli(
      ['scale', '--module', faulty, '--token-label', 'msg', '--alg', 'p256', '--key-label', 'vk', '--tokens', '1', '--signatures-per-token', '40', '--warmup', '0', '--json', '--out', out],
      env({ FAULTY_EVERY: '10', FAULTY_SIGN_CKR: '0x80000001' }),
    );
    expect(r.status).toBe(4);
    expect(r.stdout).toContain('CKR_0x80000001');
    expect(r.stdout).not.toMatch(/0x-/);
  });

  it('--op mac and --op encrypt on a token that creates no object in a read-only session: exit 3 at set-up, with why', () => {
    for (const op of ['mac', 'encrypt']) {
      const r = runCli(['scale', '--module', faulty, '--token-label', 'msg', '--op', op, '--tokens', '1', '--signatures-per-token', '10', '--out', tempDir('msg-ro')], env({ FAULTY_RO_CREATE: '1' }));
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).not.toMatch(/running/);
      expect(r.stderr).toMatch(/refuses hsm-bench's test key as a session object in a read-only session \(CKR_SESSION_READ_ONLY\)/);
      expect(r.stderr).toMatch(/it takes the key only in a read-write session\nhint: hsm-bench measures in read-only sessions/);
    }
  });

  it("keys kek import onto a token holding another share's KEK: compared by check value, an error with what to do", () => {
    const dir = tempDir('msg-kek');
    const passphrase = { HSM_BENCH_KEK_PASSPHRASE: 'correct horse battery staple' };
    const [a, b] = [join(dir, 'a.kek'), join(dir, 'b.kek')];
    for (const share of [a, b]) expect(runCli(['keys', 'kek', 'create', '--file', share], passphrase).status).toBe(0);
    const kek = (share: string) => runCli(['keys', 'kek', 'import', '--module', hsm.module, '--token-label', 'msg', '--file', share], { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, ...passphrase });
    const first = kek(a);
    expect(first.status, first.stderr).toBe(0);
    const kcvA = /key check value ([0-9a-f]{16})/.exec(first.stdout)![1];
    const again = kek(a);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`already has this share's KEK 'hsm-bench-kek' \\(key check value ${kcvA}\\); left as it is`));
    const other = kek(b);
    expect(other.status).toBe(3);
    expect(other.stderr).toMatch(
      /already has another KEK labelled 'hsm-bench-kek' \((check value [0-9a-f]{6}, this share's [0-9a-f]{6}|key check value [0-9a-f]{16}, this share's [0-9a-f]{16})\): keys cloned under one cannot be unwrapped under the other\nhint: tokens that pass keys to each other need the same share/,
    );
    expect(other.stdout).not.toMatch(/left as it is/);
  });
});
