import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { killTree, runCli, runCliAndAct, runCliAndSignal, runCliAsync, runCliWithSteps, sizeOf, tempDir } from './helpers/cli.js';
import { ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

// What a hostile tester found, each kept as a test: the cases come from a pass over the built CLI as a careless
// or hostile user would use it.

const readRun = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
const logins = (log: string) => (readFileSync(log, 'utf8').match(/^\d+: C_Login$/gm) ?? []).length;

/** Two SoftHSM2 tokens of the user's with a P-256 key each, and a burn-in on them killed with SIGKILL. */
async function killedBurnIn(extra: string[] = [], spyLog?: string) {
  const hsm = new ExternalSoftHsm();
  for (const label of ['ha', 'hb']) {
    hsm.initToken(label);
    hsm.generateKey(label, 'EC:prime256v1', 'hk');
  }
  const out = tempDir('hostile');
  const module = spyLog ? SPY_MODULE : hsm.module;
  const env = { ...(spyLog ? hsm.spyEnv(spyLog) : hsm.env), HSM_BENCH_PIN: TEST_PIN };
  const args = ['burn-in', '--module', module, '--alg', 'p256', '--key-label', 'hk', '--tokens', '2', '--signatures', '40000', '--verify', 'none', '--out', out, ...extra];
  // The burn-in and its supervisor killed at once, once some records are on disk (however slow a loaded host is).
  const killed = await runCliWithSteps(env, args, out, [{ when: (dir) => sizeOf(join(dir, 'records', 'burn-in.csv')) > 4096, act: killTree }]);
  expect(killed.status).toBeNull();
  return { hsm, env, dir: killed.dir };
}

describe('resuming a burn-in', () => {
  it('two resumes at once: one goes on, the other is refused, and the records stay one run', async () => {
    const { env, dir } = await killedBurnIn();
    const [a, b] = await Promise.all([runCliAsync(['burn-in', '--resume', dir], env), runCliAsync(['burn-in', '--resume', dir], env)]);
    expect([a!.status, b!.status].sort()).toEqual([0, 3]);
    expect((a!.status === 3 ? a! : b!).stderr).toMatch(/the burn-in .* is in use by another hsm-bench \(process \d+\)/);
    expect(readRun(dir).configurations[0]!.operationsOk).toBe(40000);
  });

  it('a PIN refused on resume is kept in the checkpoint and not presented by the next resume', async () => {
    const log = join(tempDir('spy'), 'spy.log');
    const { env, dir } = await killedBurnIn([], log);
    const before = logins(log);
    const wrong = { ...env, HSM_BENCH_PIN: '999999' };
    const first = runCli(['burn-in', '--resume', dir], wrong);
    expect(first.status).toBe(3);
    expect(logins(log)).toBe(before + 1);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).pinRefused).toHaveLength(1);
    const second = runCli(['burn-in', '--resume', dir], wrong);
    expect(second.status).toBe(3);
    expect(second.stderr).toMatch(/the PIN was refused by token .* during the run being resumed; hsm-bench does not present a refused PIN again on its own/);
    expect(logins(log)).toBe(before + 1);
  });

  it('keeps the thresholds and the JUnit file of the run it continues, and its verdict is the exit code', async () => {
    const junit = join(tempDir('junit'), 'burn-in.xml');
    const { env, dir } = await killedBurnIn(['--min-throughput', '99999999', '--junit', junit]);
    const r = runCli(['burn-in', '--resume', dir], env);
    expect(r.status).toBe(5);
    expect(r.stdout).toMatch(/verdict: FAILED: a threshold or the baseline check failed/);
    expect(r.stdout).not.toMatch(/PASSED/);
    expect(existsSync(junit)).toBe(true);
  });

  it('refuses records that were edited: a repeated line', async () => {
    const { env, dir } = await killedBurnIn();
    const records = join(dir, 'records', 'burn-in.csv');
    const lines = readFileSync(records, 'utf8').trimEnd().split('\n');
    writeFileSync(records, [...lines, lines[lines.length - 1]].join('\n') + '\n');
    const r = runCli(['burn-in', '--resume', dir], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/a repeated or missing record/);
  });
});

describe('runs killed with SIGKILL', () => {
  it('a scale run killed between configurations reads as partial, and its report says so', async () => {
    const ws = { HSM_BENCH_WORKSPACE: tempDir('kill-scale-ws') };
    const out = tempDir('kill-scale');
    const killed = await runCliAndSignal(['scale', '--alg', 'p256', '--tokens', '1,2', '--duration', '2s', '--verify', 'none', '--out', out], ws, /2 tokens: running/, 'SIGKILL', 500);
    expect(killed.status).toBeNull();
    const dir = join(out, readdirSync(out)[0]!);
    expect(readRun(dir).interrupted).toBe(true);
    const report = runCli(['report', dir, '--format', 'md'], ws);
    expect(report.status).toBe(0);
    expect(report.stderr).toMatch(/is a partial run/);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/The run was killed: `report` counted its calls again from the records on disk, and these results are partial/);
  });
});

describe('secrets and modules', () => {
  it('a PIN typed into another flag is never printed back', () => {
    const secret = '77123456';
    for (const args of [
      ['--token-label', secret],
      ['--serials', secret],
      ['--slots', secret],
    ]) {
      const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--module', '/usr/lib/softhsm/libsofthsm2.so', ...args], { HSM_BENCH_PIN: secret, SOFTHSM2_CONF: new ExternalSoftHsm().conf });
      expect(r.status).toBe(3);
      expect(r.stderr).not.toContain(secret);
    }
  });
  it('a PIN file that is a device, or holds more than the PIN, is refused before any login', () => {
    const hsm = new ExternalSoftHsm();
    hsm.initToken('pf');
    const padded = join(tempDir('pin-file'), 'pin');
    writeFileSync(padded, ` ${TEST_PIN}\n\n`);
    for (const [file, message] of [
      ['/dev/zero', /the PIN file given is a device, not a file/],
      [padded, /the PIN in the PIN file given has spaces or a line break before or after it; hsm-bench did not present it/],
    ] as const) {
      const log = join(tempDir('spy'), 'spy.log');
      const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--module', SPY_MODULE, '--pin-file', file, '--out', tempDir('pf-out')], hsm.spyEnv(log));
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(message);
      expect(logins(log)).toBe(0);
    }
  });
  it('a bare module name that is in the current folder loads that file, not one the loader finds elsewhere', () => {
    const hsm = new ExternalSoftHsm();
    hsm.initToken('bare');
    const cwd = tempDir('bare-module');
    copyFileSync(hsm.module, join(cwd, 'my-module.so'));
    const r = runCli(['list', '--module', 'my-module.so', '--json'], hsm.env, cwd);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).module.path).toBe(join(cwd, 'my-module.so'));
  });
});
