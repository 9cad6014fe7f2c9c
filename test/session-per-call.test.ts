import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Listing } from '../src/cli/list.js';
import type { RunResult } from '../src/model/run-result.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

/**
 * Sessions as applications hold them: pooled (the default), a session per call (open, log in where closing the last
 * session logged the token out, find the key, use it, close), a key found per call. The spy counts the calls.
 */
const hsm = new ExternalSoftHsm();
const out = tempDir('per-call-out');
let slotOf: Record<string, string>;

beforeAll(() => {
  for (const label of ['pc-A', 'pc-B']) hsm.initToken(label);
  const r = runCli(['keys', 'create', '--module', hsm.module, '--token-label', 'pc-', '--alg', 'p256'], { ...hsm.env, HSM_BENCH_PIN: TEST_PIN });
  expect(r.status, r.stderr).toBe(0);
  const listing: Listing = JSON.parse(runCli(['list', '--json', '--module', hsm.module], hsm.env).stdout);
  slotOf = Object.fromEntries(listing.slots.filter((s) => s.token?.initialized).map((s) => [s.token!.label, s.slotId]));
}, 60_000);

const PER_TOKEN = 40;
const WARMUP = 3;

/** A scale run on token pc-A through a slow-token wrapper and pkcs11-spy: the run and how often each function was called. */
function spied(extra: string[]) {
  const log = join(tempDir('per-call-spy'), 'spy.log');
  const faulty = buildFaultyModule();
  const r = runCli(
    ['scale', '--alg', 'p256', '--module', SPY_MODULE, '--slots', slotOf['pc-A']!, '--tokens', '1', '--signatures-per-token', String(PER_TOKEN), '--warmup', String(WARMUP), '--out', out, ...extra],
    // The spy in front of the slow-token wrapper, in front of SoftHSM2: each C_Sign sleeps 2 ms, as a slow token's would.
    { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, PKCS11SPY: faulty, PKCS11SPY_OUTPUT: log, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', FAULTY_SIGN_DELAY_MS: '2' },
  );
  expect(r.status, r.stderr).toBe(0);
  const run: RunResult = JSON.parse(readFileSync(join(runDirOf(r), 'run.json'), 'utf8'));
  const calls = readFileSync(log, 'utf8');
  return { run, dir: runDirOf(r), count: (fn: string) => (calls.match(new RegExp(`^\\d+: ${fn}$`, 'gm')) ?? []).length };
}

describe('--session-per-call and --find-key-per-call, against the pooled default', () => {
  let pooled: ReturnType<typeof spied>;
  beforeAll(() => {
    pooled = spied(['--format', 'md']);
  }, 60_000);
  const CALLS = PER_TOKEN + WARMUP;

  it('a session per call: one C_OpenSession, C_Login and C_FindObjectsInit more per call than pooled; every signature verified', () => {
    const perCall = spied(['--session-per-call', '--format', 'md']);
    for (const fn of ['C_OpenSession', 'C_FindObjectsInit']) expect(perCall.count(fn), fn).toBe(pooled.count(fn) + CALLS);
    // One more of each besides: the set-up's session is closed once set up (pooled, C_Finalize ends it), which logs the
    // token out, so the session's own opening before the window logs in again.
    expect(perCall.count('C_CloseSession')).toBe(pooled.count('C_CloseSession') + CALLS + 1);
    expect(perCall.count('C_Login')).toBe(pooled.count('C_Login') + CALLS + 1);
    expect(perCall.count('C_Sign')).toBe(pooled.count('C_Sign'));
    // Nothing else is timed per call: no slot asked (a slot list is a reader poll on PC/SC), one C_GetSessionInfo
    // (is the token logged in?) and one C_GetTokenInfo (may the PIN be presented?) before each login.
    for (const fn of ['C_GetSlotList', 'C_GetSlotInfo']) expect(perCall.count(fn), fn).toBe(pooled.count(fn));
    // Once per module instance (the pooled run's native loop loads its own): never per call.
    expect(perCall.count('C_GetFunctionList')).toBeLessThanOrEqual(pooled.count('C_GetFunctionList'));
    expect(perCall.count('C_GetSessionInfo')).toBe(pooled.count('C_GetSessionInfo') + CALLS);
    expect(perCall.count('C_GetTokenInfo')).toBe(pooled.count('C_GetTokenInfo') + CALLS + 1);
    const c = perCall.run.configurations[0]!;
    expect([c.operationsOk, c.operationsFailed, c.operationsVerified]).toEqual([PER_TOKEN, 0, PER_TOKEN]);
    expect(perCall.run.plan.perCall).toEqual({ session: true, findKey: false });
    expect(pooled.run.plan.perCall).toBeUndefined();
    // The native loop opens no session per call: worker threads make them, and run.json says why.
    expect(perCall.run.harness.engine).toBe('threads');
    expect(perCall.run.harness.concurrency).toMatch(/--session-per-call/);
    expect(readFileSync(join(perCall.dir, 'report.md'), 'utf8')).toMatch(/a session per call \(opened, logged in where the token was logged out, key found, closed\)/);
  }, 60_000);

  it('a key found per call: one C_FindObjectsInit more per call, the pooled session and login kept', () => {
    const perCall = spied(['--find-key-per-call']);
    expect(perCall.count('C_FindObjectsInit')).toBe(pooled.count('C_FindObjectsInit') + CALLS);
    for (const fn of ['C_OpenSession', 'C_Login']) expect(perCall.count(fn), fn).toBe(pooled.count(fn));
    expect(perCall.run.configurations[0]!.operationsVerified).toBe(PER_TOKEN);
    expect(perCall.run.plan.perCall).toEqual({ session: false, findKey: true });
  }, 60_000);

  it('report sets a session-per-call run beside the pooled one, each named by how it held its sessions', () => {
    const perCall = spied(['--session-per-call']);
    const r = runCli(['report', pooled.dir, perCall.dir, '--out', tempDir('per-call-compare')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('ECDSA P-256 (CKM_ECDSA, session per call)');
  }, 60_000);

  it('a PIN refused at a per-call login stops that token at once and is never presented again', () => {
    const logins = join(tempDir('per-call-logins'), 'logins.log');
    const r = runCli(
      ['scale', '--alg', 'p256', '--module', buildFaultyModule(), '--slots', `${slotOf['pc-A']},${slotOf['pc-B']}`, '--tokens', '2', '--session-per-call', '--duration', '3s', '--out', out],
      { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', FAULTY_PIN_CHANGE_AFTER: '200', FAULTY_LOGIN_LOG: logins },
    );
    expect(r.status).toBe(4);
    // One refused login per token, then none: the guard keeps every later call from presenting it.
    expect(readFileSync(logins, 'utf8').trim().split('\n')).toHaveLength(2);
    const run: RunResult = JSON.parse(readFileSync(join(runDirOf(r), 'run.json'), 'utf8'));
    const c = run.configurations[0]!;
    // A call in flight when the token was re-plugged fails with CKR_DEVICE_REMOVED; each token's next call logs in.
    expect(c.failuresByCkr.CKR_PIN_INCORRECT).toBe(2);
    expect(Object.keys(c.failuresByCkr).filter((k) => k !== 'CKR_PIN_INCORRECT' && k !== 'CKR_DEVICE_REMOVED')).toEqual([]);
    expect(c.workerIssues).toHaveLength(2);
    for (const issue of c.workerIssues) expect(issue.message).toMatch(/the token refused the PIN \(CKR_PIN_INCORRECT\); the PIN is not presented again/);
  }, 60_000);

  it('refused where it cannot apply, exit 2 with what to do', () => {
    const keygen = runCli(['scale', '--op', 'keygen', '--alg', 'p256', '--session-per-call', '--tokens', '1', '--out', out]);
    expect(keygen.status).toBe(2);
    expect(keygen.stderr).toMatch(/keygen reads what each call made back from the call's session after the clock stops: --session-per-call does not go with it/);
    const digest = runCli(['scale', '--op', 'digest', '--find-key-per-call', '--tokens', '1', '--out', out]);
    expect(digest.status).toBe(2);
    expect(digest.stderr).toMatch(/digest uses no key of the token to find: --find-key-per-call does not apply/);
  });
});
