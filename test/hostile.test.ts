import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import type { CallRecord } from '../src/model/record.js';
import { readRecords, RecordsFileWriter } from '../src/result/records-file.js';
import { descendantsOf, killTree, runCli, runCliAsync, runCliWithSteps, sizeOf, tempDir } from './helpers/cli.js';
import { ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

// What a hostile tester found, each kept as a test: the cases come from a pass over the built CLI as a careless
// or hostile user would use it.

const readRun = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));

async function recordsIn(path: string): Promise<CallRecord[]> {
  const all: CallRecord[] = [];
  for await (const r of readRecords(path)) all.push(r);
  return all;
}

/** Writes a records file anew with `records`: an edit by hand (or by another program). */
function rewriteRecords(path: string, records: readonly CallRecord[]): void {
  const w = new RecordsFileWriter(path);
  records.forEach((r) => w.write(r));
  w.close();
}
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
  const killed = await runCliWithSteps(env, args, out, [{ when: (dir) => sizeOf(join(dir, 'records', 'burn-in.rec')) > 4096, act: killTree }]);
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
    // --strict-latency: a fast host signs the 40,000 in under 2 s, a window a throughput gate otherwise leaves open.
    const { env, dir } = await killedBurnIn(['--min-throughput', '99999999', '--strict-latency', '--junit', junit]);
    const r = runCli(['burn-in', '--resume', dir], env);
    expect(r.status).toBe(5);
    expect(r.stdout).toMatch(/verdict: FAILED: 1 check failed: min-throughput \(2 tokens\): [\d.]+\/s, expected ≥ 99999999\/s/);
    expect(r.stdout).not.toMatch(/PASSED/);
    expect(existsSync(junit)).toBe(true);
  });

  it('refuses records that were edited: a repeated line', async () => {
    const { env, dir } = await killedBurnIn();
    const records = join(dir, 'records', 'burn-in.rec');
    const lines = await recordsIn(records);
    rewriteRecords(records, [...lines, lines[lines.length - 1]!]);
    const r = runCli(['burn-in', '--resume', dir], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/a repeated or missing record/);
  });

  it('report reads edited records as resume does: repeated lines are not calls, lines taken out are lost', async () => {
    const { env, dir } = await killedBurnIn();
    const records = join(dir, 'records', 'burn-in.rec');
    const lines = await recordsIn(records);
    // 20 records repeated at the end, and 10 taken out of the middle.
    rewriteRecords(records, [...lines.slice(0, 100), ...lines.slice(110), ...lines.slice(0, 20)]);
    const r = runCli(['report', dir, '--format', 'md,json'], env);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/20 repeated record\(s\) skipped/);
    expect(r.stderr).toMatch(/10 record\(s\) missing between others/);
    const c = readRun(dir).configurations[0]!;
    expect(c.operationsOk + c.operationsFailed).toBe(lines.length - 10);
    expect(c.operationsLost).toBeGreaterThanOrEqual(10);
  });
});

