import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../src/model/record.js';
import type { RunResult } from '../src/model/run-result.js';
import { readRecords } from '../src/result/records-file.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { restoreStats, snapshotStats } from '../src/stats/stats-snapshot.js';
import { summarizeConfiguration } from '../src/stats/summarize.js';
import { failureOf } from '../src/model/record-status.js';
import { digestConfiguration } from '../src/report/records-digest.js';
import { killTree, runCli, runCliWithSteps, runDirOf, sizeOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

const readRun = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));

async function recordsOf(path: string): Promise<CallRecord[]> {
  const all: CallRecord[] = [];
  for await (const r of readRecords(path)) all.push(r);
  return all;
}

/** A call of token `i % 3`, some failing, some late, of two operations: every kind of thing the statistics count. */
const call = (i: number): CallRecord => ({
  configuration: 'tokens-3',
  token: i % 3,
  thread: 0,
  sequence: i,
  startOffsetUs: i * 400 + (i % 7) * 30 + (i > 3000 ? 2_000_000 : 0),
  latencyUs: 300 + ((i * 37) % 900) + (i % 500 === 0 ? 40_000 : 0),
  status: i % 97 === 0 ? 'CKR_DEVICE_ERROR' : i % 1001 === 0 ? 'CALL_TIMED_OUT' : 'CKR_OK',
  verified: i % 4 === 0 ? null : i % 211 !== 0,
  operation: i % 5 === 0 ? 'decrypt' : 'sign',
  startLagUs: i % 3 === 0 ? 10 + (i % 50) : 5,
  late: i % 3 === 0,
});

const summary = (s: ConfigurationStats) =>
  summarizeConfiguration(
    { stats: s, recordsFile: 'records/burn-in.rec', workerIssues: [] },
    ['a', 'b', 'c'].map((label) => ({ label, serial: label, slotId: '0' })),
    1,
    {
      targetRatePerS: 2500,
      calls: 6000,
      interrupted: false,
    },
  );

describe('statistics kept for a resume without records', () => {
  it('restored from their snapshot (as JSON), they are the statistics snapshotted, and go on as they would have', () => {
    const feed = (s: ConfigurationStats, from: number, to: number) => {
      for (let i = from; i < to; i++) s.add(call(i).token, call(i), failureOf(call(i)));
    };
    const whole = new ConfigurationStats(3, ['sign', 'decrypt']);
    feed(whole, 0, 3500);
    const resumed = new ConfigurationStats(3, ['sign', 'decrypt']);
    restoreStats(resumed, JSON.parse(JSON.stringify(snapshotStats(whole))));
    expect(summary(resumed)).toEqual(summary(whole));
    feed(whole, 3500, 6000);
    feed(resumed, 3500, 6000);
    expect(summary(resumed)).toEqual(summary(whole));
    expect(JSON.stringify(snapshotStats(resumed))).toBe(JSON.stringify(snapshotStats(whole)));
  });
});

