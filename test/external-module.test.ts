import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import type { Listing } from '../src/cli/list.js';
import { runCli, runCliAndSignal, tempDir } from './helpers/cli.js';
import { ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

const hsm = new ExternalSoftHsm();
const out = tempDir('external-out');
const withPin = () => ({ ...hsm.env, HSM_BENCH_PIN: TEST_PIN });
const moduleArgs = () => ['--module', hsm.module];
let slotOf: Record<string, string>;

beforeAll(() => {
  for (const label of ['lab-A', 'lab-B', 'lab-C']) hsm.initToken(label);
  hsm.generateKey('lab-A', 'rsa:2048', 'lab-rsa');
  hsm.generateKey('lab-B', 'rsa:2048', 'lab-rsa');
  hsm.generateKey('lab-A', 'EC:brainpoolP256r1', 'lab-ec');
  const listing: Listing = JSON.parse(runCli(['list', '--json', ...moduleArgs()], hsm.env).stdout);
  slotOf = Object.fromEntries(listing.slots.filter((s) => s.token?.initialized).map((s) => [s.token!.label, s.slotId]));
});

describe('a user module (SoftHSM2 tokens made by softhsm2-util, keys by pkcs11-tool)', () => {
  it('lists every slot with no PIN, and says where a PIN shows more', () => {
    const r = runCli(['list', '--keys', ...moduleArgs()], hsm.env);
    expect(r.status).toBe(0);
    for (const label of ['lab-A', 'lab-B', 'lab-C']) expect(r.stdout).toContain(label);
    expect(r.stdout).toMatch(/key pair 'lab-rsa' id 0a0b: RSA 2048, private key not checked/);
    expect(r.stdout).toMatch(/key pair 'lab-ec' id 0a0b: EC brainpoolP256r1/);
    expect(r.stdout).toContain('note: private keys are hidden without a PIN: set HSM_BENCH_PIN');
  });

  it('lists mechanisms with key sizes, and complete key pairs with a PIN, as JSON', () => {
    const r = runCli(['list', '--keys', '--mechanisms', '--json', '--token-label', 'lab-A', ...moduleArgs()], withPin());
    expect(r.status).toBe(0);
    const listing: Listing = JSON.parse(r.stdout);
    expect(listing.slots).toHaveLength(1);
    const a = listing.slots[0]!;
    expect(a.token!.label).toBe('lab-A');
    expect(a.mechanisms).toContainEqual({ name: 'CKM_SHA256_RSA_PKCS', minKeySize: 512, maxKeySize: 16384 });
    expect(a.keys!.map((k) => [k.label, k.type, k.size, k.hasPrivateKey]).sort()).toEqual([
      ['lab-ec', 'EC', 'brainpoolP256r1', true],
      ['lab-rsa', 'RSA', '2048', true],
    ]);
  });

  it('runs scale on the selected tokens in the order given, naming the module and every token', () => {
    const r = runCli(
      [
        'scale',
        '--alg',
        'rsa2048',
        '--key-label',
        'lab-rsa',
        '--slots',
        `${slotOf['lab-B']},${slotOf['lab-A']}`,
        '--tokens',
        '1,2',
        '--signatures-per-token',
        '30',
        '--json',
        '--out',
        out,
        ...moduleArgs(),
      ],
      withPin(),
    );
    expect(r.status, r.stderr).toBe(0);
    const run: RunResult = JSON.parse(r.stdout);
    expect(run.backend).toEqual({ kind: 'module' });
    expect(run.module).toMatchObject({ path: hsm.module, manufacturer: 'SoftHSM', libraryDescription: 'Implementation of PKCS11' });
    expect(run.tokens.map((t) => t.label)).toEqual(['lab-B', 'lab-A']);
    expect(run.configurations.map((c) => c.operationsVerified)).toEqual([30, 60]);
  });

  it('refuses to run on more tokens than are selected, saying how many were found', () => {
    const r = runCli(['scale', '--alg', 'rsa2048', '--key-label', 'lab-rsa', '--token-label', 'lab-', '--tokens', '4', ...moduleArgs()], withPin());
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/4 tokens are needed but 3 were found with a label starting 'lab-'/);
  });

  it('stops with a set-up error when a token lacks the key', () => {
    const r = runCli(['scale', '--alg', 'rsa2048', '--key-label', 'lab-rsa', '--token-label', 'lab-', '--tokens', '3', '--out', out, ...moduleArgs()], withPin());
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/no private key labelled 'lab-rsa' on token 'lab-C'/);
    // The command to type: the module and tokens of the run, and the key it named (keys create leaves a token that has it alone).
    expect(r.stderr).toContain(`hint: create it with: hsm-bench keys create --module ${hsm.module} --token-label lab- --alg rsa2048 --usage sign --label lab-rsa`);
    expect(r.stderr).not.toContain(TEST_PIN);
  });

  it('off a terminal with no PIN, stops and says what to set', () => {
    const r = runCli(['scale', '--alg', 'rsa2048', '--key-label', 'lab-rsa', '--tokens', '1', '--token-label', 'lab-A', ...moduleArgs()], hsm.env);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/no PIN: HSM_BENCH_PIN is not set/);
  });

  it('logs in once after a wrong PIN, then stops before signing (counted through pkcs11-spy)', () => {
    const log = join(tempDir('spy'), 'spy.log');
    const r = runCli(['scale', '--alg', 'rsa2048', '--key-label', 'lab-rsa', '--token-label', 'lab-', '--tokens', '2', '--module', SPY_MODULE], { ...hsm.spyEnv(log), HSM_BENCH_PIN: '999999' });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/login to token 'lab-[ABC]' .* failed: CKR_PIN_INCORRECT/);
    expect(r.stderr).not.toContain('999999');
    const calls = readFileSync(log, 'utf8');
    expect(calls.match(/^\d+: C_Login$/gm)).toHaveLength(1);
    expect(calls).not.toMatch(/: C_Sign$/m);
  });

  it('says of a refused PIN what hsm-bench did (one try, never again) and what the token reports since (SoftHSM2 sets CKF_USER_PIN_COUNT_LOW at the first)', () => {
    const wrong = () =>
      runCli(['scale', '--alg', 'rsa2048', '--key-label', 'lab-rsa', '--slots', slotOf['lab-B']!, '--tokens', '1', '--out', out, ...moduleArgs()], { ...hsm.env, HSM_BENCH_PIN: '999999' });
    const right = runCli(['list', '--keys', '--slots', slotOf['lab-B']!, ...moduleArgs()], withPin());
    expect(right.status, right.stderr).toBe(0);
    // After a successful login the token counts no wrong PIN: the flag it shows after the refusal is this one try's.
    const first = wrong();
    expect(first.status).toBe(3);
    expect(first.stderr).toMatch(
      /failed: CKR_PIN_INCORRECT: hsm-bench presented the PIN once and will not present it to this token again; the token now reports CKF_USER_PIN_COUNT_LOW \(a wrong PIN entered since its last successful login\): that is this one try/,
    );
    expect(first.stderr).not.toMatch(/entered before\)/);
    // A second invocation finds the flag set before its own one try: it says so, and not that it made more tries.
    const second = wrong();
    expect(second.stderr).toMatch(
      /hsm-bench presented the PIN once .*; the token reported CKF_USER_PIN_COUNT_LOW before this try too: a wrong PIN had been entered since its last successful login, not by this run/,
    );
    expect(`${first.stderr}${second.stderr}`).not.toContain('999999');
    expect(runCli(['list', '--keys', '--slots', slotOf['lab-B']!, ...moduleArgs()], withPin()).status).toBe(0);
  });

  it('through pkcs11-spy: one initialization, one C_Login per token, one C_Finalize, and signatures from every token', () => {
    const log = join(tempDir('spy'), 'spy.log');
    const r = runCli(
      [
        'scale',
        '--alg',
        'rsa2048',
        '--key-label',
        'lab-rsa',
        '--slots',
        `${slotOf['lab-A']},${slotOf['lab-B']}`,
        '--tokens',
        '2',
        '--signatures-per-token',
        '5',
        '--warmup',
        '0',
        '--out',
        out,
        '--module',
        SPY_MODULE,
      ],
      { ...hsm.spyEnv(log), HSM_BENCH_PIN: TEST_PIN },
    );
    expect(r.status).toBe(0);
    // The spy logs each process that loads it from its banner on: first the probe (its own process, which loads
    // the module twice to learn whether loads share one instance, and never logs in or signs), then the run.
    const [probe, calls] = readFileSync(log, 'utf8')
      .split(/^\*+ OpenSC PKCS#11 spy \*+$/m)
      .slice(1);
    expect(probe!.match(/^\d+: C_\w+$/gm)).toEqual(['0: C_GetFunctionList', '1: C_Initialize', '2: C_GetInfo', '3: C_GetSlotList', '4: C_GetSlotList', '5: C_GetFunctionList', '6: C_Initialize']);
    const count = (fn: string) => (calls!.match(new RegExp(`^\\d+: ${fn}$`, 'gm')) ?? []).length;
    // Workers load the module again and call C_Initialize to learn whether the load is an instance of its own:
    // on a shared instance only the main thread's call initializes it.
    const initializeResults = [...calls!.matchAll(/^\d+: C_Initialize$[\s\S]*?^Returned:\s+\d+ (\w+)/gm)].map((m) => m[1]);
    expect(initializeResults.filter((rv) => rv === 'CKR_OK')).toHaveLength(1);
    expect(initializeResults.filter((rv) => rv !== 'CKR_OK').every((rv) => rv === 'CKR_CRYPTOKI_ALREADY_INITIALIZED')).toBe(true);
    expect(count('C_Login')).toBe(2);
    expect(count('C_Finalize')).toBe(1);
    // Ten measured, and one trial per token before the run.
    expect(count('C_Sign')).toBe(12);
    // The spy itself logs the PIN it sees; hsm-bench's own output and files never contain it.
    expect(r.stdout + r.stderr).not.toContain(TEST_PIN);
  });

  it('names the token, the mechanism and what the token offers when a mechanism is missing', () => {
    // SoftHSM2 offers only the mechanisms listed here: RSA key generation and PSS, no PKCS#1 v1.5 signing.
    const limited = new ExternalSoftHsm('slots.mechanisms = CKM_RSA_PKCS_KEY_PAIR_GEN,CKM_SHA256_RSA_PKCS_PSS,CKM_RSA_PKCS_PSS\n');
    limited.initToken('lim-A');
    limited.generateKey('lim-A', 'rsa:2048', 'lim-rsa');
    const r = runCli(['scale', '--alg', 'rsa2048', '--key-label', 'lim-rsa', '--tokens', '1', '--module', limited.module], { ...limited.env, HSM_BENCH_PIN: TEST_PIN });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/token 'lim-A' .* supports neither CKM_SHA256_RSA_PKCS or CKM_RSA_PKCS/);
    expect(r.stderr).toMatch(/hint: token 'lim-A' .* offers: .*CKM_SHA256_RSA_PKCS_PSS/);
  });

  it('creates an extractable key, imports one KEK share everywhere, clones the key, signs with every clone, deletes only that label', () => {
    const env = { ...withPin(), HSM_BENCH_KEK_PASSPHRASE: 'a long test passphrase' };
    const share = join(tempDir('kek'), 'lab.share');
    const sel = ['--token-label', 'lab-', ...moduleArgs()];
    expect(runCli(['keys', 'create', '--alg', 'p256', '--label', 'lab-clone', '--extractable', '--slots', slotOf['lab-C']!, ...moduleArgs()], env).status).toBe(0);
    expect(runCli(['keys', 'kek', 'create', '--file', share], env).status).toBe(0);
    expect(existsSync(share)).toBe(true);
    const imported = runCli(['keys', 'kek', 'import', '--file', share, ...sel], env);
    expect(imported.status).toBe(0);
    expect(imported.stdout.match(/imported KEK 'hsm-bench-kek'/g)).toHaveLength(3);
    const wrongPassphrase = runCli(['keys', 'kek', 'import', '--file', share, ...sel], { ...env, HSM_BENCH_KEK_PASSPHRASE: 'not the passphrase' });
    expect(wrongPassphrase.status).toBe(3);
    expect(wrongPassphrase.stderr).toMatch(/wrong passphrase/);

    const cloned = runCli(['keys', 'clone', '--label', 'lab-clone', '--from', slotOf['lab-C']!, '--to', 'all', ...sel], env);
    expect(cloned.status).toBe(0);
    expect(cloned.stdout.match(/its signature verifies against the source's public key/g)).toHaveLength(2);

    const run = runCli(['scale', '--alg', 'p256', '--key-label', 'lab-clone', '--tokens', '3', '--signatures-per-token', '20', '--json', '--out', out, ...sel], env);
    expect(run.status).toBe(0);
    expect((JSON.parse(run.stdout) as RunResult).configurations[0]!.operationsVerified).toBe(60);

    const refused = runCli(['keys', 'delete', '--label', 'lab-clone', ...sel], env);
    expect(refused.status).toBe(2);
    const deleted = runCli(['keys', 'delete', '--label', 'lab-clone', '--yes', ...sel], env);
    expect(deleted.status).toBe(0);
    expect(deleted.stdout.match(/^deleted (private|public) key 'lab-clone'/gm)).toHaveLength(6);
    const after: Listing = JSON.parse(runCli(['list', '--keys', '--json', ...sel], env).stdout);
    expect(after.slots.flatMap((s) => s.keys!.map((k) => k.label)).sort()).toEqual(['lab-ec', 'lab-rsa', 'lab-rsa']);
  });

  it('refuses to clone a non-extractable key before the target sees the PIN; --to all needs a selection', () => {
    expect(runCli(['keys', 'create', '--alg', 'p256', '--label', 'lab-fixed', '--slots', slotOf['lab-A']!, ...moduleArgs()], withPin()).status).toBe(0);
    const log = join(tempDir('clone-spy'), 'spy.log');
    const r = runCli(['keys', 'clone', '--label', 'lab-fixed', '--from', slotOf['lab-A']!, '--to', slotOf['lab-C']!, '--token-label', 'lab-', '--module', SPY_MODULE], {
      ...hsm.spyEnv(log),
      HSM_BENCH_PIN: TEST_PIN,
    });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/key 'lab-fixed' on token 'lab-A' .* was created non-extractable and cannot be wrapped/);
    // The source alone was logged in to.
    expect(readFileSync(log, 'utf8').match(/^\d+: C_Login$/gm)).toHaveLength(1);
    const all = runCli(['keys', 'clone', '--label', 'lab-rsa', '--from', slotOf['lab-A']!, '--to', 'all', ...moduleArgs()], withPin());
    expect(all.status).toBe(2);
    expect(all.stderr).toMatch(/--to all needs the tokens to clone to selected/);
  });

  it('closes every session it opened before C_Finalize, in a burn-in stopped by SIGTERM and in its resume (through pkcs11-spy)', async () => {
    // sc-hsm-embedded's C_Finalize never returns while a session is open: a stopped run must not rely on it.
    const dir = tempDir('finalize-sessions');
    const stopLog = join(dir, 'stop.log');
    const stopped = await runCliAndSignal(
      [
        'burn-in',
        '--alg',
        'rsa2048',
        '--key-label',
        'lab-rsa',
        '--slots',
        `${slotOf['lab-A']},${slotOf['lab-B']}`,
        '--tokens',
        '2',
        '--signatures',
        '200000',
        '--verify',
        'none',
        '--out',
        dir,
        '--module',
        SPY_MODULE,
      ],
      { ...hsm.spyEnv(stopLog), HSM_BENCH_PIN: TEST_PIN },
      /records in/,
      'SIGTERM',
      300,
    );
    expect(stopped.status, stopped.stderr).toBe(130);
    expect(sessionsOpenAtFinalize(readFileSync(stopLog, 'utf8'))).toEqual([]);
    const resumeLog = join(dir, 'resume.log');
    const run = readdirSync(dir).find((f) => f.includes('burnin'))!;
    const resumed = await runCliAndSignal(['burn-in', '--resume', join(dir, run)], { ...hsm.spyEnv(resumeLog), HSM_BENCH_PIN: TEST_PIN }, /records in/, 'SIGTERM', 300);
    expect(resumed.status, resumed.stderr).toBe(130);
    expect(sessionsOpenAtFinalize(readFileSync(resumeLog, 'utf8'))).toEqual([]);
  }, 60_000);
});

/** The sessions a pkcs11-spy log shows open when C_Finalize is called ('no finalize' if it never is). */
function sessionsOpenAtFinalize(log: string): string[] {
  const open = new Map<string, string>();
  let sawFinalize = false;
  // Each call is a block: "N: C_Name", then its [in] and [out] arguments.
  for (const block of log.split(/\n(?=\d+: C_)/)) {
    const name = /^\d+: (C_\w+)/.exec(block)?.[1];
    const slot = /\[in\] slotID = (0x[0-9a-f]+)/.exec(block)?.[1];
    const session = /\[(?:in|out)\] (?:\*phSession|hSession) = (0x[0-9a-f]+)/.exec(block)?.[1];
    if (name === 'C_Finalize') {
      sawFinalize = true;
      break;
    }
    if (name === 'C_OpenSession' && /Returned:\s+0 CKR_OK/.test(block)) open.set(session!, slot!);
    if (name === 'C_CloseSession') open.delete(session!);
    if (name === 'C_CloseAllSessions') {
      for (const [handle, of] of open) if (of === slot) open.delete(handle);
    }
  }
  return sawFinalize ? [...open.keys()] : ['no finalize'];
}
