import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../src/result/records-file.js';
import { type CallRecord } from '../src/model/record.js';
import type { RunResult } from '../src/model/run-result.js';
import { runCli, runCliAndAct, runDirOf, tempDir, type CliResult } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

/**
 * A token whose C_Sign never returns (the fault module holds it forever from its 31st call) must not hang the run:
 * the session is named as hung and abandoned, the others finish, the run ends and writes its results; a Ctrl-C or
 * a SIGTERM ends it within seconds. Bounds here are generous ceilings, not speeds: the machine may be busy.
 */
const hsm = new ExternalSoftHsm();
let faulty: string;
let hungSlot: string;
const HANG_AFTER = 30;

beforeAll(() => {
  for (const label of ['ha', 'hb']) {
    hsm.initToken(label);
    hsm.generateKey(label, 'EC:prime256v1', 'hk');
  }
  faulty = buildFaultyModule();
  const listing = JSON.parse(runCli(['list', '--module', hsm.module, '--json'], hsm.env).stdout) as { slots: { slotId: string; token: { label: string } | null }[] };
  hungSlot = listing.slots.find((s) => s.token?.label === 'hb')!.slotId;
}, 120_000);

const hangEnv = (engine: string): Record<string, string> => ({
  ...hsm.env,
  HSM_BENCH_PIN: TEST_PIN,
  FAULTY_PKCS11_MODULE: hsm.module,
  FAULTY_EVERY: '1000000000',
  FAULTY_SLOT: hungSlot,
  FAULTY_SIGN_HANG_AFTER: String(HANG_AFTER),
  ...(engine === 'threads' ? { HSM_BENCH_ENGINE: 'threads' } : {}),
});

const scale = (args: string[], engine: string) => runCli(['scale', '--module', faulty, '--alg', 'p256', '--key-label', 'hk', '--token-label', 'h', ...args], hangEnv(engine));
const readRun = (r: CliResult): RunResult => JSON.parse(readFileSync(join(runDirOf(r), 'run.json'), 'utf8'));

async function recordsOf(r: CliResult, result: RunResult): Promise<CallRecord[]> {
  const all: CallRecord[] = [];
  for await (const x of readRecords(join(runDirOf(r), result.configurations[result.configurations.length - 1]!.recordsFile))) all.push(x);
  return all;
}

const hb = (result: RunResult) => result.tokens.findIndex((t) => t.label === 'hb');

