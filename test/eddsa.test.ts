import { generateKeyPairSync, randomBytes, sign as hostSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Listing } from '../src/cli/list.js';
import { messageFor } from '../src/model/message.js';
import type { RunResult } from '../src/model/run-result.js';
import { operationByName } from '../src/operations/registry.js';
import { publicKeyFromAttributes } from '../src/pkcs11/public-key.js';
import { readRecords } from '../src/result/records-file.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';
import { ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

/** An Edwards public key as a token gives it: CKA_EC_PARAMS (the curve's OID, or its printable name) and CKA_EC_POINT. */
function tokenShaped(curve: 'ed25519' | 'ed448') {
  const pair = generateKeyPairSync(curve);
  const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
  const point = spki.subarray(spki.length - (curve === 'ed25519' ? 32 : 57));
  const oid = Buffer.from(curve === 'ed25519' ? '06032b6570' : '06032b6571', 'hex');
  return { pair, point, oid, wrapped: Buffer.concat([Buffer.from([0x04, point.length]), point]) };
}

describe('EdDSA host checks, on hand-made keys', () => {
  it('a signature over the call’s message verifies with node:crypto; one flipped bit or another message does not', () => {
    for (const curve of ['ed25519', 'ed448'] as const) {
      const { pair, oid, wrapped } = tokenShaped(curve);
      const seed = randomBytes(24);
      const signature = hostSign(null, messageFor(seed, 7), pair.privateKey);
      expect(signature.length).toBe(curve === 'ed25519' ? 64 : 114);
      const data = { publicKeys: [publicKeyFromAttributes({ family: 'eddsa', ecParams: oid, ecPoint: wrapped })], mechanism: { name: 'CKM_EDDSA', ckm: 0x1057, pss: false, hostDigest: 'none' } };
      const sign = operationByName('sign');
      expect(sign.check(data, 0, seed, 7, signature)).toBe(true);
      expect(sign.check(data, 0, seed, 8, signature)).toBe(false);
      const flipped = Buffer.from(signature);
      flipped[3]! ^= 1;
      expect(sign.check(data, 0, seed, 7, flipped)).toBe(false);
    }
  });

  it('keygen: an Edwards point bare or DER-wrapped, under the OID or the printable curve name, passes; a point of the wrong length fails', () => {
    const { point, oid, wrapped } = tokenShaped('ed25519');
    const keygen = operationByName('keygen');
    const printable = Buffer.concat([Buffer.from([0x13, 12]), Buffer.from('edwards25519')]);
    expect(keygen.check({ family: 'eddsa', bits: 256, ecParams: oid }, 0, randomBytes(24), 0, point)).toBe(true);
    expect(keygen.check({ family: 'eddsa', bits: 256, ecParams: oid }, 0, randomBytes(24), 0, wrapped)).toBe(true);
    expect(keygen.check({ family: 'eddsa', bits: 256, ecParams: printable }, 0, randomBytes(24), 0, wrapped)).toBe(true);
    expect(keygen.check({ family: 'eddsa', bits: 256, ecParams: oid }, 0, randomBytes(24), 0, point.subarray(1))).toBe(false);
  });

  it('keygen: an encoding of the right length that is no point of the curve fails (node:crypto imports any such bytes)', () => {
    const keygen = operationByName('keygen');
    const littleEndian = (n: bigint, bytes: number) => Buffer.from(n.toString(16).padStart(bytes * 2, '0'), 'hex').reverse();
    const ed25519 = { family: 'eddsa', bits: 256, ecParams: tokenShaped('ed25519').oid };
    const ed448 = { family: 'eddsa', bits: 448, ecParams: tokenShaped('ed448').oid };
    // y = 2: x² = 3 / (4d + 1) is no square modulo 2²⁵⁵ − 19, so no point has it.
    expect(keygen.check(ed25519, 0, randomBytes(24), 0, littleEndian(2n, 32))).toBe(false);
    // y = p: not reduced; y = 1 with x's sign set: x = 0 has no negative.
    expect(keygen.check(ed25519, 0, randomBytes(24), 0, littleEndian(2n ** 255n - 19n, 32))).toBe(false);
    expect(keygen.check(ed25519, 0, randomBytes(24), 0, littleEndian(1n | (1n << 255n), 32))).toBe(false);
    expect(keygen.check(ed25519, 0, randomBytes(24), 0, littleEndian(1n, 32))).toBe(true);
    // Ed448: the last byte holds only x's sign; the neutral point (0, 1) passes, bits beside the sign do not.
    expect(keygen.check(ed448, 0, randomBytes(24), 0, littleEndian(1n, 57))).toBe(true);
    expect(keygen.check(ed448, 0, randomBytes(24), 0, littleEndian(1n | (1n << 449n), 57))).toBe(false);
    // About half of all values of y name no point: of 200 random encodings, some must fail, and every real key passes.
    const random = Array.from({ length: 200 }, () => {
      const bytes = randomBytes(32);
      bytes[31]! &= 0x7f;
      return keygen.check(ed25519, 0, randomBytes(24), 0, bytes);
    });
    expect(random.filter((ok) => !ok).length).toBeGreaterThan(50);
    for (let i = 0; i < 20; i++) {
      expect(keygen.check(ed25519, 0, randomBytes(24), 0, tokenShaped('ed25519').point)).toBe(true);
      expect(keygen.check(ed448, 0, randomBytes(24), 0, tokenShaped('ed448').point)).toBe(true);
    }
  });
});

/** EdDSA on real SoftHSM2 tokens (2.6.1 offers CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EDDSA), counted by pkcs11-spy. */
const hsm = new ExternalSoftHsm();
const out = tempDir('eddsa-out');
const withPin = () => ({ ...hsm.env, HSM_BENCH_PIN: TEST_PIN });

beforeAll(() => {
  for (const label of ['ed-A', 'ed-B']) hsm.initToken(label);
  for (const alg of ['ed25519', 'ed448']) {
    const r = runCli(['keys', 'create', '--module', hsm.module, '--token-label', 'ed-', '--alg', alg], withPin());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.match(new RegExp(`created Ed${alg.slice(2)} key pair 'hsm-bench-${alg}' to sign`, 'g'))).toHaveLength(2);
  }
}, 120_000);