describe('--records all|failures|none', () => {
  const hsm = new ExternalSoftHsm();
  let faulty = '';
  beforeAll(() => {
    hsm.initToken('kept');
    hsm.generateKey('kept', 'EC:prime256v1', 'kk');
    faulty = buildFaultyModule();
  });

  /** A scale run through pkcs11-spy over the fault module (every 50th C_Sign fails): the run and how many C_Sign it made. */
  function spiedScale(records: string) {
    const log = join(tempDir('kept-spy'), 'spy.log');
    const r = runCli(
      [
        'scale',
        '--module',
        '/usr/lib/x86_64-linux-gnu/pkcs11-spy.so',
        '--alg',
        'p256',
        '--key-label',
        'kk',
        '--tokens',
        '1',
        '--signatures-per-token',
        '600',
        '--warmup',
        '4',
        '--records',
        records,
        '--format',
        'md',
        '--out',
        tempDir('kept-out'),
      ],
      { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, PKCS11SPY: faulty, PKCS11SPY_OUTPUT: log, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '50' },
    );
    expect([0, 4]).toContain(r.status);
    const dir = runDirOf(r);
    return { dir, run: readRun(dir), signs: (readFileSync(log, 'utf8').match(/^\d+: C_Sign$/gm) ?? []).length };
  }

  for (const records of ['all', 'failures', 'none'] as const) {
    it(`${records}: run.json counts every call pkcs11-spy saw made (less the warm-up and trial), and the records keep ${records}`, async () => {
      const { dir, run, signs } = spiedScale(records);
      const c = run.configurations[0]!;
      const measured = c.operationsOk + c.operationsFailed;
      // The measured calls, the 4 warm-up calls, and one trial call before the run.
      expect(signs).toBe(measured + 4 + 1);
      expect(measured).toBe(600);
      expect(c.operationsFailed).toBeGreaterThan(5);
      const kept = await recordsOf(join(dir, c.recordsFile));
      if (records === 'all') expect(kept).toHaveLength(measured);
      if (records === 'failures') expect(kept.map((x) => x.status)).toEqual(new Array(c.operationsFailed).fill('CKR_DEVICE_ERROR'));
      if (records === 'none') expect(kept).toEqual([]);
      expect(run.plan.records).toBe(records === 'all' ? undefined : records);
      // The report is built all the same.
      expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/CKR_DEVICE_ERROR/);
    }, 60_000);
  }

  it('a bad mode is exit 2, saying which there are', () => {
    const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--records', 'some', '--out', tempDir('kept-bad')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--records must be one of all, failures, none, not 'some'/);
  });

  for (const records of ['failures', 'none'] as const) {
    it(`${records}: a burn-in killed with SIGKILL resumes exactly from its resume state; report counts the killed run from it`, async () => {
      const out = tempDir('kept-burn');
      const env = { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '50' };
      const args = ['burn-in', '--module', faulty, '--alg', 'p256', '--key-label', 'kk', '--tokens', '1', '--signatures', '100000', '--verify', 'none', '--records', records, '--out', out];
      // Killed once a checkpoint has written the state (the first is at the start, the next 10 s later).
      const killed = await runCliWithSteps(env, args, out, [
        { when: (d) => existsSync(join(d, 'resume-state.json')) && JSON.parse(readFileSync(join(d, 'resume-state.json'), 'utf8')).calls > 0, act: killTree },
      ]);
      expect(killed.status).toBeNull();
      const dir = killed.dir;
      expect(readRun(dir).interrupted).toBe(true);
      const state = JSON.parse(readFileSync(join(dir, 'resume-state.json'), 'utf8'));
      const report = runCli(['report', dir, '--format', 'md,json'], env);
      expect(report.status).toBe(0);
      expect(report.stderr).toMatch(new RegExp(`its calls counted from resume-state.json \\(its records keep ${records === 'none' ? 'no call' : 'only failures'}\\): ${state.calls}`));
      const partial = readRun(dir).configurations[0]!;
      expect(partial.operationsOk + partial.operationsFailed).toBe(state.calls);
      const resumed = runCli(['burn-in', '--resume', dir], env);
      expect(resumed.status).toBe(4);
      const c = readRun(dir).configurations[0]!;
      // Every successful signature of the target counted once; each 50th call failed and was counted once too.
      expect(c.operationsOk).toBe(100000);
      const kept = await recordsOf(join(dir, c.recordsFile));
      if (records === 'failures') {
        expect(kept).toHaveLength(c.operationsFailed);
        // Each (token, thread)'s failures once: no sequence twice.
        expect(new Set(kept.map((x) => x.sequence)).size).toBe(kept.length);
      } else expect(kept).toEqual([]);
      expect(sizeOf(join(dir, 'resume-state.json'))).toBeGreaterThan(0);
      // The interval log was cut back with the state: it holds each call counted once, and the charts are drawn from it.
      const digest = await digestConfiguration(dir, c);
      expect(digest.source).toBe('interval-log');
      expect([...digest.okPerSecondByToken.values()].flat().reduce((a, b) => a + b, 0)).toBe(100000);
    }, 180_000);
  }
});