describe('a call that never returns', () => {
  for (const engine of ['native', 'threads']) {
    it(`burn-in --duration: the hung session is named and abandoned, the other token signs to the deadline, the run ends (${engine})`, async () => {
      const started = Date.now();
      const r = runCli(
        [
          'burn-in',
          '--module',
          faulty,
          '--alg',
          'p256',
          '--key-label',
          'hk',
          '--token-label',
          'h',
          '--tokens',
          '2',
          '--duration',
          '4s',
          '--call-timeout',
          '1s',
          '--format',
          'md',
          '--out',
          tempDir('hang-burnin'),
        ],
        hangEnv(engine),
      );
      expect(Date.now() - started).toBeLessThan(90_000);
      expect(r.status, r.stderr).toBe(4);
      const result = readRun(r);
      expect(result.harness.engine).toBe(engine);
      expect(result.plan.callTimeoutS).toBe(1);
      const c = result.configurations[0]!;
      expect(c.hungSessions).toEqual([{ token: hb(result), thread: 0, inFlightS: expect.any(Number), boundS: 1, outcome: 'timed-out' }]);
      expect(c.failuresByCkr).toEqual({ CALL_TIMED_OUT: 1 });
      expect(c.durationS).toBeLessThan(30);
      // Named in progress, in the report, and in run.json's issues.
      const named = new RegExp(`token slot ${hungSlot}: hb: HUNG: a call did not return within 1 s \\(--call-timeout\\)`);
      expect(r.stderr).toMatch(named);
      expect(readFileSync(join(runDirOf(r), 'report.md'), 'utf8')).toMatch(named);
      // Its calls before the hang are all recorded, then the one that hung; the other token signed on to the deadline.
      const records = await recordsOf(r, result);
      const hung = records.filter((x) => x.token === hb(result));
      expect(hung.map((x) => x.sequence)).toEqual(Array.from({ length: HANG_AFTER }, (_, i) => i));
      expect(hung.map((x) => x.status)).toEqual([...Array<string>(HANG_AFTER - 1).fill('CKR_OK'), 'CALL_TIMED_OUT']);
      const other = records.filter((x) => x.token !== hb(result));
      expect(Math.max(...other.map((x) => x.startOffsetUs))).toBeGreaterThan(3_000_000);
    }, 120_000);

    it(`scale without --call-timeout: the bound comes from the token's own calls, and the run ends naming it (${engine})`, () => {
      const started = Date.now();
      const r = scale(['--tokens', '2', '--signatures-per-token', '200', '--format', 'md', '--out', tempDir('hang-scale')], engine);
      expect(Date.now() - started).toBeLessThan(90_000);
      expect(r.status, r.stderr).toBe(4);
      const c = readRun(r).configurations[0]!;
      // SoftHSM signs in about a millisecond: the bound is the floor.
      expect(c.hungSessions).toEqual([{ token: hb(readRun(r)), thread: 0, inFlightS: expect.any(Number), boundS: 10, outcome: 'timed-out' }]);
      expect(c.operationsOk).toBe(200 + HANG_AFTER - 1 - 10);
      expect(r.stderr).toMatch(new RegExp(`2 tokens: token slot ${hungSlot}: hb: HUNG: a call did not return within 10 s \\(10 × the token's slowest call, at least 10 s\\)`));
    }, 120_000);

    for (const command of ['scale', 'burn-in']) {
      it(`${command} --duration: the window ends at the deadline, not when the hung call was given up; rates are over it (${engine})`, async () => {
        // Given up 4 s into a 2 s run: the seconds spent waiting for it are not part of the measurement.
        const args = [command, '--module', faulty, '--alg', 'p256', '--key-label', 'hk', '--token-label', 'h', '--tokens', '2', '--duration', '2s', '--call-timeout', '4s'];
        const r = runCli([...args, '--format', 'md', '--out', tempDir('hang-window')], hangEnv(engine));
        expect(r.status, r.stderr).toBe(4);
        const result = readRun(r);
        const c = result.configurations[0]!;
        expect(c.hungSessions).toEqual([expect.objectContaining({ token: hb(result), outcome: 'timed-out' })]);
        const records = await recordsOf(r, result);
        const timedOut = records.find((x) => x.status === 'CALL_TIMED_OUT')!;
        const returned = records.filter((x) => x !== timedOut);
        const endUs = (x: CallRecord) => x.startOffsetUs + x.latencyUs;
        // The window: to the end of the last call that returned, or to the deadline if that came first.
        const windowEndUs = Math.max(2_000_000, ...returned.map(endUs));
        expect(c.durationS).toBe(windowEndUs / 1e6);
        expect(c.throughputPerS).toBe(Math.round((c.operationsOk / c.durationS) * 100) / 100);
        // The hung call is a failure in the second it started in; no second after the window.
        expect(c.timeSeries.failed[Math.floor(timedOut.startOffsetUs / 1e6)]).toBe(1);
        expect(c.timeSeries.ok.length).toBeLessThanOrEqual(Math.floor(c.durationS) + 1);
        expect(c.timeSeries.ok.reduce((a, b) => a + b)).toBe(c.operationsOk);
        // The hung token: rated from the window's start to when it stopped, without a success from its last to the window's end.
        const t = c.perToken.find((x) => x.token === hb(result))!;
        const own = returned.filter((x) => x.token === hb(result));
        const lastOkEndUs = Math.max(...own.filter((x) => x.status === 'CKR_OK').map(endUs));
        const activeUs = Math.max(timedOut.startOffsetUs, ...own.map(endUs));
        expect(t.throughputPerS).toBe(Math.round((t.operationsOk / (activeUs / 1e6)) * 100) / 100);
        expect(t.operationsTimedOut).toBe(1);
        expect(t.longestGapMs).toBe(Math.round(windowEndUs - lastOkEndUs) / 1000);
        expect(t.stillFailingS).toBe(Math.round((windowEndUs - timedOut.startOffsetUs) / 1000) / 1000);
      }, 120_000);
    }

    it(`scale --duration with its only token hung: the window still lasts to the deadline, the token's gap with it (${engine})`, async () => {
      const r = scale(['--token-label', 'hb', '--tokens', '1', '--duration', '2s', '--call-timeout', '4s', '--format', 'md', '--out', tempDir('hang-alone')], engine);
      expect(r.status, r.stderr).toBe(4);
      const result = readRun(r);
      const c = result.configurations[0]!;
      const records = await recordsOf(r, result);
      const lastOkEndUs = Math.max(...records.filter((x) => x.status === 'CKR_OK').map((x) => x.startOffsetUs + x.latencyUs));
      // Hung after 30 calls, given up 4 s later: measured from the barrier to the deadline.
      expect(c.durationS).toBe(2);
      expect(c.throughputPerS).toBe(Math.round((c.operationsOk / 2) * 100) / 100);
      expect(c.timeSeries.ok).toEqual([c.operationsOk, 0]);
      expect(c.perToken[0]!.longestGapMs).toBe(Math.round(2_000_000 - lastOkEndUs) / 1000);
    }, 120_000);

    it(`a hang in warm-up: the session is named and abandoned, the barrier opens for the other token, which measures its window (${engine})`, () => {
      // The trial call is the token's first signature, then 4 warm-up calls return and the 5th hangs.
      const env = { ...hangEnv(engine), FAULTY_SIGN_HANG_AFTER: '5' };
      const r = runCli(
        [
          'scale',
          '--module',
          faulty,
          '--alg',
          'p256',
          '--key-label',
          'hk',
          '--token-label',
          'h',
          '--tokens',
          '2',
          '--signatures-per-token',
          '100',
          '--warmup',
          '10',
          '--call-timeout',
          '1s',
          '--format',
          'md',
          '--out',
          tempDir('hang-warmup'),
        ],
        env,
      );
      expect(r.status, r.stderr).toBe(4);
      const result = readRun(r);
      const c = result.configurations[0]!;
      // The other token made its 100; the hung one made none, and no warm-up call is a record.
      expect(c.operationsOk).toBe(100);
      expect(c.hungSessions).toEqual([{ token: hb(result), thread: 0, inFlightS: expect.any(Number), boundS: 1, outcome: 'timed-out', stage: 'warm-up' }]);
      expect(c.perToken.find((t) => t.token === hb(result))!.operationsOk).toBe(0);
      expect(c.failuresByCkr).toEqual({});
      expect(r.stderr).toMatch(new RegExp(`token slot ${hungSlot}: hb: HUNG in warm-up: a call did not return within 1 s \\(--call-timeout\\)`));
      expect(readFileSync(join(runDirOf(r), 'report.md'), 'utf8')).toMatch(/HUNG in warm-up/);

      const burnIn = runCli(
        [
          'burn-in',
          '--module',
          faulty,
          '--alg',
          'p256',
          '--key-label',
          'hk',
          '--token-label',
          'h',
          '--tokens',
          '2',
          '--signatures',
          '300',
          '--warmup',
          '10',
          '--call-timeout',
          '1s',
          '--out',
          tempDir('hang-warmup-burnin'),
          '--json',
        ],
        env,
      );
      expect(burnIn.status, burnIn.stderr).toBe(4);
      const b: RunResult = JSON.parse(burnIn.stdout);
      expect(b.configurations[0]!.operationsOk).toBe(300);
      expect(b.configurations[0]!.hungSessions).toEqual([expect.objectContaining({ token: hb(b), stage: 'warm-up' })]);
      expect(burnIn.stdout + burnIn.stderr).not.toMatch(/PASSED/);
    }, 120_000);

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`${signal} ends a burn-in with a session stuck in C_Sign within seconds, run.json written and marked interrupted (${engine})`, async () => {
        let signalledAt = 0;
        const r = await runCliAndAct(
          [
            'burn-in',
            '--module',
            faulty,
            '--alg',
            'p256',
            '--key-label',
            'hk',
            '--token-label',
            'h',
            '--tokens',
            '2',
            '--duration',
            '10m',
            '--progress-interval',
            '1s',
            '--format',
            'md',
            '--out',
            tempDir('hang-signal'),
          ],
          hangEnv(engine),
          /elapsed/,
          1000,
          (child) => {
            signalledAt = Date.now();
            child.kill(signal);
          },
        );
        expect(Date.now() - signalledAt).toBeLessThan(40_000);
        expect(r.status, r.stderr).toBe(130);
        // The first signal says what is waited for: here the call that hangs, on its token.
        expect(r.stderr).toMatch(new RegExp(`${signal}: stopping: waiting for \\d+ calls? in flight \\(the longest for [\\d.]+ s, on token 'hb' \\(serial \\w+, slot ${hungSlot}\\);`));
        const result = readRun(r);
        expect(result.interrupted).toBe(true);
        expect(result.configurations[0]!.hungSessions).toEqual([expect.objectContaining({ token: hb(result), thread: 0 })]);
      }, 120_000);
    }
  }

  it('a third Ctrl-C leaves at once, with run.json as last written (threads)', async () => {
    let signalledAt = 0;
    const r = await runCliAndAct(
      ['burn-in', '--module', faulty, '--alg', 'p256', '--key-label', 'hk', '--token-label', 'h', '--tokens', '2', '--duration', '10m', '--progress-interval', '1s', '--out', tempDir('hang-thrice')],
      hangEnv('threads'),
      /elapsed/,
      500,
      (child) => {
        signalledAt = Date.now();
        for (const delayMs of [0, 300, 600]) setTimeout(() => child.kill('SIGINT'), delayMs);
      },
    );
    expect(Date.now() - signalledAt).toBeLessThan(20_000);
    expect(r.status).toBe(130);
    expect(r.stderr).toMatch(/SIGINT: leaving now/);
    const dirs = /records in (.+)\/records\/burn-in\.rec/.exec(r.stderr)!;
    expect(JSON.parse(readFileSync(join(dirs[1]!, 'run.json'), 'utf8')).interrupted).toBe(true);
  }, 120_000);
});