const PER_TOKEN = 30;
const WARMUP = 3;
// The measured calls over configurations of 1 and 2 tokens, the warm-up of each, and one trial call per token.
const CALLS = PER_TOKEN * 3 + WARMUP * 3 + 2;
const FUNCTION: Record<string, string> = { sign: 'C_Sign', verify: 'C_Verify', keygen: 'C_GenerateKeyPair' };

describe('--alg ed25519 and ed448 on real tokens, both engines, every result checked on the host', () => {
  it('keys create made Edwards keys the listing names by curve', () => {
    const listing: Listing = JSON.parse(runCli(['list', '--keys', '--json', '--module', hsm.module, '--token-label', 'ed-'], withPin()).stdout);
    const keys = listing.slots.flatMap((s) => s.keys!.map((k) => [k.label, k.type, k.size]));
    expect(keys.sort()).toEqual([
      ['hsm-bench-ed25519', 'EdDSA', 'Ed25519'],
      ['hsm-bench-ed25519', 'EdDSA', 'Ed25519'],
      ['hsm-bench-ed448', 'EdDSA', 'Ed448'],
      ['hsm-bench-ed448', 'EdDSA', 'Ed448'],
    ]);
  });

  for (const alg of ['ed25519', 'ed448']) {
    for (const op of ['sign', 'verify', 'keygen']) {
      for (const engine of ['native', 'threads']) {
        it(`${op} --alg ${alg} (${engine})`, async () => {
          const log = join(tempDir('eddsa-spy'), 'spy.log');
          const r = runCli(
            [
              'scale',
              '--op',
              op,
              '--alg',
              alg,
              '--module',
              SPY_MODULE,
              '--token-label',
              'ed-',
              '--tokens',
              '1,2',
              '--signatures-per-token',
              String(PER_TOKEN),
              '--warmup',
              String(WARMUP),
              '--out',
              out,
            ],
            { ...hsm.spyEnv(log), HSM_BENCH_PIN: TEST_PIN, ...(engine === 'threads' ? { HSM_BENCH_ENGINE: 'threads' } : {}) },
          );
          expect(r.status, r.stderr).toBe(0);
          const dir = runDirOf(r);
          const run: RunResult = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
          expect(run.algorithm).toMatchObject({ id: alg, family: 'eddsa', curve: alg === 'ed25519' ? 'Ed25519' : 'Ed448' });
          expect(run.mechanism?.name).toBe(op === 'keygen' ? 'CKM_EC_EDWARDS_KEY_PAIR_GEN' : 'CKM_EDDSA');
          expect(run.harness.engine).toBe(engine);
          for (const conf of run.configurations) {
            expect(conf.operationsFailed).toBe(0);
            expect(conf.operationsOk).toBe(PER_TOKEN * conf.tokens);
            expect(conf.operationsVerified).toBe(conf.operationsOk);
            for await (const record of readRecords(join(dir, conf.recordsFile))) expect(record.verified).toBe(true);
          }
          const calls = readFileSync(log, 'utf8');
          expect((calls.match(new RegExp(`^\\d+: ${FUNCTION[op]}$`, 'gm')) ?? []).length).toBe(CALLS);
        }, 90_000);
      }
    }
  }

  it('cloning an Ed25519 key: SoftHSM2 2.6.1 refuses to wrap Edwards private keys, and hsm-bench says so and what to do (exit 3)', () => {
    const env = { ...withPin(), HSM_BENCH_KEK_PASSPHRASE: 'a long test passphrase' };
    const share = join(tempDir('eddsa-kek'), 'ed.share');
    const sel = ['--token-label', 'ed-', '--module', hsm.module];
    const listing: Listing = JSON.parse(runCli(['list', '--json', ...sel], hsm.env).stdout);
    const slotOf = Object.fromEntries(listing.slots.map((s) => [s.token!.label, s.slotId]));
    expect(runCli(['keys', 'create', '--alg', 'ed25519', '--label', 'ed-clone', '--extractable', '--slots', slotOf['ed-A']!, '--module', hsm.module], env).status).toBe(0);
    expect(runCli(['keys', 'kek', 'create', '--file', share], env).status).toBe(0);
    expect(runCli(['keys', 'kek', 'import', '--file', share, ...sel], env).status).toBe(0);
    const cloned = runCli(['keys', 'clone', '--label', 'ed-clone', '--from', slotOf['ed-A']!, '--to', slotOf['ed-B']!, ...sel], env);
    expect(cloned.status).toBe(3);
    expect(cloned.stderr).toMatch(/cannot wrap the private key on token 'ed-A' .*: CKR_KEY_NOT_WRAPPABLE\nhint: this module wraps no EdDSA private keys; create a key on each token instead/);
    expect(cloned.stderr).not.toMatch(/at .*\.js:\d+/);
  }, 90_000);

  it('the embedded backend makes its own Ed448 keys and signs with them', () => {
    const r = runCli(['scale', '--alg', 'ed448', '--tokens', '1', '--signatures-per-token', '20', '--json', '--out', out], { HSM_BENCH_WORKSPACE: tempDir('eddsa-embedded') });
    expect(r.status, r.stderr).toBe(0);
    const run: RunResult = JSON.parse(r.stdout);
    expect(run.keyLabel).toBe('hsm-bench-ed448');
    expect(run.configurations[0]!.operationsVerified).toBe(20);
  }, 90_000);
});
