import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { outputFits } from '../src/model/workload.js';
import { scalePlan } from '../src/plan/plan.js';
import { planInputFromFlags, SCALE_DEFAULTS } from '../src/plan/plan-flags.js';
import { readLabFile } from '../src/plan/lab-file.js';
import { schemaProblems } from '../src/result/schemas.js';
import { HsmBenchError } from '../src/core/errors.js';
import { incomparability } from '../src/verdict/compare.js';
import { runCli, runCliAndSignal, runDirOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

/**
 * --mechanism by PKCS#11 name or number, with --mechanism-params: the call made with the mechanism and parameter as
 * given, the key found by --key-label whatever its type, every output counted and timed and none checked on the
 * host, which every output of the run says.
 */

const files = tempDir('as-given-files');
/** CK_RSA_PKCS_PSS_PARAMS as this machine's ABI lays it out (three CK_ULONGs of 8 bytes): SHA-256, MGF1-SHA256, 32-byte salt. */
const PSS_PARAMS = Buffer.alloc(24);
PSS_PARAMS.writeBigUInt64LE(0x250n, 0);
PSS_PARAMS.writeBigUInt64LE(0x2n, 8);
PSS_PARAMS.writeBigUInt64LE(32n, 16);
const pssFile = join(files, 'pss.bin');
writeFileSync(pssFile, PSS_PARAMS);
const emptyFile = join(files, 'empty.bin');
writeFileSync(emptyFile, '');

/** A scale plan from flags as the command line gives them (its defaults filled in). */
const planOf = (flags: Record<string, string>) =>
  scalePlan(planInputFromFlags({ tokens: '1', warmup: SCALE_DEFAULTS.warmup, threadsPerToken: SCALE_DEFAULTS.threadsPerToken, verify: 'all', out: 'reports', workspace: 'w', ...flags }));

function usageProblem(flags: Record<string, string>): { message: string; hint: string } {
  try {
    planOf(flags);
  } catch (error) {
    expect(error).toBeInstanceOf(HsmBenchError);
    expect((error as HsmBenchError).exitCode).toBe(2);
    return { message: (error as HsmBenchError).message, hint: (error as HsmBenchError).hint ?? '' };
  }
  throw new Error('the plan was accepted');
}

describe('--mechanism by PKCS#11 name or number, as the plan reads it', () => {
  it('a number (hex or decimal) or a CKM_ name in any case is the mechanism as given, named as PKCS#11 names it; its host check is none', () => {
    for (const [given, name, ckm] of [
      ['0x1041', 'CKM_ECDSA', 0x1041],
      ['4161', 'CKM_ECDSA', 0x1041],
      ['ckm_ml_dsa', 'CKM_ML_DSA', 0x1d],
      ['CKM_SLH_DSA', 'CKM_SLH_DSA', 0x2e],
      ['0x80000001', 'CKM_0x80000001', 0x80000001],
    ] as const) {
      const plan = planOf({ mechanism: given, keyLabel: 'k' });
      expect(plan.workload[0]!.asGiven, given).toEqual({ name, ckm, parameter: null, keyId: null });
      expect(plan.algorithm).toMatchObject({ id: 'any-key', family: 'any', displayName: name });
      expect(plan.verify.mode).toBe('none');
    }
  });

  it('derive: an ECDH mechanism by name or number is derive’s own, measured and checked as its word; raw parameters are refused (a pointer cannot be in a file)', () => {
    for (const [given, word] of [
      ['CKM_ECDH1_DERIVE', 'ecdh'],
      ['0x1050', 'ecdh'],
      ['ckm_ecdh1_cofactor_derive', 'ecdh-cofactor'],
      ['4177', 'ecdh-cofactor'],
    ] as const) {
      const plan = planOf({ op: 'derive', mechanism: given });
      expect(plan.workload[0]!.asGiven, given).toBeUndefined();
      expect([plan.workload[0]!.mechanismChoice, plan.algorithm.id, plan.keyLabel, plan.verify.mode]).toEqual([word, 'p256', 'hsm-bench-p256-derive', 'all']);
    }
    expect(planOf({ op: 'derive', alg: 'bp384', mechanism: '0x1051' }).workload[0]!.algorithm.id).toBe('bp384');
    for (const mechanism of ['CKM_ECDH1_DERIVE', '0x80000001']) {
      const refused = usageProblem({ op: 'derive', mechanism, keyLabel: 'k', mechanismParams: pssFile });
      expect(refused.message).toContain('--mechanism-params does not go with derive');
      expect(refused.message).toContain('a pointer cannot be given in a file');
      expect(refused.hint).toContain('--mechanism CKM_ECDH1_DERIVE or CKM_ECDH1_COFACTOR_DERIVE, by name or number');
    }
  });

  it('ML-KEM (by name or number, any operation) is exit 2: its calls C_EncapsulateKey and C_DecapsulateKey are not in pkcs11js', () => {
    for (const [op, mechanism] of [
      ['sign', 'CKM_ML_KEM'],
      ['decrypt', '0x17'],
      ['encrypt', 'ckm_ml_kem_key_pair_gen'],
      ['derive', '15'],
    ]) {
      const refused = usageProblem({ op: op!, mechanism: mechanism!, keyLabel: 'k' });
      expect(refused.message).toMatch(/--mechanism CKM_ML_KEM(_KEY_PAIR_GEN)? cannot be measured: ML-KEM is used through C_EncapsulateKey and C_DecapsulateKey \(PKCS#11 3\.2\), which pkcs11js 2\.1/);
    }
  });

  it('--key-id: the CKA_ID in hex, with or without 0x, with or instead of the label', () => {
    expect(Buffer.from(planOf({ mechanism: 'CKM_ECDSA', keyId: '0x0A0b' }).workload[0]!.asGiven!.keyId!).toString('hex')).toBe('0a0b');
    expect(planOf({ mechanism: 'CKM_ECDSA', keyId: '0a0b' }).keyLabel).toBe('');
  });

  it('--mechanism-params: the file’s bytes as they are', () => {
    const plan = planOf({ op: 'verify', mechanism: 'CKM_SHA256_RSA_PKCS_PSS', mechanismParams: pssFile, keyLabel: 'k' });
    expect(Buffer.from(plan.workload[0]!.asGiven!.parameter!)).toEqual(PSS_PARAMS);
  });

  it('the words hsm-bench knows keep their meaning and their host check', () => {
    const plan = planOf({ alg: 'p256', mechanism: 'ecdsa' });
    expect(plan.workload[0]!.asGiven).toBeUndefined();
    expect(plan.verify.mode).toBe('all');
  });

  it('bad input is exit 2, saying what to do', () => {
    expect(usageProblem({ mechanism: '0x1041', keyLabel: '' }).message).toBe('--key-label is empty');
    expect(usageProblem({ alg: 'p256', keyLabel: '' }).message).toBe('--key-label is empty');
    const typo = usageProblem({ mechanism: 'CKM_ECDSA_SHA265', keyLabel: 'k' });
    expect(typo.message).toContain("'CKM_ECDSA_SHA265' is not a PKCS#11 mechanism hsm-bench knows by name");
    expect(typo.hint).toContain('did you mean CKM_ECDSA_SHA224, CKM_ECDSA_SHA256');
    expect(usageProblem({ mechanism: '0x100000000', keyLabel: 'k' }).message).toContain('is not a PKCS#11 mechanism number');
    expect(usageProblem({ alg: 'p256', mechanism: 'ml-dsa' }).hint).toContain('or a PKCS#11 mechanism by CKM_ name or number');
    expect(usageProblem({ mechanism: 'CKM_ECDSA' }).message).toContain('needs --key-label or --key-id');
    const withAlg = usageProblem({ mechanism: 'CKM_ECDSA', keyLabel: 'k', alg: 'p256' });
    expect(withAlg.message).toContain('--alg does not go with');
    expect(withAlg.hint).toContain('for a run checked on the host name the mechanism as hsm-bench does: --mechanism ecdsa');
    expect(usageProblem({ mechanism: 'CKM_ECDSA', keyId: '0a0' }).message).toContain("--key-id '0a0' is not a CKA_ID in hex");
    expect(usageProblem({ alg: 'p256', keyId: '0a0b' }).message).toContain('--key-id goes with --mechanism given by PKCS#11 name or number');
    expect(usageProblem({ op: 'digest', mechanism: 'CKM_SHA256', keyLabel: 'k' }).message).toContain('goes with sign, verify, encrypt, decrypt, derive, not digest');
    expect(usageProblem({ alg: 'p256', mechanism: 'ecdsa', mechanismParams: pssFile }).message).toContain('--mechanism-params goes with --mechanism given by PKCS#11 name or number');
    expect(usageProblem({ mechanism: 'CKM_ECDSA', keyLabel: 'k', mechanismParams: join(files, 'missing.bin') }).message).toContain('does not exist');
    expect(usageProblem({ mechanism: 'CKM_ECDSA', keyLabel: 'k', mechanismParams: files }).message).toContain('not a file');
    expect(usageProblem({ mechanism: 'CKM_ECDSA', keyLabel: 'k', mechanismParams: emptyFile }).message).toContain('is empty');
  });

  it("a lab file gives them as its runs' mechanism, mechanismParams and keyId, a bad one named by its JSON path", async () => {
    const lab = (run: object) => {
      const path = join(tempDir('as-given-lab'), 'lab.json');
      writeFileSync(path, JSON.stringify({ runs: [{ name: 'as-given', tokens: [1], ...run }] }));
      return readLabFile(path);
    };
    const plan = (await lab({ op: 'verify', mechanism: 'CKM_SHA256_RSA_PKCS_PSS', mechanismParams: pssFile, keyId: '0x0A0b' })).runs[0]!.plan;
    expect(plan.workload[0]!.asGiven).toMatchObject({ name: 'CKM_SHA256_RSA_PKCS_PSS', ckm: 0x43 });
    expect(Buffer.from(plan.workload[0]!.asGiven!.parameter!)).toEqual(PSS_PARAMS);
    expect(Buffer.from(plan.workload[0]!.asGiven!.keyId!).toString('hex')).toBe('0a0b');
    expect((await lab({ mechanism: '0x1041', keyLabel: 'k' })).runs[0]!.plan.workload[0]!.asGiven).toMatchObject({ name: 'CKM_ECDSA' });
    await expect(lab({ mechanism: 'CKM_ECDSA', keyId: '0a0' })).rejects.toThrow(/\$\.runs\[0\]\.keyId '0a0' is not a CKA_ID in hex/);
    await expect(lab({ mechanism: 'CKM_ECDSA_SHA265', keyLabel: 'k' })).rejects.toThrow(/'CKM_ECDSA_SHA265' is not a PKCS#11 mechanism hsm-bench knows by name/);
    await expect(lab({ alg: 'p256', mechanism: 'ecdsa', mechanismParams: pssFile })).rejects.toThrow(
      /\$\.runs\[0\]\.mechanismParams goes with \$\.runs\[0\]\.mechanism given by PKCS#11 name or number/,
    );
  });

  it('an output of a mechanism as given fits at any size from one byte to its buffer; an empty one never does', () => {
    const op = { outputBytes: [] as number[], unchecked: true as const };
    expect([0, 1, 64, 4627, 49_856, 65_535, 65_536].map((n) => outputFits(op, n))).toEqual([false, true, true, true, true, true, false]);
  });
});

/** On real SoftHSM2 tokens: keys made by keys create, the mechanism given by number or name, the calls counted by pkcs11-spy. */
const hsm = new ExternalSoftHsm();
const out = tempDir('as-given-out');
const withPin = (extra: Record<string, string> = {}) => ({ ...hsm.env, HSM_BENCH_PIN: TEST_PIN, ...extra });

beforeAll(() => {
  hsm.initToken('ag-A');
  for (const alg of ['p256', 'rsa2048']) {
    const r = runCli(['keys', 'create', '--module', hsm.module, '--token-label', 'ag-', '--alg', alg], withPin());
    expect(r.status, r.stderr).toBe(0);
  }
}, 120_000);

const PER_TOKEN = 40;
const WARMUP = 3;

function scale(extra: string[], env: Record<string, string> = {}, module = hsm.module) {
  return runCli(['scale', '--module', module, '--token-label', 'ag-', '--tokens', '1', '--signatures-per-token', String(PER_TOKEN), '--warmup', String(WARMUP), '--out', out, ...extra], withPin(env));
}

const runOf = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));

describe('a mechanism as given on SoftHSM2: measured and counted like any other, "not checked" in every output', () => {
  it('CKM_ECDSA as 0x1041 signs with the P-256 key by label; every call counted by the spy; run.json, report.md, report.html, JUnit and the terminal say not checked', () => {
    const log = join(tempDir('as-given-spy'), 'spy.log');
    const junit = join(tempDir('as-given-junit'), 'junit.xml');
    const r = scale(['--mechanism', '0x1041', '--key-label', 'hsm-bench-p256', '--format', 'md,html', '--junit', junit], { PKCS11SPY: hsm.module, PKCS11SPY_OUTPUT: log }, SPY_MODULE);
    expect(r.status, r.stderr).toBe(0);
    const dir = runDirOf(r);
    const run = runOf(dir);
    expect(schemaProblems('run', run)).toEqual([]);
    expect(run.operation).toMatchObject({ name: 'sign', call: 'sign', hostCheck: 'not-checked' });
    expect(run.operation!.checkSkipped).toContain('CKM_ECDSA was given by PKCS#11 name or number');
    expect(run.mechanism).toMatchObject({ name: 'CKM_ECDSA', ckm: 0x1041 });
    expect(run.mechanism.parameterHex).toBeUndefined();
    expect(run.algorithm).toMatchObject({ id: 'any-key', family: 'any' });
    // The native loop makes only mechanisms hsm-bench knows: the run says which engine, and why.
    expect(run.harness.engine).toBe('threads');
    expect(run.harness.concurrency).toContain('the native loop makes only mechanisms hsm-bench knows');
    const c = run.configurations[0]!;
    expect([c.operationsOk, c.operationsFailed, c.operationsVerified]).toEqual([PER_TOKEN, 0, 0]);
    // Nothing was checked on the host: every call is unverified, and each output says how many.
    expect(c.operationsUnverified).toBe(PER_TOKEN);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain(`None of the ${PER_TOKEN} signatures failed; ${PER_TOKEN} of them were never checked`);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).not.toMatch(/verification had fallen behind/);
    expect(readFileSync(junit, 'utf8')).toContain(`${PER_TOKEN} OK (not checked on the host), ${PER_TOKEN} of them never checked, 0 failed`);
    // Measured like any other: every measured call, the warm-up and the one trial call are C_Sign calls the spy saw.
    expect(readFileSync(log, 'utf8').match(/^\d+: C_Sign$/gm)).toHaveLength(PER_TOKEN + WARMUP + 1);
    for (const text of [r.stdout, readFileSync(join(dir, 'report.md'), 'utf8'), readFileSync(join(dir, 'report.html'), 'utf8'), readFileSync(junit, 'utf8')]) {
      expect(text).toContain('not checked on the host');
      expect(text).not.toMatch(/verified on the host|every signature checked/);
    }
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('Signatures were counted and timed but not checked on the host: CKM_ECDSA was given by PKCS#11 name or number');
    expect(readFileSync(junit, 'utf8')).toContain(`${PER_TOKEN} OK (not checked on the host)`);
    // The verdict too: the calls returned CKR_OK, and nothing said their results were right.
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('**Verdict: PASSED: no signature failed (signatures not checked on the host)');
  }, 120_000);

  it('CKM_SHA256_RSA_PKCS_PSS with raw CK_RSA_PKCS_PSS_PARAMS from a file: sign, and verify over signatures the token made, with the RSA key by label', () => {
    const runs: RunResult[] = [];
    for (const op of ['sign', 'verify']) {
      const r = scale(['--op', op, '--mechanism', 'CKM_SHA256_RSA_PKCS_PSS', '--mechanism-params', pssFile, '--key-label', 'hsm-bench-rsa2048', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const run = JSON.parse(r.stdout) as RunResult;
      expect(schemaProblems('run', run)).toEqual([]);
      expect(run.operation).toMatchObject({ name: op, hostCheck: 'not-checked' });
      expect(run.mechanism).toMatchObject({ name: 'CKM_SHA256_RSA_PKCS_PSS', ckm: 0x43, parameterHex: PSS_PARAMS.toString('hex') });
      const c = run.configurations[0]!;
      expect([c.operationsOk, c.operationsFailed, c.operationsVerified], op).toEqual([PER_TOKEN, 0, 0]);
      runs.push(run);
    }
    // The same mechanism with other parameters is another call: runs of it do not compare.
    const otherParameters = { ...runs[0]!, mechanism: { ...runs[0]!.mechanism, parameterHex: '00' } };
    expect(incomparability(runs[0]!, runs[0]!)).toEqual([]);
    expect(incomparability(runs[0]!, otherParameters)).toEqual([`the mechanism's parameters differ (--mechanism-params: ${PSS_PARAMS.toString('hex')} vs 00)`]);
  }, 120_000);

  it('--key-id alone finds the key by its CKA_ID, in the set-up and in every session; run.json keeps it', () => {
    const listing = JSON.parse(runCli(['list', '--keys', '--json', '--module', hsm.module, '--token-label', 'ag-'], withPin()).stdout) as { slots: { keys?: { label: string; id: string }[] }[] };
    const id = listing.slots.flatMap((s) => s.keys ?? []).find((k) => k.label === 'hsm-bench-p256')!.id;
    const r = scale(['--mechanism', 'CKM_ECDSA', '--key-id', id, '--threads-per-token', '2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout) as RunResult;
    expect(schemaProblems('run', run)).toEqual([]);
    expect([run.keyLabel, run.keyIdHex]).toEqual(['', id]);
    expect(run.mechanism.hostDigest).toContain(`the private key of CKA_ID ${id}`);
    const c = run.configurations[0]!;
    expect([c.operationsOk, c.operationsFailed]).toEqual([PER_TOKEN, 0]);
    const wrong = scale(['--mechanism', 'CKM_ECDSA', '--key-id', 'ffff']);
    expect(wrong.status, wrong.stderr).toBe(3);
    expect(wrong.stderr).toContain('no private key or secret key of CKA_ID ffff');
  }, 120_000);

  it('a lab file runs a mechanism as given with its parameters and the key by CKA_ID (hsm-bench run --config)', () => {
    const listing = JSON.parse(runCli(['list', '--keys', '--json', '--module', hsm.module, '--token-label', 'ag-'], withPin()).stdout) as { slots: { keys?: { label: string; id: string }[] }[] };
    const id = listing.slots.flatMap((s) => s.keys ?? []).find((k) => k.label === 'hsm-bench-rsa2048')!.id;
    const labOut = tempDir('as-given-lab-out');
    const path = join(labOut, 'lab.json');
    const run = { module: hsm.module, tokenLabel: 'ag-', tokens: [1], signaturesPerToken: PER_TOKEN, warmup: WARMUP, mechanism: 'CKM_SHA256_RSA_PKCS_PSS', mechanismParams: pssFile, keyId: id };
    writeFileSync(path, JSON.stringify({ out: labOut, runs: [{ name: 'pss-by-id', ...run }] }));
    const r = runCli(['run', '--config', path, '--json'], withPin());
    expect(r.status, r.stderr).toBe(0);
    const result = (JSON.parse(r.stdout) as { runs: { result: RunResult }[] }).runs[0]!.result;
    expect(schemaProblems('run', result)).toEqual([]);
    expect(result.mechanism).toMatchObject({ name: 'CKM_SHA256_RSA_PKCS_PSS', parameterHex: PSS_PARAMS.toString('hex') });
    expect([result.keyLabel, result.keyIdHex, result.operation!.hostCheck]).toEqual(['', id, 'not-checked']);
    expect([result.configurations[0]!.operationsOk, result.configurations[0]!.operationsFailed]).toEqual([PER_TOKEN, 0]);
  }, 120_000);

  it('a burn-in resumes only with the parameter bytes it started with: the checkpoint keeps the file’s path, run.json its bytes', async () => {
    const params = join(tempDir('as-given-resume'), 'pss.bin');
    writeFileSync(params, PSS_PARAMS);
    const args = ['burn-in', '--module', hsm.module, '--token-label', 'ag-', '--mechanism', 'CKM_SHA256_RSA_PKCS_PSS', '--mechanism-params', params, '--key-label', 'hsm-bench-rsa2048'];
    const first = await runCliAndSignal([...args, '--rate', '100', '--signatures', '1000', '--out', tempDir('as-given-resume-out')], withPin(), /records in/, 'SIGTERM', 1000);
    expect(first.status, first.stderr).toBe(130);
    const dir = runDirOf(first);
    // Another salt length: a parameter the token takes as well, so only the check tells the runs apart.
    const other = Buffer.from(PSS_PARAMS);
    other.writeBigUInt64LE(20n, 16);
    writeFileSync(params, other);
    const refused = runCli(['burn-in', '--resume', dir], withPin());
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`the mechanism parameter file ${params} does not hold the bytes this burn-in started with`);
    writeFileSync(params, PSS_PARAMS);
    const resumed = runCli(['burn-in', '--resume', dir], withPin());
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(runOf(dir).mechanism.parameterHex).toBe(PSS_PARAMS.toString('hex'));
  }, 120_000);

  it('an empty output is still a failure: counted and named, never passed as made', () => {
    const faulty = buildFaultyModule();
    // The trial call and 20 measured calls are answered right; the fault module answers the others with 0 bytes.
    const r = scale(
      ['--mechanism', '0x1041', '--key-label', 'hsm-bench-p256', '--warmup', '0', '--format', 'md'],
      { FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', FAULTY_SIGN_LENGTH: '0', FAULTY_SIGN_LENGTH_AFTER: '21' },
      faulty,
    );
    expect(r.status, r.stderr).toBe(4);
    const c = runOf(runDirOf(r)).configurations[0]!;
    expect([c.operationsOk, c.operationsFailed]).toEqual([20, PER_TOKEN - 20]);
    expect(c.failuresByCkr).toEqual({ WRONG_OUTPUT_SIZE: PER_TOKEN - 20 });
    expect(readFileSync(join(runDirOf(r), 'report.md'), 'utf8')).toContain('CKM_ECDSA makes at least one byte');
  }, 120_000);

  it('verify: a rejection of a signature the token made is the call’s failure, with its CKR (no host check would catch it)', () => {
    const faulty = buildFaultyModule();
    // The trial call and 20 measured verifications are answered as the token answers; the others are rejected.
    const r = scale(
      ['--op', 'verify', '--mechanism', 'CKM_ECDSA', '--key-label', 'hsm-bench-p256', '--warmup', '0'],
      { FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', FAULTY_VERIFY_REJECT_AFTER: '21' },
      faulty,
    );
    expect(r.status, r.stderr).toBe(4);
    const c = runOf(runDirOf(r)).configurations[0]!;
    expect([c.operationsOk, c.operationsFailed]).toEqual([20, PER_TOKEN - 20]);
    expect(c.failuresByCkr).toEqual({ CKR_SIGNATURE_INVALID: PER_TOKEN - 20 });
  }, 120_000);

  it('encrypt with the public key and decrypt ciphertexts the token made, by CKM_RSA_PKCS_OAEP with raw parameters (SHA-1, no label)', () => {
    const created = runCli(['keys', 'create', '--module', hsm.module, '--token-label', 'ag-', '--alg', 'rsa2048', '--usage', 'decrypt'], withPin());
    expect(created.status, created.stderr).toBe(0);
    // CK_RSA_PKCS_OAEP_PARAMS: CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, no source data (pointer NULL, length 0).
    const oaep = join(files, 'oaep.bin');
    const params = Buffer.alloc(40);
    [0x220n, 1n, 1n].forEach((v, i) => params.writeBigUInt64LE(v, 8 * i));
    writeFileSync(oaep, params);
    for (const op of ['encrypt', 'decrypt']) {
      const r = scale(['--op', op, '--mechanism', 'CKM_RSA_PKCS_OAEP', '--mechanism-params', oaep, '--key-label', 'hsm-bench-rsa2048-decrypt', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const run = JSON.parse(r.stdout) as RunResult;
      expect(run.operation).toMatchObject({ name: op, hostCheck: 'not-checked' });
      expect(run.mechanism.hostDigest).toContain(op === 'encrypt' ? 'the public key' : '64 ciphertexts per token made by the token before the run');
      const c = run.configurations[0]!;
      expect([c.operationsOk, c.operationsFailed, c.operationsVerified], op).toEqual([PER_TOKEN, 0, 0]);
    }
  }, 120_000);

  it('derive by ECDH mechanism name or number: measured and checked on the host as derive’s own ECDH; the cofactor variant, which SoftHSM2 2.6.1 does not list, is exit 3 naming it', () => {
    const created = runCli(['keys', 'create', '--module', hsm.module, '--token-label', 'ag-', '--alg', 'p256', '--usage', 'derive'], withPin());
    expect(created.status, created.stderr).toBe(0);
    for (const mechanism of ['CKM_ECDH1_DERIVE', '0x1050']) {
      const r = scale(['--op', 'derive', '--mechanism', mechanism, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const run = JSON.parse(r.stdout) as RunResult;
      expect([run.operation?.name, run.operation?.hostCheck]).toEqual(['derive', undefined]);
      expect([run.mechanism.name, run.algorithm.id, run.keyLabel]).toEqual(['CKM_ECDH1_DERIVE', 'p256', 'hsm-bench-p256-derive']);
      const c = run.configurations[0]!;
      expect([c.operationsOk, c.operationsFailed, c.operationsVerified], mechanism).toEqual([PER_TOKEN, 0, PER_TOKEN]);
    }
    const cofactor = scale(['--op', 'derive', '--mechanism', 'CKM_ECDH1_COFACTOR_DERIVE']);
    expect(cofactor.status, cofactor.stderr).toBe(3);
    expect(cofactor.stderr).toMatch(/cannot derive with ECDH \(cofactor\): it offers none of CKM_ECDH1_COFACTOR_DERIVE/);
    expect(cofactor.stderr).toContain('CKM_ECDH1_DERIVE');
  }, 120_000);

  it('a trial call that fails with a code that is no refusal (CKM_ECDSA with an RSA key: CKR_GENERAL_ERROR) is exit 3 before the run, naming token, call and CKR', () => {
    const r = scale(['--mechanism', '0x1041', '--key-label', 'hsm-bench-rsa2048']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/token 'ag-A' .*failed the trial call before the run \(sign with CKM_ECDSA, C_Sign\): CKR_GENERAL_ERROR/);
    expect(r.stderr).toContain('hint: ');
    expect(r.stdout).not.toMatch(/records in/);
  }, 120_000);

  it('a mechanism the token does not list is refused at set-up (exit 3), with the mechanisms the token lists', () => {
    for (const mechanism of ['0x80001234', 'CKM_ML_DSA']) {
      const r = scale(['--mechanism', mechanism, '--key-label', 'hsm-bench-p256']);
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/cannot sign with CKM_(0x80001234|ML_DSA): it offers none of/);
      expect(r.stderr).toContain('its mechanisms: ');
      expect(r.stderr).toContain('CKM_ECDSA');
    }
  }, 120_000);

  it('no key of that label is exit 3 naming the classes looked for; a bad name and a missing parameter file are exit 2', () => {
    const noKey = scale(['--mechanism', 'CKM_ECDSA', '--key-label', 'no-such-key']);
    expect(noKey.status, noKey.stderr).toBe(3);
    expect(noKey.stderr).toContain("no private key or secret key labelled 'no-such-key'");
    const typo = scale(['--mechanism', 'CKM_ECDSA_SHA265', '--key-label', 'hsm-bench-p256']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('did you mean CKM_ECDSA_SHA224, CKM_ECDSA_SHA256');
    const missing = scale(['--mechanism', 'CKM_ECDSA', '--mechanism-params', join(files, 'missing.bin'), '--key-label', 'hsm-bench-p256']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('the mechanism parameter file');
    for (const r of [noKey, typo, missing]) expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
