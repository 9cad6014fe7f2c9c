import { createCipheriv, createHmac, hash, publicEncrypt, randomBytes, generateKeyPairSync, constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { messageFor } from '../src/model/message.js';
import { pickOperation, seedWord } from '../src/model/workload.js';
import { operationByName } from '../src/operations/registry.js';
import type { RunResult } from '../src/model/run-result.js';
import { readRecords } from '../src/result/records-file.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

const seed = randomBytes(24);
const check = (op: string, data: unknown, output: Buffer, sequence = 5, token = 0) => operationByName(op).check(data, token, seed, sequence, output);

describe('host checks of each operation, on hand-built outputs', () => {
  it('digest and mac: the right output passes, one flipped bit fails', () => {
    const digest = hash('sha256', messageFor(seed, 5), 'buffer');
    expect(check('digest', null, digest)).toBe(true);
    expect(check('digest', null, Buffer.from(digest).fill(1, 0, 1))).toBe(false);
    const key = randomBytes(32);
    const tag = createHmac('sha256', key).update(messageFor(seed, 5)).digest();
    expect(check('mac', key, tag)).toBe(true);
    expect(check('mac', key, tag, 6)).toBe(false);
  });

  it('encrypt: GCM and CBC outputs decrypt to the call’s message; a changed tag or block fails', () => {
    const key = randomBytes(32);
    const gcmIv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, gcmIv);
    const gcm = Buffer.concat([c.update(messageFor(seed, 5)), c.final(), c.getAuthTag()]);
    expect(check('encrypt', { key, iv: gcmIv, mode: 'gcm' }, gcm)).toBe(true);
    gcm[gcm.length - 1]! ^= 1;
    expect(check('encrypt', { key, iv: gcmIv, mode: 'gcm' }, gcm)).toBe(false);
    const cbcIv = randomBytes(16);
    const cbc = createCipheriv('aes-256-cbc', key, cbcIv).setAutoPadding(false).update(messageFor(seed, 5));
    expect(check('encrypt', { key, iv: cbcIv, mode: 'cbc' }, cbc)).toBe(true);
    expect(check('encrypt', { key, iv: cbcIv, mode: 'cbc' }, cbc, 4)).toBe(false);
  });

  it('decrypt and verify: the answer of the row the sequence number picks', () => {
    const rows = [randomBytes(32), randomBytes(32)];
    expect(check('decrypt', [rows], rows[1]!, 5)).toBe(true);
    expect(check('decrypt', [rows], rows[0]!, 5)).toBe(false);
    // Row 1 holds a spoiled signature: the token must say no.
    expect(check('verify', [[true, false]], Buffer.from([0]), 5)).toBe(true);
    expect(check('verify', [[true, false]], Buffer.from([1]), 5)).toBe(false);
    expect(check('verify', [[true, false]], Buffer.from([1]), 4)).toBe(true);
  });

  it('keygen: a modulus of the wrong size or a point off the curve fails', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const modulus = Buffer.from(rsa.n!, 'base64url');
    expect(check('keygen', { family: 'rsa', bits: 2048, ecParams: null }, modulus)).toBe(true);
    expect(check('keygen', { family: 'rsa', bits: 3072, ecParams: null }, modulus)).toBe(false);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
    const point = ec.subarray(ec.length - 65);
    const p256 = Buffer.from('06082a8648ce3d030107', 'hex');
    expect(check('keygen', { family: 'ec', bits: 256, ecParams: p256 }, point)).toBe(true);
    const off = Buffer.from(point);
    off[64]! ^= 1;
    expect(check('keygen', { family: 'ec', bits: 256, ecParams: p256 }, off)).toBe(false);
  });

  it('random: 32 bytes, and not the same as the one before', () => {
    const a = randomBytes(32);
    expect(check('random', null, a, 1, 7)).toBe(true);
    expect(check('random', null, a, 2, 7)).toBe(false);
    expect(check('random', null, randomBytes(16), 3, 7)).toBe(false);
  });

  it('a decryption made with another key is caught (a wrong answer, not an error)', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const plain = randomBytes(32);
    expect(publicEncrypt({ key: other.publicKey, padding: constants.RSA_PKCS1_PADDING }, plain).length).toBe(256);
    expect(check('decrypt', [[plain]], randomBytes(32), 0)).toBe(false);
  });
});

