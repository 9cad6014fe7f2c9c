import { createCipheriv, createHmac, hash, randomBytes, type CipherGCM } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dataFor } from '../src/model/message.js';
import type { AesDecryptCheck } from '../src/operations/aes-decrypt.js';
import type { RunResult } from '../src/model/run-result.js';
import { operationByName } from '../src/operations/registry.js';
import { scalePlan, burnInPlan } from '../src/plan/plan.js';
import { planInputFromFlags, SCALE_DEFAULTS } from '../src/plan/plan-flags.js';
import { readLabFile } from '../src/plan/lab-file.js';
import type { ComparisonRow } from '../src/verdict/compare.js';
import { evaluateThresholds } from '../src/verdict/thresholds.js';
import { MEAN_RESOLUTION_MS, latencyText } from '../src/core/latency-text.js';
import { byteSizeName } from '../src/core/byte-size.js';
import { conclusions } from '../src/report/conclusions.js';
import { efficiencyBasisOf } from '../src/result/configuration-shortfall.js';
import { readRunJson } from '../src/result/run-directory.js';
import { runCli, runCliWithSteps, runDirOf, sizeOf, tempDir } from './helpers/cli.js';
import { ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

/**
 * --data-size as a configuration axis (digest, mac, encrypt, sign with the hash inside the token), MB/s beside
 * calls/s, --multipart's C_*Update calls counted by pkcs11-spy, every output checked on the host over the whole data.
 */
const workspace = tempDir('data-size-ws');
const out = tempDir('data-size-out');
const SIZES = [32, 1024, 65536];
const PER_TOKEN = 60;

const runJson = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));

function scale(args: string[], env: Record<string, string> = {}) {
  const r = runCli(['scale', '--workspace', workspace, '--out', out, '--signatures-per-token', String(PER_TOKEN), '--warmup', '2', ...args], env);
  expect(r.status, r.stderr).toBe(0);
  return { dir: runDirOf(r), run: runJson(runDirOf(r)) };
}

/** A plan from flags as scale reads them, or the usage error it throws. */
const plan = (flags: Record<string, unknown>) =>
  scalePlan(planInputFromFlags({ tokens: '1', warmup: SCALE_DEFAULTS.warmup, threadsPerToken: '1', verify: 'all', out: 'reports', workspace, ...flags }));
const burnIn = (flags: Record<string, unknown>) =>
  burnInPlan(planInputFromFlags({ tokens: '1', warmup: '0', threadsPerToken: '1', verify: 'all', out: 'reports', workspace, signatures: '100', ...flags }));