/**
 * Calls before the measured window: the trial call, the set-up's sessions, and the sessions each configuration opens
 * (or a burn-in reopens). Each is bounded like a call; a token that does not answer is named.
 */
describe('a token that does not answer before or between its calls', () => {
  const setupEnv = (engine: string, extra: Record<string, string>) => ({ ...hangEnv(engine), FAULTY_SIGN_HANG_AFTER: '-1', ...extra });

  it('a trial call that never returns: exit 3 naming the token and the trial call, not a process that hangs', () => {
    const started = Date.now();
    // hangEnv holds hb's C_Sign from its 31st call; here from its first: the trial call.
    const env = setupEnv('native', { FAULTY_SIGN_HANG_AFTER: '0' });
    const trial = runCli(['scale', '--module', faulty, '--alg', 'p256', '--key-label', 'hk', '--token-label', 'h', '--tokens', '2', '--call-timeout', '2s', '--out', tempDir('hang-trial')], env);
    expect(Date.now() - started).toBeLessThan(90_000);
    expect(trial.status, trial.stderr).toBe(3);
    expect(trial.stderr).toMatch(new RegExp(`token 'hb' \\(serial \\w+, slot ${hungSlot}\\) did not answer: the trial call before the run did not return within 2 s \\(--call-timeout\\)`));
    expect(trial.stderr).not.toMatch(/internal error|killed by/);
  }, 120_000);

  it('a token slow to give a session at set-up: exit 3 naming it and C_OpenSession; SIGTERM meanwhile ends it at once (exit 130)', async () => {
    const env = setupEnv('native', { FAULTY_OPEN_DELAY_MS: '600000' });
    const args = ['scale', '--module', faulty, '--alg', 'p256', '--key-label', 'hk', '--token-label', 'h', '--tokens', '2', '--out', tempDir('hang-open')];
    const r = runCli([...args, '--call-timeout', '2s'], env);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`token 'hb' \\(serial \\w+, slot ${hungSlot}\\) did not answer: opening a session \\(C_OpenSession\\) did not return within 2 s \\(--call-timeout\\)`));
    // Without --call-timeout the bound is a minute: long before it, the step is named, and a SIGTERM ends the command.
    let signalledAt = 0;
    const stopped = await runCliAndAct(args, env, /waiting for token 'hb' .*: opening a session \(C_OpenSession\) has not returned for 5 s \(bound 60 s\)/, 0, (child) => {
      signalledAt = Date.now();
      child.kill('SIGTERM');
    });
    expect(Date.now() - signalledAt).toBeLessThan(30_000);
    expect(stopped.status, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(/interrupted \(SIGTERM\) during the set-up \(opening a session \(C_OpenSession\) on token 'hb' .* had not returned\); nothing was measured/);
  }, 120_000);

  for (const engine of ['native', 'threads']) {
    it(`a session that does not come at the run's start: abandoned and named, the other token measures its window (${engine})`, () => {
      // The set-up opens two sessions on hb (its login's and the trial call's); the run's is the third.
      const env = setupEnv(engine, { FAULTY_OPEN_DELAY_MS: '600000', FAULTY_OPEN_DELAY_AFTER: '2' });
      const r = runCli(
        [
          'scale',
          '--module',
          faulty,
          '--alg',
          'p256',
          '--key-label',
          'hk',
          '--token-label',
          'h',
          '--tokens',
          '2',
          '--signatures-per-token',
          '100',
          '--call-timeout',
          '1s',
          '--format',
          'md',
          '--out',
          tempDir('hang-connect'),
        ],
        env,
      );
      expect(r.status, r.stderr).toBe(4);
      const result = readRun(r);
      const c = result.configurations[0]!;
      expect(c.operationsOk).toBe(100);
      expect(c.perToken.find((t) => t.token === hb(result))!.operationsOk).toBe(0);
      expect(c.hungSessions).toEqual([{ token: hb(result), thread: 0, inFlightS: expect.any(Number), boundS: 1, outcome: 'timed-out', stage: 'session' }]);
      const named = new RegExp(`token slot ${hungSlot}: hb: HUNG opening its session: C_OpenSession, C_Login or finding its key did not return within 1 s \\(--call-timeout\\)`);
      expect(r.stderr).toMatch(named);
      expect(readFileSync(join(runDirOf(r), 'report.md'), 'utf8')).toMatch(/HUNG opening its session/);
    }, 120_000);

    it(`a burn-in whose token fails, then gives no session when it reconnects: named, not "ok", the other token goes on (${engine})`, () => {
      // hb fails its 20th signature; the reconnect's C_OpenSession (its third, after the set-up's two) never comes.
      const env = setupEnv(engine, { FAULTY_EVERY: '20', FAULTY_OPEN_DELAY_MS: '600000', FAULTY_OPEN_DELAY_AFTER: '2' });
      const r = runCli(
        ['burn-in', '--module', faulty, '--alg', 'p256', '--key-label', 'hk', '--token-label', 'h', '--tokens', '2', '--duration', '4s', '--call-timeout', '1s', '--out', tempDir('hang-reconnect')],
        env,
      );
      expect(r.status, r.stderr).toBe(4);
      const result = readRun(r);
      const c = result.configurations[0]!;
      expect(c.hungSessions).toEqual([expect.objectContaining({ token: hb(result), stage: 'session', outcome: 'timed-out' })]);
      expect(c.perToken.find((t) => t.token !== hb(result))!.operationsOk).toBeGreaterThan(0);
      expect(r.stdout).toMatch(/HUNG opening its session/);
      expect(r.stdout).toMatch(/verdict: FAILED/);
    }, 120_000);
  }
});