/** Each operation on real SoftHSM2 tokens through pkcs11-spy, whose log proves what hsm-bench called. */
const hsm = new ExternalSoftHsm();
const out = tempDir('ops-out');

beforeAll(() => {
  for (const label of ['op-A', 'op-B']) hsm.initToken(label);
  for (const [alg, usage] of [
    ['p256', 'sign'],
    ['rsa2048', 'sign'],
    ['rsa2048', 'decrypt'],
    ['p256', 'derive'],
  ]) {
    const r = runCli(['keys', 'create', '--module', hsm.module, '--token-label', 'op-', '--alg', alg!, '--usage', usage!], { ...hsm.env, HSM_BENCH_PIN: TEST_PIN });
    expect(r.status, r.stderr).toBe(0);
  }
}, 120_000);

/** scale on the op- tokens (1 and 2) through pkcs11-spy: the run, its folder, and how often each PKCS#11 function was called. */
function spyScale(args: string[], engine: string, perToken: number) {
  const log = join(tempDir('ops-spy'), 'spy.log');
  const r = runCli(
    ['scale', ...args, '--module', SPY_MODULE, '--token-label', 'op-', '--tokens', '1,2', '--signatures-per-token', String(perToken), '--warmup', String(WARMUP), '--format', 'md', '--out', out],
    { ...hsm.spyEnv(log), HSM_BENCH_PIN: TEST_PIN, ...(engine === 'threads' ? { HSM_BENCH_ENGINE: 'threads' } : {}) },
  );
  expect(r.status, r.stderr).toBe(0);
  const dir = runDirOf(r);
  const run: RunResult = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  const calls = readFileSync(log, 'utf8');
  return { dir, run, count: (fn: string) => (calls.match(new RegExp(`^\\d+: ${fn}$`, 'gm')) ?? []).length };
}

const PER_TOKEN = 40;
const WARMUP = 3;
// Calls the run makes: its measured ones over configurations of 1 and 2 tokens, the warm-up of each configuration,
// and one trial call per token before any configuration.
const CALLS = PER_TOKEN * 3 + WARMUP * 3 + 2;

const cases: { op: string; args: string[]; call: string; also?: [string, number][] }[] = [
  { op: 'sign', args: ['--alg', 'p256'], call: 'C_Sign' },
  { op: 'verify', args: ['--alg', 'p256'], call: 'C_Verify' },
  { op: 'decrypt', args: ['--alg', 'rsa2048', '--key-label', 'hsm-bench-rsa2048-decrypt'], call: 'C_Decrypt' },
  { op: 'decrypt', args: ['--alg', 'rsa2048', '--mechanism', 'oaep-sha1', '--key-label', 'hsm-bench-rsa2048-decrypt'], call: 'C_Decrypt' },
  // AES: the token encrypts one ciphertext per token before the run, with the run's test key.
  { op: 'decrypt', args: ['--alg', 'aes256'], call: 'C_Decrypt', also: [['C_Encrypt', 2]] },
  { op: 'decrypt', args: ['--alg', 'aes128', '--mechanism', 'cbc'], call: 'C_Decrypt', also: [['C_Encrypt', 2]] },
  { op: 'encrypt', args: [], call: 'C_Encrypt' },
  { op: 'encrypt', args: ['--mechanism', 'cbc', '--alg', 'aes128'], call: 'C_Encrypt' },
  { op: 'mac', args: [], call: 'C_Sign' },
  { op: 'digest', args: [], call: 'C_Digest' },
  { op: 'random', args: [], call: 'C_GenerateRandom' },
  // One more C_DeriveKey per token before the run: whether the token lets a derived secret be read.
  { op: 'derive', args: ['--alg', 'p256', '--key-label', 'hsm-bench-p256-derive'], call: 'C_DeriveKey', also: [['C_DestroyObject', CALLS + 2]] },
  { op: 'keygen', args: ['--alg', 'p256'], call: 'C_GenerateKeyPair', also: [['C_DestroyObject', 2 * CALLS]] },
];