describe('runs killed with SIGKILL', () => {
  it('a scale run killed between configurations reads as partial, and its report says so', async () => {
    const ws = { HSM_BENCH_WORKSPACE: tempDir('kill-scale-ws') };
    const out = tempDir('kill-scale');
    // Killed once the 2-token configuration has records on disk, however slow a loaded host is to get there.
    const killed = await runCliWithSteps(ws, ['scale', '--alg', 'p256', '--tokens', '1,2', '--duration', '2s', '--verify', 'none', '--out', out], out, [
      { when: (dir) => sizeOf(join(dir, 'records', 'tokens-2.rec')) > 1024, act: killTree },
    ]);
    expect(killed.status).toBeNull();
    const dir = killed.dir;
    expect(readRun(dir).interrupted).toBe(true);
    const report = runCli(['report', dir, '--format', 'md'], ws);
    expect(report.status).toBe(0);
    expect(report.stderr).toMatch(/is a partial run/);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/The run was killed: `report` counted its calls again from the records on disk, and these results are partial/);
  });

  it("a scale run killed in a configuration: its host's stalls died with it, so a stall in it is not blamed on the token", async () => {
    const ws = { HSM_BENCH_WORKSPACE: tempDir('kill-scale-stall-ws') };
    const out = tempDir('kill-scale-stall');
    const records = (dir: string) => join(dir, 'records', 'tokens-1-rate-100.rec');
    let resumedAtMs = 0;
    // Paused 0.8 s (SIGSTOP: a host stall) once it signs, killed once its records after the pause reached the disk.
    const pause = (child: ChildProcess) => {
      for (const pid of [child.pid!, ...descendantsOf(child.pid!)]) process.kill(pid, 'SIGSTOP');
      setTimeout(() => {
        for (const pid of [child.pid!, ...descendantsOf(child.pid!)]) process.kill(pid, 'SIGCONT');
        resumedAtMs = Date.now();
      }, 800);
    };
    const killed = await runCliWithSteps(ws, ['scale', '--alg', 'p256', '--tokens', '1', '--rate', '100', '--duration', '60s', '--verify', 'none', '--out', out], out, [
      { when: (dir) => sizeOf(records(dir)) > 1024, act: pause },
      { when: (dir) => resumedAtMs > 0 && statSync(records(dir)).mtimeMs > resumedAtMs + 100, act: killTree },
    ]);
    expect(killed.status).toBeNull();
    const report = runCli(['report', killed.dir, '--format', 'md,json'], ws);
    expect(report.status, report.stderr).toBe(0);
    const c = readRun(killed.dir).configurations[0]!;
    expect(c.partial).toBe('killed');
    // Nothing of the harness was saved before the kill: the whole window is not known.
    expect(c.harnessNotKnown, JSON.stringify(c.harnessNotKnown)).toEqual([{ atS: 0, durationS: expect.any(Number) }]);
    expect(
      c.stalls!.episodes.some((e) => e.durationS >= 0.4 && e.hostStallNotKnownS! >= 0.4),
      JSON.stringify(c.stalls),
    ).toBe(true);
    const md = readFileSync(join(killed.dir, 'report.md'), 'utf8');
    expect(md).toMatch(/: the token or the host; for [\d.]+ \S+ of it the host's share is not known/);
    expect(md).toMatch(/its main thread's waits and its CPU use covers none of the window: the process was killed before it saved them/);
  });
});

describe('secrets and modules', () => {
  it('a PIN typed into another flag is never printed back', () => {
    const secret = '77123456';
    // A text flag holding the PIN is refused as a plan value (exit 2, nothing opened); a slot is a number the module
    // chose, so it is looked for and not found (exit 3). Neither message quotes the value.
    for (const [args, status] of [
      [['--token-label', secret], 2],
      [['--serials', secret], 2],
      [['--slots', secret], 3],
    ] as const) {
      const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--module', '/usr/lib/softhsm/libsofthsm2.so', ...args], { HSM_BENCH_PIN: secret, SOFTHSM2_CONF: new ExternalSoftHsm().conf });
      expect(r.status).toBe(status);
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

describe('odd things where a lock, a run directory or a module belongs', () => {
  const scale = ['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '5'];

  it('a folder where the lock file goes is named and left alone (it failed on removing it: ERR_FS_EISDIR)', () => {
    const ws = tempDir('lock-folder');
    mkdirSync(join(ws, 'lock'), { recursive: true });
    writeFileSync(join(ws, 'lock', 'kept'), '');
    const r = runCli([...scale, '--out', tempDir('lock-folder-out')], { HSM_BENCH_WORKSPACE: ws });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/lock is a folder, not a lock file hsm-bench wrote\nhint: remove .*lock/);
    expect(existsSync(join(ws, 'lock', 'kept'))).toBe(true);
  });

  it('a lock that names only a PID holds while that PID runs hsm-bench; PID 1 or another program holds nothing', () => {
    const other = spawn('sleep', ['60']);
    // A process whose command line names hsm-bench, as an older hsm-bench's would.
    const bench = spawn('bash', ['-c', 'exec -a hsm-bench sleep 60']);
    try {
      for (const pid of [1, other.pid!]) {
        const ws = tempDir('lock-pid');
        writeFileSync(join(ws, 'lock'), `${pid}\n`);
        const r = runCli([...scale, '--out', tempDir('lock-pid-out')], { HSM_BENCH_WORKSPACE: ws });
        expect(r.stderr).not.toMatch(/in use by another hsm-bench/);
        expect(r.status, r.stderr).toBe(0);
      }
      const ws = tempDir('lock-bench');
      // Until exec has run, the command line is bash's.
      while (!readFileSync(`/proc/${bench.pid}/cmdline`, 'utf8').startsWith('hsm-bench')) execFileSync('sleep', ['0.05']);
      writeFileSync(join(ws, 'lock'), `${bench.pid}\n`);
      const r = runCli([...scale, '--out', tempDir('lock-bench-out')], { HSM_BENCH_WORKSPACE: ws });
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toContain(`is in use by another hsm-bench (process ${bench.pid})`);
    } finally {
      other.kill();
      bench.kill();
    }
  });

  it('--resume given a file or a missing folder: exit 2 saying what to give, and no folder is made', () => {
    const dir = tempDir('resume-file');
    writeFileSync(join(dir, 'run.json'), '{}');
    const file = runCli(['burn-in', '--resume', join(dir, 'run.json')]);
    expect(file.status, file.stderr).toBe(2);
    expect(file.stderr).toMatch(/--resume .*run\.json is a file, not a run directory\nhint: give the folder that holds the burn-in's checkpoint\.json, e\.g\. --resume /);
    const missing = runCli(['burn-in', '--resume', join(dir, 'nothing')]);
    expect(missing.status, missing.stderr).toBe(2);
    expect(missing.stderr).toMatch(/--resume .*nothing does not exist/);
    expect(existsSync(join(dir, 'nothing'))).toBe(false);
  });

  it('--module given a FIFO is refused before it is loaded (loading it waited for a writer until the time bound)', () => {
    const dir = tempDir('module-fifo');
    execFileSync('mkfifo', [join(dir, 'module.so')]);
    for (const args of [
      ['list', '--module', join(dir, 'module.so')],
      [...scale, '--module', 'module.so'],
    ]) {
      const r = runCli(args, {}, dir);
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/PKCS#11 module .*module\.so is a pipe \(FIFO\), not a library file/);
    }
  });
});
