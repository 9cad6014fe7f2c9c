import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRecords } from '../src/result/records-file.js';
import { type CallRecord } from '../src/model/record.js';
import type { RunResult } from '../src/model/run-result.js';
import { descendantsOf, isRunning, killTree, runCli, runCliAndAct, runCliAndSignal, runCliWithSteps, runDirOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';
import { planDigest } from '../src/result/checkpoint.js';

const workspace = tempDir('resume-ws');
const env = { HSM_BENCH_WORKSPACE: workspace };

async function recordsOf(dir: string): Promise<CallRecord[]> {
  const all: CallRecord[] = [];
  for await (const r of readRecords(join(dir, 'records', 'burn-in.rec'))) all.push(r);
  return all;
}
const readJson = (dir: string, file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));

/**
 * A burn-in of 3000 calls at 500/s (a schedule: it cannot end before it is stopped, however fast the machine),
 * stopped by SIGTERM after it started: resumable, its checkpoint written last.
 */
async function stoppedBurnIn(extraEnv: Record<string, string> = env, args: string[] = ['--alg', 'p256', '--tokens', '2']): Promise<string> {
  const out = tempDir('resume');
  const r = await runCliAndSignal(['burn-in', ...args, '--rate', '500', '--signatures', '3000', '--verify', 'none', '--out', out], extraEnv, /records in/, 'SIGTERM', 1200);
  expect(r.status).toBe(130);
  return runDirOf(r);
}

/**
 * A burn-in (1 token, 100/s) paused 0.8 s (SIGSTOP: a host stall) just after a checkpoint of its window, and killed
 * outright once its records after the pause reached the disk (every second), before its next checkpoint (every 10 s): the
 * pause is in its records, and its host stall in no checkpoint.
 */
async function killedAfterRecordsBeforeCheckpoint(name: string): Promise<{ dir: string }> {
  const out = tempDir(name);
  let firstCheckpoint = '';
  let pausedAtMs = 0;
  let resumedAtMs = 0;
  const pause = (child: ChildProcess) => {
    pausedAtMs = Date.now();
    for (const pid of [child.pid!, ...descendantsOf(child.pid!)]) process.kill(pid, 'SIGSTOP');
    setTimeout(() => {
      for (const pid of [child.pid!, ...descendantsOf(child.pid!)]) process.kill(pid, 'SIGCONT');
      resumedAtMs = Date.now();
    }, 800);
  };
  const records = (dir: string) => join(dir, 'records', 'burn-in.rec');
  const killed = await runCliWithSteps(env, ['burn-in', '--alg', 'p256', '--tokens', '1', '--rate', '100', '--signatures', '3000', '--verify', 'none', '--out', out], out, [
    {
      when: (dir, stderr) => {
        if (!/records in/.test(stderr)) return false;
        firstCheckpoint = readJson(dir, 'checkpoint.json').updatedAt;
        return true;
      },
      act: () => {},
    },
    // Paused just after a checkpoint of the window (one every 10 s)...
    { when: (dir) => readJson(dir, 'checkpoint.json').updatedAt !== firstCheckpoint, act: pause },
    // ...and killed once its records after the pause reached the disk, before the next checkpoint. A flush a whole
    // interval (a second) after the pause: the one due during it comes at once, with only the calls made before.
    { when: (dir) => resumedAtMs > 0 && statSync(records(dir)).mtimeMs > resumedAtMs + 1100, act: killTree },
  ]);
  expect(killed.status).toBe(null);
  // The test's premise: the checkpoint on disk was written before the pause.
  expect(Date.parse(readJson(killed.dir, 'checkpoint.json').updatedAt)).toBeLessThan(pausedAtMs);
  return killed;
}