describe('--data-size and --multipart: the plan', () => {
  it('reads sizes with k = 1024 and M = 1024², each once, sorted; --multipart its chunk', () => {
    const p = plan({ op: 'digest', dataSize: '64k,32,1M', multipart: '4k' });
    expect(p.dataSizesBytes).toEqual([32, 65536, 1048576]);
    expect(p.multipartChunkBytes).toBe(4096);
    expect(plan({ op: 'digest' }).dataSizesBytes).toBeNull();
  });

  it('refuses with exit 2 and what to do: junk, zero, negative, below the 32-byte message, above 16M, twice, and where a size means nothing', () => {
    const refused = (flags: Record<string, unknown>, why: RegExp) => {
      expect(() => plan(flags)).toThrow(why);
      try {
        plan(flags);
      } catch (error) {
        expect((error as { exitCode: number }).exitCode).toBe(2);
      }
    };
    for (const bad of ['abc', '1.5k', '-1', '1G', '']) refused({ op: 'digest', dataSize: bad }, /--data-size must be a size in bytes/);
    for (const bad of ['0', '16', '17M', '32,16385k']) refused({ op: 'digest', dataSize: bad }, /out of range/);
    refused({ op: 'digest', dataSize: '1k,1024' }, /lists a size twice/);
    refused({ op: 'digest', multipart: '4k' }, /--multipart splits each call's data: it needs --data-size/);
    refused({ op: 'digest', dataSize: '1k', multipart: '0' }, /out of range/);
    // One chunk, so the hint offers one; a lower-case m (milli? 10⁶?) is not read as 1024².
    expect(() => plan({ op: 'digest', dataSize: '1k', multipart: 'x' })).toThrow(expect.objectContaining({ hint: expect.stringMatching(/^for example --multipart 4k \(/) }));
    for (const bad of ['1m', '64k,1m']) refused({ op: 'digest', dataSize: bad }, /--data-size must be a size in bytes \(a whole number, optionally with k or M, upper-case\), not '1m'/);
    // A chunk no smaller than every size: one part per call, not the parts --multipart says.
    refused({ op: 'digest', dataSize: '1k', multipart: '2k' }, /--multipart 2k is no smaller than --data-size '1k': each call would hand its data in one part/);
    refused({ op: 'digest', dataSize: '32,1k', multipart: '1k' }, /is no smaller than/);
    expect(plan({ op: 'digest', dataSize: '32,64k', multipart: '1k' }).multipartChunkBytes).toBe(1024);
    refused({ op: 'decrypt', alg: 'rsa2048', dataSize: '1k' }, /decrypt takes no --data-size.*an RSA plaintext is bounded by the key/);
    for (const op of ['verify', 'keygen', 'random', 'derive']) refused({ op, alg: op === 'random' ? undefined : 'p256', dataSize: '1k' }, new RegExp(`${op} takes no --data-size`));
    refused({ op: 'encrypt', mechanism: 'cbc', dataSize: '32,1000' }, /1000: AES-CBC without padding encrypts whole 16-byte blocks/);
    refused({ op: 'decrypt', alg: 'aes128', mechanism: 'cbc', dataSize: '32,1000' }, /1000: AES-CBC without padding encrypts whole 16-byte blocks/);
    // AES decryption takes sizes: the token encrypts one ciphertext per size before the run.
    expect(plan({ op: 'decrypt', alg: 'aes256', dataSize: '1k,32' }).dataSizesBytes).toEqual([32, 1024]);
    refused({ mix: 'sign/p256:1,digest:1', dataSize: '1k' }, /--data-size does not go with --mix/);
    // A mechanism as given: whether the token hashes the data is unknown, so a size would claim MB/s it may not move.
    refused({ op: 'sign', mechanism: '0x1041', keyLabel: 'k', dataSize: '1k' }, /--data-size does not go with a mechanism by PKCS#11 name or number/);
    refused({ op: 'mac', mechanism: '0x1041', keyLabel: 'k' }, /goes with sign, verify, encrypt, decrypt, derive, not mac/);
    refused({ op: 'digest', dataSize: '1k,64k', rate: '100' }, /several --data-size sizes go with a sweep of tokens only/);
    refused({ op: 'digest', dataSize: '1k,64k', threadsPerToken: '1,2' }, /several --data-size sizes go with a sweep of tokens only/);
    expect(() => burnIn({ op: 'digest', dataSize: '1k,64k' })).toThrow(/a burn-in hands every call one data size/);
    expect(burnIn({ op: 'digest', dataSize: '64k' }).dataSizesBytes).toEqual([65536]);
  });

  it("a lab file takes them as its runs' dataSize and multipart, a bad one named by its JSON path", async () => {
    const lab = (run: object) => {
      const path = join(tempDir('data-size-lab'), 'lab.json');
      writeFileSync(path, JSON.stringify({ runs: [{ name: 'sizes', op: 'digest', tokens: [1], ...run }] }));
      return readLabFile(path);
    };
    const read = await lab({ dataSize: '32,4k', multipart: '1k' });
    expect([read.runs[0]!.plan.dataSizesBytes, read.runs[0]!.plan.multipartChunkBytes]).toEqual([[32, 4096], 1024]);
    await expect(lab({ dataSize: '4x' })).rejects.toThrow(/\$\.runs\[0\]\.dataSize must be a size in bytes/);
  });

  it('the command line exits 2 on a bad size, with a hint and no stack trace', () => {
    const r = runCli(['scale', '--op', 'digest', '--data-size', '32,junk', '--workspace', workspace, '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--data-size must be a size in bytes .*not 'junk'/);
    expect(r.stderr).toMatch(/hint: for example --data-size 32,1k,64k,1M \(bytes; k = 1024/);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });
});

describe('scaling at a data size', () => {
  it('each configuration is weighed against one token at its own size: the efficiency, its basis and the conclusion (the example scale-data-size)', () => {
    const r = readRunJson('fixtures/examples/scale-data-size');
    const sized = r.configurations.filter((c) => c.tokens > 1);
    expect(sized.length).toBeGreaterThan(1);
    for (const c of sized) {
      const basis = efficiencyBasisOf(r, c)!;
      expect(basis.tokens).toBe(1);
      expect(basis.dataSizeBytes).toBe(c.dataSizeBytes);
      expect(c.efficiency).toBeCloseTo(c.throughputPerS / (c.tokens * basis.throughputPerS), 2);
    }
    // A scaling sentence for each size, in the plan's order: each names configurations of its size only, and its
    // one-token service time is that size's.
    const sizes = [...new Set(sized.map((c) => c.dataSizeBytes))];
    const scalings = conclusions(r).filter((line) => line.startsWith('Scaling is'));
    expect(scalings).toHaveLength(sizes.length);
    scalings.forEach((scaling, i) => {
      const last = sized.filter((c) => c.dataSizeBytes === sizes[i]).at(-1)!;
      const sizesNamed = [...scaling.matchAll(/\d+ tokens?, (\d+ (?:B|KiB|MiB))/g)].map((m) => m[1]);
      expect(new Set(sizesNamed)).toEqual(new Set([byteSizeName(sizes[i]!)]));
      const mean = /mean service time (\S+ \S+) →/.exec(scaling)?.[1];
      if (mean !== undefined) expect(mean).toBe(latencyText(efficiencyBasisOf(r, last)!.latencyMs!.mean, MEAN_RESOLUTION_MS));
    });
  });
});

describe('host checks over the whole data', () => {
  const seed = randomBytes(24);
  const check = (op: string, data: unknown, output: Buffer, dataBytes: number, sequence = 5) => operationByName(op).check(data, 0, seed, sequence, output, dataBytes);

  it('digest, mac: over the data of the call; another call or a flipped bit fails', () => {
    const data = dataFor(seed, 5, 65536);
    expect(data.length).toBe(65536);
    // The call's message at the head, so no two calls hand the token the same data.
    expect(data.subarray(0, 32).equals(dataFor(seed, 5))).toBe(true);
    expect(data.equals(dataFor(seed, 6, 65536))).toBe(false);
    const digest = hash('sha256', data, 'buffer');
    expect(check('digest', null, digest, 65536)).toBe(true);
    expect(check('digest', null, digest, 65536, 6)).toBe(false);
    expect(check('digest', null, digest, 1024)).toBe(false);
    const key = randomBytes(32);
    const tag = createHmac('sha256', key).update(data).digest();
    expect(check('mac', key, tag, 65536)).toBe(true);
    tag[0]! ^= 1;
    expect(check('mac', key, tag, 65536)).toBe(false);
  });

  it('AES decrypt: the plaintext against the data encrypted, whole or (above 512 bytes) as its SHA-256', () => {
    const aes: AesDecryptCheck = { kind: 'aes', seed, sha256: { 65536: hash('sha256', dataFor(seed, 0, 65536), 'buffer') } };
    // Every call decrypts the one ciphertext of its size: the sequence number does not change the plaintext expected.
    expect(check('decrypt', aes, dataFor(seed, 0, 64), 64, 7)).toBe(true);
    expect(check('decrypt', aes, dataFor(seed, 1, 64), 64)).toBe(false);
    expect(check('decrypt', aes, dataFor(seed, 0, 64).subarray(0, 63), 64)).toBe(false);
    const whole = dataFor(seed, 0, 65536);
    expect(check('decrypt', aes, hash('sha256', whole, 'buffer'), 65536)).toBe(true);
    whole[40_000]! ^= 1;
    expect(check('decrypt', aes, hash('sha256', whole, 'buffer'), 65536)).toBe(false);
    expect(check('decrypt', aes, whole, 65536)).toBe(false);
  });

  it('encrypt: a large output comes as its SHA-256, which the host rebuilds by encrypting the same data; whole outputs decrypt as before', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv) as CipherGCM;
    const whole = Buffer.concat([c.update(dataFor(seed, 5, 65536)), c.final(), c.getAuthTag()]);
    const check65k = (output: Buffer, sequence = 5) => check('encrypt', { key, iv, mode: 'gcm' }, output, 65536, sequence);
    expect(check65k(whole)).toBe(true);
    expect(check65k(hash('sha256', whole, 'buffer'))).toBe(true);
    expect(check65k(hash('sha256', whole, 'buffer'), 6)).toBe(false);
    whole[40_000]! ^= 1;
    expect(check65k(hash('sha256', whole, 'buffer'))).toBe(false);
    expect(check65k(whole)).toBe(false);
  });
});

describe('a data size sweep on embedded SoftHSM2 tokens', () => {
  let digest: { dir: string; run: RunResult };
  beforeAll(() => {
    digest = scale(['--op', 'digest', '--data-size', '32,1k,64k', '--tokens', '1,2', '--format', 'md,csv,png']);
  }, 120_000);

  it('digest: one configuration per token count and size, MB/s = calls/s × bytes / 10⁶, every digest checked, on the threads engine', () => {
    const r = digest.run;
    expect(r.plan.dataSizesBytes).toEqual(SIZES);
    expect(r.plan.multipartChunkBytes).toBeUndefined();
    expect(r.configurations.map((c) => `${c.tokens}/${c.dataSizeBytes}`)).toEqual(['1/32', '1/1024', '1/65536', '2/32', '2/1024', '2/65536']);
    for (const c of r.configurations) {
      expect(c.multipartChunkBytes).toBeNull();
      expect(c.mbPerS!).toBeCloseTo((c.throughputPerS * c.dataSizeBytes!) / 1e6, 2);
      expect([c.operationsOk, c.operationsFailed, c.operationsVerified]).toEqual([PER_TOKEN * c.tokens, 0, PER_TOKEN * c.tokens]);
    }
    // Efficiency against the 1-token configuration of the same size.
    const two64k = r.configurations.find((c) => c.tokens === 2 && c.dataSizeBytes === 65536)!;
    const one64k = r.configurations.find((c) => c.tokens === 1 && c.dataSizeBytes === 65536)!;
    expect(two64k.efficiency).toBeCloseTo(two64k.throughputPerS / (2 * one64k.throughputPerS), 2);
    // No sessions sweep: no knee over configurations that differ only by size.
    expect(r.saturation).toBeUndefined();
    expect(r.harness.engine).toBe('threads');
    expect(r.harness.concurrency).toMatch(/--data-size/);
  });

  it("--min-throughput holds for every size: a limit between two sizes' rates fails the slower size, not only the best", () => {
    const one = (bytes: number) => digest.run.configurations.find((c) => c.tokens === 1 && c.dataSizeBytes === bytes)!;
    const [fast, slow] = [one(32), one(65536)].sort((a, b) => b.throughputPerS - a.throughputPerS);
    const limit = (fast!.throughputPerS + slow!.throughputPerS) / 2;
    const checks = evaluateThresholds(digest.run, { minThroughput: { '1': limit } }).filter((c) => c.name === 'min-throughput');
    expect(checks).toHaveLength(3);
    expect(checks.find((c) => c.configuration?.dataSizeBytes === slow!.dataSizeBytes)!.outcome).not.toBe('pass');
    expect(checks.find((c) => c.configuration?.dataSizeBytes === fast!.dataSizeBytes)!.outcome).toBe('pass');
  });

  it('reports: records named per size, MB/s in report.md and summary.csv, the chart of MB/s and latency vs size', () => {
    const md = readFileSync(join(digest.dir, 'report.md'), 'utf8');
    expect(md).toMatch(/\| Configuration \| Digests \| Duration \(s\) \| Digests\/s \| MB\/s \|/);
    expect(md).toContain('2 tokens, 64 KiB');
    expect(md).toMatch(/data 32 B, 1 KiB, 64 KiB per call in one call/);
    expect(existsSync(join(digest.dir, 'records', 'tokens-2-data-64k.rec'))).toBe(true);
    expect(existsSync(join(digest.dir, 'charts', 'data-size.png'))).toBe(true);
    const csv = readFileSync(join(digest.dir, 'summary.csv'), 'utf8').trim().split('\n');
    const head = csv[0]!.split(',');
    const all = csv
      .slice(1)
      .map((line) => line.split(','))
      .filter((cells) => cells[head.indexOf('token')] === 'all');
    expect(all.map((cells) => cells[head.indexOf('dataSizeBytes')])).toEqual(['32', '1024', '65536', '32', '1024', '65536']);
    for (const cells of all) expect(Number(cells[head.indexOf('mbPerS')])).toBeCloseTo((Number(cells[head.indexOf('throughputPerS')]) * Number(cells[head.indexOf('dataSizeBytes')])) / 1e6, 2);
  });

  it('mac, encrypt and decrypt (AES-GCM, above 512 bytes kept as SHA-256): every output checked over the whole data', () => {
    for (const op of [['mac'], ['encrypt'], ['decrypt', '--alg', 'aes256']]) {
      const { run } = scale(['--op', ...op, '--data-size', '32,1k,64k', '--tokens', '1', '--format', 'md']);
      expect(run.configurations.map((c) => c.dataSizeBytes)).toEqual(SIZES);
      for (const c of run.configurations) expect([c.operationsOk, c.operationsFailed, c.operationsVerified], `${op[0]} ${c.dataSizeBytes}`).toEqual([PER_TOKEN, 0, PER_TOKEN]);
    }
  }, 180_000);

  it('sign with the hash inside the token (CKM_SHA256_RSA_PKCS) over 64 KiB, each signature verified on the host over the whole data', () => {
    const { run } = scale(['--op', 'sign', '--alg', 'rsa2048', '--data-size', '64k', '--tokens', '1', '--format', 'md']);
    expect(run.mechanism.name).toBe('CKM_SHA256_RSA_PKCS');
    const c = run.configurations[0]!;
    expect([c.dataSizeBytes, c.operationsOk, c.operationsFailed, c.operationsVerified]).toEqual([65536, PER_TOKEN, 0, PER_TOKEN]);
  }, 120_000);

  it('ECDSA over a hash the host made (SoftHSM2 lacks CKM_ECDSA_SHA256): exit 2, a size would measure nothing', () => {
    const r = runCli(['scale', '--op', 'sign', '--alg', 'p256', '--data-size', '64k', '--tokens', '1', '--workspace', workspace, '--out', out]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/sign with CKM_ECDSA is handed a hash the host made: the token sees 32 bytes whatever the data/);
  }, 60_000);

  it('EdDSA in parts, which SoftHSM2 does not do (CKR_OPERATION_NOT_INITIALIZED): exit 3 at the trial call, naming the call, not 100 failures', () => {
    const r = runCli(['scale', '--op', 'sign', '--alg', 'ed25519', '--data-size', '64k', '--multipart', '4k', '--tokens', '1', '--workspace', workspace, '--out', out]);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/failed the trial call before the run \(sign with CKM_EDDSA, C_Sign(Update|Final)\): CKR_/);
    expect(r.stderr).toContain('run without --multipart');
  }, 120_000);

  it('compare matches configurations by size: a run of 1k and 64k against one of 1k only compares 1k', () => {
    const oneK = scale(['--op', 'digest', '--data-size', '1k', '--tokens', '1', '--format', 'md']);
    const r = runCli(['compare', oneK.dir, digest.dir, '--force', '--json', '--out', tempDir('data-size-compare')]);
    expect([0, 5]).toContain(r.status);
    const rows: ComparisonRow[] = JSON.parse(r.stdout).rows;
    expect(rows.map((x) => `${x.tokens}/${x.dataSizeBytes}`)).toEqual(['1/1024']);
  }, 60_000);
});

describe('a data size sweep killed inside a configuration', () => {
  it('report counts its records into a configuration of that size, with its MB/s', async () => {
    const killedOut = tempDir('data-size-kill');
    const records = (dir: string) => join(dir, 'records', 'tokens-1-data-64k.rec');
    const killed = await runCliWithSteps(
      { HSM_BENCH_WORKSPACE: workspace },
      ['scale', '--op', 'digest', '--data-size', '1k,64k', '--tokens', '1', '--duration', '4s', '--verify', 'none', '--out', killedOut],
      killedOut,
      [{ when: (dir) => sizeOf(records(dir)) > 4_000, act: (child) => child.kill('SIGKILL') }],
    );
    expect(killed.status).toBeNull();
    const report = runCli(['report', killed.dir, '--format', 'md,json'], { HSM_BENCH_WORKSPACE: workspace });
    expect(report.status, report.stderr).toBe(0);
    const run = runJson(killed.dir);
    expect(run.configurations.map((c) => [c.dataSizeBytes, c.partial])).toEqual([
      [1024, undefined],
      [65536, 'killed'],
    ]);
    const c = run.configurations[1]!;
    expect(c.operationsOk).toBeGreaterThan(0);
    expect(c.mbPerS!).toBeCloseTo((c.throughputPerS * 65536) / 1e6, 2);
  }, 60_000);
});

describe('--multipart: C_*Init, C_*Update per chunk, C_*Final, counted by pkcs11-spy', () => {
  const hsm = new ExternalSoftHsm();
  beforeAll(() => hsm.initToken('ds-A'));
  const CALLS = 20;
  const WARMUP = 2;

  /** A run through the spy on token ds-A: the run and how often each function was called. */
  function spied(args: string[]) {
    const log = join(tempDir('data-size-spy'), 'spy.log');
    const r = runCli(
      ['scale', '--module', SPY_MODULE, '--token-label', 'ds-A', '--tokens', '1', '--signatures-per-token', String(CALLS), '--warmup', String(WARMUP), '--out', out, '--format', 'md', ...args],
      { ...hsm.spyEnv(log), HSM_BENCH_PIN: TEST_PIN },
    );
    expect(r.status, r.stderr).toBe(0);
    const calls = readFileSync(log, 'utf8');
    const dir = runDirOf(r);
    return { run: runJson(dir), report: readFileSync(join(dir, 'report.md'), 'utf8'), count: (fn: string) => (calls.match(new RegExp(`^\\d+: ${fn}$`, 'gm')) ?? []).length };
  }

  it.each([
    ['digest', 'C_DigestUpdate', 'C_DigestFinal', 'C_Digest'],
    ['encrypt', 'C_EncryptUpdate', 'C_EncryptFinal', 'C_Encrypt'],
    ['mac', 'C_SignUpdate', 'C_SignFinal', 'C_Sign'],
  ])(
    '%s of 64 KiB in chunks of 4 KiB: 16 %s and one %s per call, no one-shot call',
    (op, update, final, single) => {
      // The module is the spy, in front of SoftHSM2; the trial call before the run is one call more.
      const { run, report, count } = spied(['--op', op, '--data-size', '64k', '--multipart', '4k']);
      const made = CALLS + WARMUP + 1;
      expect(count(update)).toBe(made * 16);
      expect(count(final)).toBe(made);
      expect(count(single)).toBe(0);
      const c = run.configurations[0]!;
      expect([c.dataSizeBytes, c.multipartChunkBytes, c.operationsOk, c.operationsVerified]).toEqual([65536, 4096, CALLS, CALLS]);
      expect(run.plan.multipartChunkBytes).toBe(4096);
      // The report names the calls made, never the one-shot call that was not.
      const made3 = `${single}Init/${update}/${final}`;
      expect(report).toContain(`(${made3})`);
      expect(report).toContain(`in parts of 4 KiB (${made3})`);
      expect(report).not.toMatch(new RegExp(`${single}\\b(?!Init|Update|Final)`));
    },
    60_000,
  );

  it.each(['gcm', 'cbc'])(
    'AES decrypt (%s) of 64 KiB in chunks of 4 KiB: the ciphertext made once by the token in parts before the run, then a C_DecryptUpdate per chunk and one C_DecryptFinal per call',
    (mechanism) => {
      const { run, report, count } = spied(['--op', 'decrypt', '--alg', 'aes256', '--mechanism', mechanism, '--data-size', '64k', '--multipart', '4k']);
      const made = CALLS + WARMUP + 1;
      // The call hands the token the ciphertext in chunks: GCM's carries its 16-byte tag after the data, a 17th part.
      const parts = mechanism === 'gcm' ? 17 : 16;
      expect([count('C_DecryptUpdate'), count('C_DecryptFinal'), count('C_Decrypt')]).toEqual([made * parts, made, 0]);
      // One ciphertext per token and size, encrypted by the token in the chunks asked for; nothing else encrypted.
      expect([count('C_EncryptInit'), count('C_EncryptUpdate'), count('C_EncryptFinal'), count('C_Encrypt')]).toEqual([1, 16, 1, 0]);
      const c = run.configurations[0]!;
      expect([c.dataSizeBytes, c.multipartChunkBytes, c.operationsOk, c.operationsFailed, c.operationsVerified]).toEqual([65536, 4096, CALLS, 0, CALLS]);
      expect(report).toContain('in parts of 4 KiB (C_DecryptInit/C_DecryptUpdate/C_DecryptFinal)');
    },
    60_000,
  );
});
