import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRecords } from '../src/result/records-file.js';
import { type CallRecord } from '../src/model/record.js';
import type { RunResult } from '../src/model/run-result.js';
import { BIN, killTree, runCli, runCliAndAct, runCliAndSignal, runCliAsync, runCliWithSteps, runDirOf, sizeOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

const workspace = tempDir('burnin-ws');
const env = { HSM_BENCH_WORKSPACE: workspace };

async function recordsOf(dir: string): Promise<CallRecord[]> {
  const all: CallRecord[] = [];
  for await (const r of readRecords(join(dir, 'records', 'burn-in.rec'))) all.push(r);
  return all;
}
const readRun = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));

/** Every (token, thread) numbers its signatures 0, 1, 2 … with no repeat and no hole. */
function expectContiguousSequences(records: CallRecord[]): void {
  const byWorker = new Map<string, number[]>();
  for (const r of records) {
    const key = `${r.token}/${r.thread}`;
    if (!byWorker.has(key)) byWorker.set(key, []);
    byWorker.get(key)!.push(r.sequence);
  }
  for (const sequences of byWorker.values()) expect(sequences.sort((a, b) => a - b)).toEqual(sequences.map((_, i) => i));
}

describe('hsm-bench burn-in', () => {
  it('signs a total on N tokens and its counts match its records', async () => {
    const out = tempDir('burnin');
    const r = runCli(['burn-in', '--alg', 'p256', '--tokens', '2', '--signatures', '3000', '--out', out], env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/signatures performed \(successful\): 3000; failed: 0; checked on the host: 3000/);
    expect(r.stdout).toMatch(/verdict: PASSED/);
    const dir = runDirOf(r);
    const run = readRun(dir);
    const c = run.configurations[0]!;
    const records = await recordsOf(dir);
    expect(records).toHaveLength(3000);
    expect(c.operationsOk).toBe(3000);
    for (const t of c.perToken) expect(records.filter((x) => x.token === t.token)).toHaveLength(t.operationsOk);
    expectContiguousSequences(records);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'))).toMatchObject({ finished: true, progress: { signatures: 3000 } });
    expect(readdirSync(join(dir, 'charts'))).toContain('throughput-over-time.png');
    expect(existsSync(join(dir, 'report.md'))).toBe(true);
  });

  it('after kill -9, --resume continues the same run: no signature counted twice, totals equal the records', async () => {
    const out = tempDir('burnin-kill');
    // kill -9 of the burn-in and of its supervisor at once (a power cut): records may be cut mid-line.
    // Once records are on disk (a first block written), however slow a loaded host is.
    const killed = await runCliWithSteps(env, ['burn-in', '--alg', 'p256', '--tokens', '2', '--signatures', '100000', '--verify', '0.01', '--out', out], out, [
      { when: (d) => sizeOf(join(d, 'records', 'burn-in.rec')) > 1024, act: killTree },
    ]);
    expect(killed.status).toBe(null);
    const dir = killed.dir;
    const before = (await recordsOf(dir)).length;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(100000);
    // The report of the killed run counts what is on disk and says it is partial.
    const report = runCli(['report', dir, '--format', 'md,json'], env);
    expect(report.status).toBe(0);
    expect(report.stderr).toMatch(/is a partial run/);
    const partial = readRun(dir);
    expect(partial.interrupted).toBe(true);
    expect(partial.configurations[0]!.operationsOk + partial.configurations[0]!.operationsFailed).toBe(before);
    // It stopped at its last record, not when its run.json was last written (as it began).
    expect(Date.parse(partial.finishedAt) - Date.parse(partial.startedAt)).toBeGreaterThanOrEqual(Math.floor(partial.configurations[0]!.durationS * 1000));
    expect(partial.configurations[0]!.durationS).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(
      /The run was killed: `report` counted its calls again from the records on disk, and these results are partial\.[\s\S]*All \d+ signatures succeeded/,
    );
    const resumed = runCli(['burn-in', '--resume', dir, '--json'], env);
    expect(resumed.status).toBe(0);
    expect(resumed.stderr).toMatch(/resuming .*: \d+ records on disk/);
    const run: RunResult = JSON.parse(resumed.stdout);
    const records = await recordsOf(dir);
    expect(records).toHaveLength(100000);
    expect(run.configurations[0]!.operationsOk + run.configurations[0]!.operationsFailed).toBe(100000);
    expect(run.burnIn!.segments).toHaveLength(2);
    expectContiguousSequences(records);
    const again = runCli(['burn-in', '--resume', dir], env);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/has finished; there is nothing to resume/);
  });

  it('on SIGINT finishes, writes a complete report and exits 130', async () => {
    const out = tempDir('burnin-int');
    const r = await runCliAndSignal(['burn-in', '--alg', 'p256', '--tokens', '1', '--duration', '60s', '--verify', 'none', '--out', out], env, /records in/, 'SIGINT', 1200);
    expect(r.status).toBe(130);
    expect(r.stdout).toMatch(/verdict: INTERRUPTED/);
    const dir = runDirOf(r);
    const run = readRun(dir);
    expect(run.interrupted).toBe(true);
    expect(await recordsOf(dir)).toHaveLength(run.configurations[0]!.operationsOk);
    expect(existsSync(join(dir, 'report.md'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).finished).toBe(false);
  });

  it('records a token whose store is deleted mid-run as failing, marks it lost, and the other token finishes', async () => {
    const hsm = new ExternalSoftHsm();
    for (const label of ['gone', 'stays']) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'bk');
    }
    const out = tempDir('burnin-gone');
    const tokensDir = join(hsm.dir, 'tokens');
    const goneDir = readdirSync(tokensDir).find((d) => readFileSync(join(tokensDir, d, 'token.object')).includes('gone'))!;
    const junit = join(out, 'junit.xml');
    const run = runCliAndAct(
      ['burn-in', '--module', hsm.module, '--alg', 'p256', '--key-label', 'bk', '--tokens', '2', '--duration', '4s', '--give-up-after', '1s', '--verify', 'none', '--out', out, '--junit', junit],
      { ...hsm.env, HSM_BENCH_PIN: TEST_PIN },
      /records in/,
      1000,
      () => rmSync(join(tokensDir, goneDir), { recursive: true }),
    );
    const r = await run;
    expect(r.status).toBe(4);
    const result = readRun(runDirOf(r));
    const [gone, stays] = ['gone', 'stays'].map((l) => result.configurations[0]!.perToken.find((t) => t.label === l)!);
    expect(gone!.operationsFailed).toBeGreaterThan(0);
    expect(result.configurations[0]!.workerIssues.map((i) => [result.tokens[i.token]!.label, i.message])).toEqual([
      ['gone', expect.stringMatching(/^lost after failing for \d+\.\d s \(--give-up-after\)$/)],
    ]);
    expect(stays!.operationsFailed).toBe(0);
    const records = await recordsOf(runDirOf(r));
    const lastOfStays = Math.max(...records.filter((x) => x.token === stays!.token).map((x) => x.startOffsetUs));
    expect(lastOfStays).toBeGreaterThan(3_000_000);
    expect(records.filter((x) => x.token === gone!.token && x.status !== 'CKR_OK').length).toBe(gone!.operationsFailed);
    // Every output names the lost token by its slot, in words.
    const lost = new RegExp(`token slot ${gone!.slotId}: gone: lost after failing for`);
    expect(readFileSync(join(runDirOf(r), 'report.md'), 'utf8')).toMatch(lost);
    expect(readFileSync(junit, 'utf8')).toMatch(lost);
    expect(readFileSync(junit, 'utf8')).not.toContain('[object Object]');
  });

  it('retries after CKR_DEVICE_ERROR injected at the PKCS#11 layer, and records each one', async () => {
    const hsm = new ExternalSoftHsm();
    hsm.initToken('flaky');
    hsm.generateKey('flaky', 'EC:prime256v1', 'fk');
    const out = tempDir('burnin-faulty');
    const r = runCli(['burn-in', '--module', buildFaultyModule(), '--alg', 'p256', '--key-label', 'fk', '--tokens', '1', '--signatures', '2000', '--out', out], {
      ...hsm.env,
      HSM_BENCH_PIN: TEST_PIN,
      FAULTY_PKCS11_MODULE: hsm.module,
      FAULTY_EVERY: '200',
    });
    expect(r.status).toBe(4);
    const c = readRun(runDirOf(r)).configurations[0]!;
    // --signatures counts successful signatures: the failed ones are signed again.
    expect(c.failuresByCkr).toEqual({ CKR_DEVICE_ERROR: 10 });
    expect(c.operationsOk).toBe(2000);
    expect(c.workerIssues).toEqual([]);
    const records = await recordsOf(runDirOf(r));
    // Every 200th C_Sign fails; the first was the trial call before the run.
    expect(records.filter((x) => x.status === 'CKR_DEVICE_ERROR').map((x) => x.sequence)).toEqual([198, 398, 598, 798, 998, 1198, 1398, 1598, 1798, 1998]);
    expect(c.perToken[0]!.outages).toBe(10);
  });

  it('a PIN refused mid-run is presented once per token, never again by any thread, and stops that token', async () => {
    const hsm = new ExternalSoftHsm();
    for (const label of ['pa', 'pb']) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'pk');
    }
    const logins = join(tempDir('pin-change'), 'logins.log');
    const out = tempDir('burnin-pin');
    const r = runCli(
      ['burn-in', '--module', buildFaultyModule(), '--alg', 'p256', '--key-label', 'pk', '--tokens', '2', '--threads-per-token', '4', '--duration', '20s', '--verify', 'none', '--out', out],
      {
        ...hsm.env,
        HSM_BENCH_PIN: TEST_PIN,
        FAULTY_PKCS11_MODULE: hsm.module,
        FAULTY_EVERY: '1000000000',
        FAULTY_PIN_CHANGE_AFTER: '400',
        FAULTY_LOGIN_LOG: logins,
      },
    );
    expect(r.status).toBe(4);
    // 2 tokens × 4 threads reconnect, but the refused PIN is presented once per token.
    expect(readFileSync(logins, 'utf8').trim().split('\n')).toHaveLength(2);
    const run = readRun(runDirOf(r));
    const c = run.configurations[0]!;
    expect(c.workerIssues).toHaveLength(8);
    expect(c.workerIssues.every((i) => /PIN is not presented again/.test(i.message))).toBe(true);
    // Every worker gave up long before the 20 s deadline.
    expect(c.durationS).toBeLessThan(15);
    for (const t of c.perToken) expect(t.outageS).toBeGreaterThanOrEqual(0);
    const checkpoint = JSON.parse(readFileSync(join(runDirOf(r), 'checkpoint.json'), 'utf8'));
    expect(checkpoint.pinRefused).toEqual([0, 1]);
  });

  it('resumes from another folder a run started with relative paths, in the same workspace and run directory', async () => {
    const start = tempDir('relative-start');
    const elsewhere = tempDir('relative-elsewhere');
    const args = ['burn-in', '--alg', 'p256', '--tokens', '1', '--signatures', '50000', '--verify', 'none', '--out', 'out', '--workspace', 'ws'];
    const killed = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: start, env: { ...process.env, CI: 'true' } });
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
        if (/records in/.test(err)) setTimeout(() => killTree(child), 800);
      });
      child.on('close', resolve);
    });
    expect(killed).toBeNull();
    const dir = join(start, 'out', readdirSync(join(start, 'out'))[0]!);
    const r = spawnSync(process.execPath, [BIN, 'burn-in', '--resume', dir], { cwd: elsewhere, env: { ...process.env, CI: 'true' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(readdirSync(elsewhere)).toEqual([]);
    // Still the one token the run created: the resume made no workspace or token of its own.
    expect(readdirSync(join(start, 'ws', 'tokens'))).toHaveLength(1);
  });

  it('two first runs at once on a new workspace: one signs, the other is refused, and no key is made twice', async () => {
    const ws = tempDir('race-ws');
    const args = (out: string) => ['burn-in', '--alg', 'p256', '--tokens', '1', '--signatures', '200', '--out', out];
    const [a, b] = await Promise.all([tempDir('race-a'), tempDir('race-b')].map((out) => runCliAsync(args(out), { HSM_BENCH_WORKSPACE: ws })));
    const statuses = [a!.status, b!.status].sort();
    expect(statuses).toEqual([0, 3]);
    expect((a!.status === 3 ? a! : b!).stderr).toMatch(/workspace .* is in use by another hsm-bench \(process \d+\)/);
    const again = runCli(args(tempDir('race-c')), { HSM_BENCH_WORKSPACE: ws });
    expect(again.status).toBe(0);
  });

  it('ends at its --duration even while a token is failing and far from --give-up-after', async () => {
    const hsm = new ExternalSoftHsm();
    for (const label of ['dies', 'lives']) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'dk');
    }
    const tokensDir = join(hsm.dir, 'tokens');
    const dies = readdirSync(tokensDir).find((d) => readFileSync(join(tokensDir, d, 'token.object')).includes('dies'))!;
    const started = Date.now();
    const r = await runCliAndAct(
      ['burn-in', '--module', hsm.module, '--alg', 'p256', '--key-label', 'dk', '--tokens', '2', '--duration', '3s', '--give-up-after', '10m', '--verify', 'none', '--out', tempDir('burnin-deadline')],
      { ...hsm.env, HSM_BENCH_PIN: TEST_PIN },
      /records in/,
      800,
      () => rmSync(join(tokensDir, dies), { recursive: true }),
    );
    expect(r.status).toBe(4);
    // Far below the 10 minutes a failing token would otherwise be waited for; the bar leaves a loaded machine room.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(readRun(runDirOf(r)).configurations[0]!.durationS).toBeLessThan(10);
  });

  it.each(['native', 'threads'])(
    "counts a failing token's waits and reconnects to the deadline in the window, its outage and its rate, and calls none of it verification (%s engine)",
    async (engine) => {
      // One token whose store is deleted: one call fails, then every reconnect does, to the 4 s deadline. No call
      // records that time; the run must count it all the same.
      const hsm = new ExternalSoftHsm();
      hsm.initToken('goes');
      hsm.generateKey('goes', 'EC:prime256v1', 'gk');
      const tokensDir = join(hsm.dir, 'tokens');
      const r = await runCliAndAct(
        [
          'burn-in',
          '--module',
          hsm.module,
          '--alg',
          'p256',
          '--key-label',
          'gk',
          '--tokens',
          '1',
          '--duration',
          '4s',
          '--give-up-after',
          '10m',
          '--verify',
          'none',
          '--out',
          tempDir('burnin-reconnects'),
        ],
        { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, ...(engine === 'threads' ? { HSM_BENCH_ENGINE: 'threads' } : {}) },
        /records in/,
        500,
        () => rmSync(join(tokensDir, readdirSync(tokensDir)[0]!), { recursive: true }),
      );
      expect(r.status).toBe(4);
      const run = readRun(runDirOf(r));
      expect(run.harness.engine).toBe(engine);
      const c = run.configurations[0]!;
      const t = c.perToken[0]!;
      expect(t.operationsFailed).toBeGreaterThan(0);
      // The window runs to the deadline, not to the failed call's end.
      expect(c.durationS).toBeGreaterThanOrEqual(3.9);
      expect(c.durationS).toBeLessThan(4.5);
      // One outage, to the end: the failed call and the reconnects after it.
      expect(t.outages).toBe(1);
      expect(t.outageS).toBeCloseTo(t.stillFailingS!, 2);
      expect(t.outageS).toBeGreaterThan(1);
      // Its rate over the whole window, as the configuration's.
      expect(t.throughputPerS).toBeCloseTo(t.operationsOk / c.durationS, 0);
      expect(c.throughputPerS).toBe(t.throughputPerS);
      expect(r.stdout).toMatch(new RegExp(`measured time ${c.durationS.toFixed(1)} s`));
      expect(r.stdout).toMatch(/│ goes\s+│ \d+\s+│ \d+\s+│ \d+\s+│ [^│]+│ [^│]+│ 1 \([\d.]+ s\)/);
      expect(readFileSync(join(runDirOf(r), 'report.md'), 'utf8')).toMatch(/\| 1 \([\d.]+ s\) \| failing for [\d.]+ s \|/);
      // Nothing was checked (--verify none), and the reconnects were no lag of the pipeline after the window.
      expect(c.verificationLagS).toBeLessThan(1);
      expect(r.stdout).not.toMatch(/verification/i);
    },
  );
});