/** Resume trusts neither the records nor the checkpoint alone, explains what it refuses, and offers the way on. */
describe('burn-in --resume', () => {
  it('refuses records fewer than the checkpoint counted on disk (a 0-byte file), and goes on with --accept-lost-records, saying so in run.json', async () => {
    const dir = await stoppedBurnIn();
    const counted = readJson(dir, 'checkpoint.json').progress.records;
    expect(counted).toBeGreaterThan(0);
    truncateSync(join(dir, 'records', 'burn-in.rec'), 0);
    // report does not take the cut file for a shorter night either: the missing records are said and counted lost.
    const report = runCli(['report', dir, '--format', 'md'], env);
    expect(report.status).toBe(0);
    expect(report.stderr).toMatch(new RegExp(`the checkpoint says ${counted} records were on disk, and records/burn-in.rec holds 0: ${counted} records are missing from its end`));
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(new RegExp(`${counted} more were made whose outcome died`));
    const refused = runCli(['burn-in', '--resume', dir], env);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`holds 0 records; the checkpoint of \\S+ had counted ${counted} on disk, so ${counted} are missing`));
    expect(refused.stderr).toMatch(/resume with --accept-lost-records/);
    // Nothing was signed or changed by the refusal.
    expect(readFileSync(join(dir, 'records', 'burn-in.rec'), 'utf8')).toBe('');
    const accepted = runCli(['burn-in', '--resume', dir, '--accept-lost-records'], env);
    expect(accepted.status).toBe(0);
    expect(accepted.stderr).toMatch(/going on from them \(--accept-lost-records\)/);
    const run: RunResult = readJson(dir, 'run.json');
    expect(run.configurations[0]!.operationsOk + run.configurations[0]!.operationsFailed).toBe(3000);
    expect(run.burnIn!.lostRecords).toEqual([{ at: expect.any(String), checkpointRecords: counted, recordsOnDisk: 0 }]);
    // Nothing was left to continue from: the summary and the report say the plan ran again from zero.
    const restartedFromZero = new RegExp(`ecords lost: at \\S+ a resume found 0 records where the checkpoint had counted ${counted} on disk; continued from 0 records: the run restarted from zero`);
    expect(accepted.stdout).toMatch(restartedFromZero);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(restartedFromZero);
    expect(runCli(['report', dir, '--format', 'md']).status).toBe(0);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(restartedFromZero);
    const records = await recordsOf(dir);
    expect(records).toHaveLength(3000);
    expect(Math.min(...records.map((r) => r.sequence))).toBe(0);
  });

  it('--accept-lost-records and --pin-corrected apply only to --resume: exit 2', () => {
    for (const flag of ['--accept-lost-records', '--pin-corrected']) {
      const r = runCli(['burn-in', '--alg', 'p256', '--signatures', '10', flag, '--out', tempDir('resume-only')], env);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${flag} only applies with --resume`));
    }
  });

  it('refuses a checkpoint whose plan was edited (a larger target): exit 2, nothing signed', async () => {
    const dir = await stoppedBurnIn();
    const path = join(dir, 'checkpoint.json');
    const checkpoint = readJson(dir, 'checkpoint.json');
    writeFileSync(path, JSON.stringify({ ...checkpoint, plan: { ...checkpoint.plan, signatures: 9000 } }, null, 2));
    const before = readFileSync(join(dir, 'records', 'burn-in.rec'), 'utf8');
    const r = runCli(['burn-in', '--resume', dir], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/is not the plan this burn-in started with \(the digest kept in run.json\)/);
    expect(readFileSync(join(dir, 'records', 'burn-in.rec'), 'utf8')).toBe(before);
    // Its digest rewritten to match does not help: run.json keeps the one the run started with.
    const edited = { ...checkpoint, plan: { ...checkpoint.plan, signatures: 9000 } };
    writeFileSync(path, JSON.stringify({ ...edited, planDigest: planDigest(edited) }, null, 2));
    expect(runCli(['burn-in', '--resume', dir], env).status).toBe(2);
    // Put back as written, it resumes.
    writeFileSync(path, JSON.stringify(checkpoint, null, 2));
    expect(runCli(['burn-in', '--resume', dir], env).status).toBe(0);
  });

  it('takes over a lock whose process is gone though its PID now belongs to another process', async () => {
    const out = tempDir('stale-lock');
    let burnInPids: number[] = [];
    const killed = await runCliAndAct(['burn-in', '--alg', 'p256', '--tokens', '1', '--rate', '500', '--signatures', '3000', '--verify', 'none', '--out', out], env, /records in/, 1000, (child) => {
      burnInPids = descendantsOf(child.pid!);
      killTree(child);
    });
    expect(killed.status).toBe(null);
    // Killed means gone (a zombie at most), as after a crash long ago.
    while (burnInPids.some((pid) => isRunning(pid) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')))) await new Promise((r) => setTimeout(r, 50));
    const dir = join(out, readdirSync(out)[0]!);
    // The PID in the lock is reused: another process (not hsm-bench) runs under it now.
    const other = spawn('sleep', ['60']);
    try {
      const lock = join(dir, 'lock');
      writeFileSync(lock, readFileSync(lock, 'utf8').replace(/^\d+/, String(other.pid)));
      const r = runCli(['burn-in', '--resume', dir], env);
      expect(r.stderr).not.toMatch(/in use by another hsm-bench/);
      expect(r.status).toBe(0);
    } finally {
      other.kill();
    }
  });

  it('a run whose every token refused the PIN before its --duration is not finished: it says what was not run, and resumes with --pin-corrected', async () => {
    const hsm = new ExternalSoftHsm();
    for (const label of ['ea', 'eb']) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'ek');
    }
    const module = buildFaultyModule();
    const clean = { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000' };
    // After 600 signatures every token acts as re-plugged with another PIN: both refuse it, long before 4 s.
    const args = ['burn-in', '--module', module, '--alg', 'p256', '--key-label', 'ek', '--tokens', '2', '--duration', '4s', '--verify', 'none', '--out', tempDir('ended-early')];
    const junit = join(tempDir('ended-early-junit'), 'junit.xml');
    const r = runCli([...args, '--junit', junit], { ...clean, FAULTY_PIN_CHANGE_AFTER: '600' });
    expect(r.status).toBe(4);
    // Planned and not measured whole: an error in JUnit, never a plain failure of a whole run.
    expect(readFileSync(junit, 'utf8')).toMatch(/<error message="measured only in part: every token ended before the stop rule, [\d.]+ s of the plan not run \(resume it with --resume\); /);
    const dir = runDirOf(r);
    expect(r.stdout).toContain(`ended early: `);
    expect(r.stdout).toMatch(/ended early: [\d.]+ s of the plan not run \(every token ended before it\); resume with hsm-bench burn-in --resume \S+ \(--pin-corrected once the PIN is fixed\)/);
    expect(r.stdout).toContain(`--resume ${dir} `);
    const run: RunResult = readJson(dir, 'run.json');
    expect(run.interrupted).toBe(false);
    expect(run.burnIn!.endedEarly).toEqual({ signingLeftS: expect.any(Number), operationsLeft: null, pinRefusedTokens: [0, 1] });
    expect(run.burnIn!.endedEarly!.signingLeftS).toBeCloseTo(4 - run.configurations[0]!.durationS, 2);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/Ended early: [\d.]+ s of the plan not run/);
    expect(readJson(dir, 'checkpoint.json').finished).toBe(false);
    // `report` takes the run.json written at its end as whole: nothing recounted, nothing marked killed.
    const report = runCli(['report', dir, '--format', 'md']);
    expect(report.status).toBe(0);
    expect(report.stderr).not.toMatch(/partial run/);
    // Resumable: the refused PIN is not presented on its own (exit 3, not "nothing to resume")…
    const unsaid = runCli(['burn-in', '--resume', dir], clean);
    expect(unsaid.status).toBe(3);
    expect(unsaid.stderr).toMatch(/resume with --pin-corrected/);
    // … and with the PIN fixed, the rest of the plan runs: finished, once.
    const corrected = runCli(['burn-in', '--resume', dir, '--pin-corrected', '--json'], clean);
    expect(corrected.status).toBe(4); // the 2 failed signatures of the first segment stay failed
    const resumed: RunResult = JSON.parse(corrected.stdout);
    expect(resumed.burnIn!.endedEarly).toBeUndefined();
    expect(resumed.burnIn!.segments).toHaveLength(2);
    expect(resumed.configurations[0]!.durationS).toBeGreaterThanOrEqual(4);
    expect(readJson(dir, 'checkpoint.json').finished).toBe(true);
    const again = runCli(['burn-in', '--resume', dir], clean);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/has finished; there is nothing to resume/);
  });

  it('a token that refused the PIN does not make the run unresumable: --pin-corrected presents the PIN given now, once; without it none is presented', async () => {
    const hsm = new ExternalSoftHsm();
    hsm.initToken('pr');
    hsm.generateKey('pr', 'EC:prime256v1', 'rk');
    const args = ['--module', SPY_MODULE, '--alg', 'p256', '--key-label', 'rk', '--tokens', '1'];
    const spyLog = join(tempDir('pin-spy'), 'spy.log');
    const spied = (pin: string) => ({ ...hsm.spyEnv(spyLog), HSM_BENCH_PIN: pin });
    const logins = () => (readFileSync(spyLog, 'utf8').match(/^\d+: C_Login$/gm) ?? []).length;
    const dir = await stoppedBurnIn(spied(TEST_PIN), args);
    // The resume is given a wrong PIN: the token refuses it, and the checkpoint remembers.
    writeFileSync(spyLog, '');
    const wrong = runCli(['burn-in', '--resume', dir], spied('999999'));
    expect(wrong.status).toBe(3);
    expect(logins()).toBe(1);
    expect(readJson(dir, 'checkpoint.json').pinRefused).toEqual([0]);
    // With the right PIN but no word from the user, no PIN reaches the token.
    writeFileSync(spyLog, '');
    const unsaid = runCli(['burn-in', '--resume', dir], spied(TEST_PIN));
    expect(unsaid.status).toBe(3);
    expect(unsaid.stderr).toMatch(/the PIN was refused by token 'pr'.* during the run being resumed; hsm-bench does not present a refused PIN again on its own/);
    expect(unsaid.stderr).toMatch(/resume with --pin-corrected/);
    expect(logins()).toBe(0);
    // The user says the PIN was corrected: it is presented once, accepted, and the run finishes.
    writeFileSync(spyLog, '');
    const corrected = runCli(['burn-in', '--resume', dir, '--pin-corrected'], spied(TEST_PIN));
    expect(corrected.status).toBe(0);
    expect(logins()).toBe(1);
    expect(readJson(dir, 'checkpoint.json')).toMatchObject({ pinRefused: [], finished: true });
    expect(corrected.stdout + corrected.stderr).not.toContain(TEST_PIN);
  });
});

describe('burn-in --resume keeps what the harness saw of itself in earlier segments', () => {
  it('a segment killed with SIGKILL keeps the host stall it had when its last checkpoint was written', async () => {
    const out = tempDir('resume-host-stall-killed');
    let resumedAtMs = 0;
    const killed = await runCliWithSteps(env, ['burn-in', '--alg', 'p256', '--tokens', '1', '--rate', '100', '--signatures', '3000', '--verify', 'none', '--out', out], out, [
      {
        when: (_dir, stderr) => /records in/.test(stderr),
        act: (child) =>
          setTimeout(() => {
            for (const pid of [child.pid!, ...descendantsOf(child.pid!)]) process.kill(pid, 'SIGSTOP');
            setTimeout(() => {
              for (const pid of [child.pid!, ...descendantsOf(child.pid!)]) process.kill(pid, 'SIGCONT');
              resumedAtMs = Date.now();
            }, 800);
          }, 1000),
      },
      // A checkpoint written after the stall (one every 10 s), then the burn-in and its supervisor killed at once.
      {
        when: (dir) => resumedAtMs > 0 && Date.parse(readJson(dir, 'checkpoint.json').updatedAt) > resumedAtMs + 100,
        act: killTree,
      },
    ]);
    expect(killed.status).toBe(null);
    const resumed = runCli(['burn-in', '--resume', killed.dir], env);
    expect(resumed.status, resumed.stderr).toBe(0);
    const c = (readJson(killed.dir, 'run.json') as RunResult).configurations[0]!;
    expect(
      c.stalls!.episodes.some((e) => e.durationS >= 0.4 && e.hostStallS >= 0.4),
      JSON.stringify(c.stalls),
    ).toBe(true);
  }, 120_000);

  it("a segment killed after its records but before its next checkpoint: a stall in between is not the token's, its host share not known", async () => {
    const killed = await killedAfterRecordsBeforeCheckpoint('resume-host-stall-lost');
    const resumed = runCli(['burn-in', '--resume', killed.dir], env);
    expect(resumed.status, resumed.stderr).toBe(0);
    const c = (readJson(killed.dir, 'run.json') as RunResult).configurations[0]!;
    // The pause (a host stall the killed segment never saved) is not the token's: its host share is said not known.
    expect(
      c.stalls!.episodes.some((e) => e.durationS >= 0.4 && e.hostStallNotKnownS! >= 0.4),
      JSON.stringify(c.stalls),
    ).toBe(true);
    expect(c.harnessNotKnown!.length, JSON.stringify(c.harnessNotKnown)).toBe(1);
    expect(resumed.stdout).toMatch(/: the token or the host; for [\d.]+ \S+ of it the host's share is not known \(the process was killed before it saved it\)/);
    expect(resumed.stdout).toMatch(/cpu during the run: .*; it covers the window but [\d.]+ m?s of it \([\d.]+ m?s at [\d.]+ s\): the process was killed before it saved them/);
  }, 120_000);

  it("report of such a killed burn-in, never resumed: the stall after its last checkpoint is not blamed on the token, the checkpoint's host facts are kept", async () => {
    const killed = await killedAfterRecordsBeforeCheckpoint('report-host-stall-lost');
    const r = runCli(['report', killed.dir, '--format', 'md,json'], env);
    expect(r.status, r.stderr).toBe(0);
    const c = (readJson(killed.dir, 'run.json') as RunResult).configurations[0]!;
    expect(c.partial).toBe('killed');
    // As a resume would say it: the pause lies in the stretch the last checkpoint's facts do not reach.
    expect(
      c.stalls!.episodes.some((e) => e.durationS >= 0.4 && e.hostStallNotKnownS! >= 0.4),
      JSON.stringify(c.stalls),
    ).toBe(true);
    expect(c.harnessNotKnown!.length, JSON.stringify(c.harnessNotKnown)).toBe(1);
    // What the checkpoint saved is known: the host's stalls up to it (and the CPU).
    expect(c.stalls!.host, JSON.stringify(c.stalls)).toBeDefined();
    expect(c.cpu).toBeDefined();
    const md = readFileSync(join(killed.dir, 'report.md'), 'utf8');
    expect(md).toMatch(/: the token or the host; for [\d.]+ \S+ of it the host's share is not known \(the process was killed before it saved it\)/);
  }, 120_000);

  it("a host stall of the first segment (the process paused by SIGSTOP) keeps its host share, and the run's host stalls, event-loop stall and CPU time add up over the segments", async () => {
    const out = tempDir('resume-host-stall');
    // 100/s for 8 s of schedule: paused 0.8 s a second into the window, stopped (SIGTERM) a second after it resumed.
    const first = await runCliAndAct(['burn-in', '--alg', 'p256', '--tokens', '1', '--rate', '100', '--signatures', '800', '--verify', 'none', '--out', out], env, /records in/, 1000, (child) => {
      for (const pid of [child.pid!, ...descendantsOf(child.pid!)]) process.kill(pid, 'SIGSTOP');
      setTimeout(() => {
        for (const pid of [child.pid!, ...descendantsOf(child.pid!)]) process.kill(pid, 'SIGCONT');
        setTimeout(() => child.kill('SIGTERM'), 1000);
      }, 800);
    });
    expect(first.status, first.stderr).toBe(130);
    const dir = runDirOf(first);
    const before = (readJson(dir, 'run.json') as RunResult).configurations[0]!;
    const stall = before.stalls!.episodes.find((e) => e.hostStallS >= 0.4);
    expect(stall, JSON.stringify(before.stalls)).toBeDefined();
    const resumed = runCli(['burn-in', '--resume', dir], env);
    expect(resumed.status, resumed.stderr).toBe(0);
    const after = (readJson(dir, 'run.json') as RunResult).configurations[0]!;
    expect(after.operationsOk + after.operationsFailed).toBe(800);
    expect(after.stalls!.episodes.find((e) => e.atS === stall!.atS)).toMatchObject({ durationS: stall!.durationS, hostStallS: stall!.hostStallS });
    expect(after.stalls!.host!.count).toBeGreaterThanOrEqual(before.stalls!.host!.count);
    expect(after.stalls!.host!.totalMs).toBeGreaterThanOrEqual(before.stalls!.host!.totalMs);
    expect(after.stalls!.host!.longestMs).toBeGreaterThanOrEqual(before.stalls!.host!.longestMs);
    expect(after.openLoop!.hostStallMs).toBeGreaterThanOrEqual(before.openLoop!.hostStallMs!);
    expect(after.maxEventLoopStallMs).toBeGreaterThanOrEqual(before.maxEventLoopStallMs!);
    // The host's CPU time of both windows (each its length × the host's CPUs), not of the last alone.
    const run = readJson(dir, 'run.json') as RunResult;
    expect(after.cpu!.hostCpuS).toBeGreaterThan(0.8 * after.durationS * run.host.cpuCount);
    expect(after.cpu!.processUserS + after.cpu!.processSystemS).toBeGreaterThan(before.cpu!.processUserS + before.cpu!.processSystemS);
  }, 120_000);
});