describe('every operation on real tokens, on both engines, counted by pkcs11-spy', () => {
  for (const c of cases) {
    for (const engine of ['native', 'threads']) {
      it(`${c.op} ${c.args.join(' ')} (${engine})`, async () => {
        const { dir, run, count } = spyScale(['--op', c.op, ...c.args], engine, PER_TOKEN);
        expect(run.operation?.name).toBe(c.op);
        // Every operation runs on the engine asked for: derive and keygen too, in the native loop.
        expect(run.harness.engine).toBe(engine);
        for (const conf of run.configurations) {
          expect(conf.operationsFailed).toBe(0);
          expect(conf.operationsOk).toBe(PER_TOKEN * conf.tokens);
          expect(conf.operationsVerified).toBe(conf.operationsOk);
          for await (const record of readRecords(join(dir, conf.recordsFile))) expect(record.verified).toBe(true);
        }
        const expected = c.op === 'derive' ? CALLS + 2 : CALLS;
        expect(count(c.call)).toBe(expected);
        for (const [fn, n] of c.also ?? []) expect(count(fn)).toBe(n);
        const report = readFileSync(join(dir, 'report.md'), 'utf8');
        expect(report).toContain(`${operationByName(c.op).nouns[0]!.toUpperCase()}${operationByName(c.op).nouns.slice(1)}/s`);
      }, 60_000);
    }
  }

  // SoftHSM2 2.6 lists no CKM_ECDH1_COFACTOR_DERIVE: the fault module lists it and derives with it as plain ECDH.
  for (const engine of ['native', 'threads']) {
    it(`derive by CKM_ECDH1_COFACTOR_DERIVE's number, where the token lists it: measured and every secret checked on the host (${engine})`, () => {
      const r = runCli(
        [
          'scale',
          '--op',
          'derive',
          '--mechanism',
          '0x1051',
          '--module',
          buildFaultyModule(),
          '--token-label',
          'op-',
          '--tokens',
          '1',
          '--signatures-per-token',
          '40',
          '--warmup',
          '0',
          '--format',
          'md',
          '--json',
          '--out',
          out,
        ],
        {
          ...hsm.env,
          FAULTY_PKCS11_MODULE: hsm.module,
          FAULTY_EVERY: '1000000000',
          FAULTY_ECDH_COFACTOR: '1',
          HSM_BENCH_PIN: TEST_PIN,
          ...(engine === 'threads' ? { HSM_BENCH_ENGINE: 'threads' } : {}),
        },
      );
      expect(r.status, r.stderr).toBe(0);
      const run = JSON.parse(r.stdout) as RunResult;
      expect([run.harness.engine, run.mechanism.name, run.algorithm.id, run.keyLabel, run.operation?.hostCheck]).toEqual([
        engine,
        'CKM_ECDH1_COFACTOR_DERIVE',
        'p256',
        'hsm-bench-p256-derive',
        undefined,
      ]);
      const conf = run.configurations[0]!;
      expect([conf.operationsOk, conf.operationsFailed, conf.operationsVerified]).toEqual([40, 0, 40]);
    }, 60_000);
  }

  // The fault module flips the last byte of every 4th secret or public key read back: the host check must catch each.
  for (const [op, args] of [
    ['derive', ['--alg', 'p256', '--key-label', 'hsm-bench-p256-derive']],
    ['keygen', ['--alg', 'p256']],
  ] as const) {
    for (const engine of ['native', 'threads']) {
      it(`${op}: a wrong ${op === 'derive' ? 'secret' : 'public key'} read back is a VERIFY_FAILED failure (${engine})`, async () => {
        const calls = 40;
        const r = runCli(
          [
            'scale',
            '--op',
            op,
            ...args,
            '--module',
            buildFaultyModule(),
            '--token-label',
            'op-',
            '--tokens',
            '1',
            '--signatures-per-token',
            String(calls),
            '--warmup',
            '0',
            '--verify',
            'all',
            '--format',
            'md',
            '--out',
            out,
          ],
          {
            ...hsm.env,
            FAULTY_PKCS11_MODULE: hsm.module,
            FAULTY_EVERY: '1000000000',
            FAULTY_SPOIL_READ_BACK_EVERY: '4',
            HSM_BENCH_PIN: TEST_PIN,
            ...(engine === 'threads' ? { HSM_BENCH_ENGINE: 'threads' } : {}),
          },
        );
        expect(r.status, r.stderr).toBe(4);
        const dir = runDirOf(r);
        const run: RunResult = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
        expect(run.harness.engine).toBe(engine);
        const conf = run.configurations[0]!;
        const records = [];
        for await (const record of readRecords(join(dir, conf.recordsFile))) records.push(record);
        // A record keeps the module’s status; the host check marks it unverified; the run counts it checked and failed.
        const spoiled = records.filter((x) => x.verified === false);
        // About one in four: the reads before the run (setup, the trial call) take their turns too.
        expect(spoiled.length).toBeGreaterThanOrEqual(calls / 4 - 1);
        expect(records.filter((x) => x.verified === true)).toHaveLength(calls - spoiled.length);
        expect([conf.operationsOk, conf.operationsFailed, conf.operationsVerified]).toEqual([calls - spoiled.length, spoiled.length, calls]);
        expect(conf.failuresByCkr).toEqual({ VERIFY_FAILED: spoiled.length });
      }, 60_000);
    }
  }

  it('decrypt with OAEP and SHA-256, which SoftHSM2 2.6.1 refuses: exit 3 before the run, naming the token', () => {
    const r = runCli(['scale', '--op', 'decrypt', '--mechanism', 'oaep', '--key-label', 'hsm-bench-rsa2048-decrypt', '--module', hsm.module, '--token-label', 'op-', '--tokens', '1', '--out', out], {
      ...hsm.env,
      HSM_BENCH_PIN: TEST_PIN,
    });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/token 'op-[AB]' .* cannot decrypt with CKM_RSA_PKCS_OAEP \(SHA256, MGF1\): CKR_ARGUMENTS_BAD/);
  });

  it('a key without the usage: exit 3 with the keys create command that makes one', () => {
    const r = runCli(['scale', '--op', 'decrypt', '--key-label', 'hsm-bench-p256', '--alg', 'rsa2048', '--module', hsm.module, '--token-label', 'op-', '--tokens', '1', '--out', out], {
      ...hsm.env,
      HSM_BENCH_PIN: TEST_PIN,
    });
    expect(r.status).toBe(3);
    const signing = runCli(['scale', '--op', 'derive', '--alg', 'p256', '--key-label', 'hsm-bench-p256', '--module', hsm.module, '--token-label', 'op-', '--tokens', '1', '--out', out], {
      ...hsm.env,
      HSM_BENCH_PIN: TEST_PIN,
    });
    expect(signing.status).toBe(3);
    expect(signing.stderr).toMatch(/cannot derive: CKA_DERIVE on the private key is false/);
    expect(signing.stderr).toContain(`keys create --module ${hsm.module} --token-label op- --alg p256 --usage derive`);
  });

  it('an algorithm the operation does not take: exit 2 with the ones it does', () => {
    const r = runCli(['scale', '--op', 'decrypt', '--alg', 'p256', '--tokens', '1', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--op decrypt does not take --alg p256[\s\S]*rsa2048, rsa3072, rsa4096/);
  });

  it('a burn-in decrypts with host checks and names decryptions in its summary', () => {
    const r = runCli(
      [
        'burn-in',
        '--op',
        'decrypt',
        '--key-label',
        'hsm-bench-rsa2048-decrypt',
        '--module',
        hsm.module,
        '--token-label',
        'op-',
        '--tokens',
        '2',
        '--signatures',
        '300',
        '--format',
        'md',
        '--out',
        out,
      ],
      {
        ...hsm.env,
        HSM_BENCH_PIN: TEST_PIN,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const run: RunResult = JSON.parse(readFileSync(join(runDirOf(r), 'run.json'), 'utf8'));
    expect(run.operation?.name).toBe('decrypt');
    expect(run.configurations[0]!.operationsOk).toBe(300);
    expect(run.configurations[0]!.operationsVerified).toBe(300);
    expect(r.stdout).toContain('PASSED: no decryption failed');
  }, 60_000);
});

describe('a mix of operations (--mix)', () => {
  it('draws each call’s operation from the seed and sequence number, in proportion to the weights', () => {
    const counts = [0, 0, 0];
    for (let sequence = 0; sequence < 20_000; sequence++) counts[pickOperation([70, 90, 100], seedWord(seed), sequence)]!++;
    expect(counts[0]! / 20_000).toBeGreaterThan(0.68);
    expect(counts[0]! / 20_000).toBeLessThan(0.72);
    expect(counts[1]! / 20_000).toBeGreaterThan(0.18);
    expect(counts[2]! / 20_000).toBeGreaterThan(0.08);
    expect(pickOperation([70, 90, 100], seedWord(seed), 1234)).toBe(pickOperation([70, 90, 100], seedWord(seed), 1234));
    expect(pickOperation([1], 99, -5)).toBe(0);
  });

  it('bad mixes are exit 2 with what to write', () => {
    for (const [args, message] of [
      [['--mix', 'sign:80'], /at least two operations/],
      [['--mix', 'sign:80,decrypt:x'], /is not OP\[\/ALG\]\[:WEIGHT\]/],
      [['--mix', 'sign:80,sign/p256:20'], /names sign twice/],
      [['--mix', 'sign,decrypt', '--alg', 'hmac-sha256'], /--alg 'hmac-sha256' fits no operation of the mix/],
      [['--mix', 'sign:1,decrypt:1', '--op', 'sign'], /--op, --mechanism and --key-label do not go with it/],
      [['--mix', 'sign/aes256:1,decrypt:1'], /--op sign does not take --alg aes256/],
    ] as const) {
      const r = runCli(['scale', '--alg', 'rsa2048', ...args, '--tokens', '1', '--out', out]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  for (const engine of ['native', 'threads']) {
    it(`sign:3,decrypt:1 on real tokens (${engine}): each call checked by its own operation, counted per operation and by pkcs11-spy`, async () => {
      const { dir, run, count } = spyScale(['--mix', 'sign:3,decrypt:1', '--alg', 'rsa2048'], engine, 200);
      expect(run.operation?.mix?.map((m) => [m.name, m.keyLabel, m.weight])).toEqual([
        ['sign', 'hsm-bench-rsa2048', 3],
        ['decrypt', 'hsm-bench-rsa2048-decrypt', 1],
      ]);
      let decrypts = 0;
      for (const c of run.configurations) {
        const [sign, decrypt] = c.byOperation!;
        expect(sign!.operationsOk + decrypt!.operationsOk).toBe(200 * c.tokens);
        expect(decrypt!.operationsOk / (200 * c.tokens)).toBeGreaterThan(0.12);
        expect(decrypt!.operationsOk / (200 * c.tokens)).toBeLessThan(0.38);
        expect(c.operationsVerified).toBe(c.operationsOk);
        decrypts += decrypt!.operationsOk;
        const byRecord = new Map<string, number>();
        for await (const record of readRecords(join(dir, c.recordsFile))) byRecord.set(record.operation, (byRecord.get(record.operation) ?? 0) + 1);
        expect(Object.fromEntries(byRecord)).toEqual({ sign: sign!.operationsOk, decrypt: decrypt!.operationsOk });
      }
      // Measured calls, the warm-up (drawn like the others), and one trial per token of each operation.
      expect(count('C_Sign') + count('C_Decrypt')).toBe(600 + WARMUP * 3 + 2 * 2);
      expect(count('C_Decrypt')).toBeGreaterThanOrEqual(decrypts + 2);
      expect(count('C_Decrypt')).toBeLessThanOrEqual(decrypts + 2 + WARMUP * 3);
      expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/## Per operation[\s\S]*\| 2 tokens \| decrypt \|/);
    }, 60_000);
  }
});

describe('runs of different workloads are not set side by side as if they were one', () => {
  it('compare and trend refuse a verify run beside a sign run; a baseline of another mix is refused', () => {
    const run = (args: string[]) => {
      const r = runCli(['scale', ...args, '--tokens', '1', '--signatures-per-token', '30', '--format', 'md', '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      return runDirOf(r);
    };
    const signed = run(['--alg', 'p256']);
    const verified = run(['--op', 'verify', '--alg', 'p256']);
    const compare = runCli(['compare', signed, verified]);
    expect(compare.status).toBe(2);
    expect(compare.stderr).toMatch(/workloads differ \(sign\/p256 vs verify\/p256\)/);
    const trend = runCli(['trend', signed, verified, '--out', tempDir('ops-trend')]);
    expect(trend.status).toBe(2);
    expect(trend.stderr).toMatch(/differ in their workloads/);
    const mixed = run(['--mix', 'sign:3,digest:1', '--alg', 'p256']);
    const other = runCli(['scale', '--mix', 'sign:1,digest:3', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '30', '--baseline', mixed, '--out', out]);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/measured mix sign\/p256:3,digest\/sha256:1, this run measures mix sign\/p256:1,digest\/sha256:3/);
  }, 60_000);
});
