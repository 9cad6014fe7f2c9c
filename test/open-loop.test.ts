import { type CallRecord } from '../src/model/record.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../src/result/records-file.js';
import type { RunResult } from '../src/model/run-result.js';
import { killTree, runCli, runCliAndAct, runDirOf, tempDir, descendantsOf } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

/**
 * The scheduler's properties on tokens that hold each signature 20 ms inside the module (a wrapper that sleeps, so
 * the host's CPU is not the limit), K at a time per token. One session on such a token serves about 48/s. These
 * are properties of a correct open-loop scheduler, with margins for a loaded 2-core host, not timing bars.
 */
const DELAY_MS = 20;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('open loop on slow tokens', () => {
  const hsm = new ExternalSoftHsm();
  let faulty: string;
  beforeAll(() => {
    for (const label of ['slow-1', 'slow-2']) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'hsm-bench-p256');
    }
    faulty = buildFaultyModule();
  });
  const env = (parallel: number, extra: Record<string, string> = {}) => ({
    ...hsm.env,
    HSM_BENCH_PIN: TEST_PIN,
    FAULTY_PKCS11_MODULE: hsm.module,
    FAULTY_EVERY: '1000000000',
    FAULTY_SIGN_DELAY_MS: String(DELAY_MS),
    FAULTY_TOKEN_PARALLEL: String(parallel),
    ...extra,
  });
  const scale = (args: string[], e: Record<string, string>) =>
    runCli(['scale', '--module', faulty, '--alg', 'p256', '--token-label', 'slow-', '--warmup', '4', '--verify', 'none', '--out', tempDir('open-loop'), ...args], e);

  for (const engine of ['native', 'threads'] as const) {
    it(`below capacity the schedule is kept and response ≈ service; above it response grows with the run while service stays flat (${engine})`, async () => {
      const r = scale(['--tokens', '1', '--rate', '25,100', '--duration', '3s'], env(1, engine === 'threads' ? { HSM_BENCH_ENGINE: 'threads' } : {}));
      expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
      expect(r.status).toBe(0);
      const dir = runDirOf(r);
      const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunResult;
      expect(run.harness.engine).toBe(engine);
      const [below, above] = run.configurations;
      // Below capacity (25/s against ~48/s): the rate asked for, within 2 %; the typical call waits for nothing. A
      // loaded host delays some starts (a late call is one whose session was still busy), so the properties are
      // those of the median call and of most calls, with the schedule's interval (40 ms) as the scale.
      expect(below!.openLoop!.keptUp).toBe(true);
      expect(Math.abs(below!.openLoop!.achievedRatePerS - 25) / 25).toBeLessThan(0.02);
      expect(below!.openLoop!.responseMs!.p50 - below!.latencyMs!.p50).toBeLessThan(20);
      expect(below!.openLoop!.late.sharePct).toBeLessThan(50);
      // Above capacity (100/s): the token serves what it can, the rest of the window's calls never start.
      const o = above!.openLoop!;
      expect(o.keptUp).toBe(false);
      expect(o.achievedRatePerS).toBeGreaterThan(30);
      expect(o.achievedRatePerS).toBeLessThan(60);
      expect(o.notStarted).toBeGreaterThan(50);
      expect(o.late.sharePct).toBeGreaterThan(80);
      const records: CallRecord[] = [];
      for await (const x of readRecords(join(dir, above!.recordsFile))) records.push(x);
      expect(records.every((x) => x.startLagUs !== null && x.late !== null)).toBe(true);
      // Each record names its configuration as its file does: records put together still say where each call belongs.
      expect(new Set(records.map((x) => x.configuration))).toEqual(new Set([basename(above!.recordsFile, '.rec')]));
      const third = Math.floor(records.length / 3);
      const [first, last] = [records.slice(0, third), records.slice(-third)];
      const responseMs = (xs: CallRecord[]) => median(xs.map((x) => (x.startLagUs! + x.latencyUs) / 1000));
      const serviceMs = (xs: CallRecord[]) => median(xs.map((x) => x.latencyUs / 1000));
      // The queue builds: a call at the end waited about a second longer than one at the start…
      expect(responseMs(last) - responseMs(first)).toBeGreaterThan(500);
      // …while the token's own time per call did not change: the service time hides the queue.
      expect(serviceMs(last)).toBeLessThan(serviceMs(first) * 1.5);
      expect(serviceMs(last)).toBeLessThan(DELAY_MS * 2);
    }, 120_000);
  }

  it('a sessions sweep on a token that serves 2 calls at once puts the knee past one session, where calls start to queue', () => {
    const r = scale(['--tokens', '1', '--threads-per-token', '1,2,4', '--duration', '2s', '--json'], env(2));
    expect(r.status).toBe(0);
    const run = JSON.parse(r.stdout) as RunResult;
    expect(run.configurations.map((c) => c.threadsPerToken)).toEqual([1, 2, 4]);
    // The knee is the fewest sessions within 90 % of the best throughput. One session can serve only half of what
    // two at once do, however loaded the host; whether 2 or 4 sessions measure best is the host's noise.
    const [one, two, four] = run.configurations;
    const best = Math.max(...run.configurations.map((c) => c.throughputPerS));
    expect(one!.throughputPerS).toBeLessThan(best * 0.75);
    const knee = run.configurations.find((c) => c.throughputPerS >= best * 0.9)!.threadsPerToken;
    expect(run.saturation).toEqual([expect.objectContaining({ tokens: 1, kneeThreadsPerToken: knee, bestThroughputPerS: best })]);
    expect([2, 4]).toContain(knee);
    // Past two sessions the extra ones only queue inside the token: by Little's law the mean time per call doubles
    // (the token's queue is not fair, so the median need not move).
    expect(four!.latencyMs!.mean).toBeGreaterThan(two!.latencyMs!.mean * 1.5);
    expect(existsSync(join(runDirOf(r), 'charts', 'sessions.png'))).toBe(true);
  }, 120_000);

  it('a burn-in at a target rate, killed with SIGKILL and resumed, makes exactly the calls scheduled, each recorded against its intended start', async () => {
    const out = tempDir('open-burn-in');
    const args = ['burn-in', '--module', faulty, '--alg', 'p256', '--token-label', 'slow-', '--tokens', '2', '--rate', '40', '--signatures', '200', '--verify', 'none', '--out', out];
    // The burn-in and its supervisor killed at once.
    const killed = await runCliAndAct(args, env(1), /records in/, 2500, killTree);
    expect(killed.status).toBe(null);
    const dir = join(out, readdirSync(out)[0]!);
    const resumed = runCli(['burn-in', '--resume', dir], env(1));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/at 40\/s \(open loop\): achieved [\d.]+\/s; response/);
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunResult;
    const c = run.configurations[0]!;
    // 200 calls in all over the two segments: a call scheduled is made once, whatever the kill.
    expect(c.operationsOk + c.operationsFailed).toBe(200);
    expect(c.openLoop).toMatchObject({ targetRatePerS: 40, keptUp: true, notStarted: 0 });
    expect(run.capacity).toBeUndefined();
    const records: CallRecord[] = [];
    for await (const x of readRecords(join(dir, c.recordsFile))) records.push(x);
    expect(records).toHaveLength(200);
    expect(new Set(records.map((x) => x.configuration))).toEqual(new Set(['tokens-2-rate-40']));
    // Below capacity (40/s on two tokens of ~48/s each), the typical call starts on time: the median lag is the host's
    // wake-up, well under the schedule's interval (25 ms) however loaded the host is.
    expect(median(records.map((x) => x.startLagUs!))).toBeLessThan(12_500);
  }, 120_000);

  it('--slo-p99 turns a rate sweep into a capacity per token count: printed first, drawn, gated with --min-capacity', () => {
    const junit = join(tempDir('junit'), 'junit.xml');
    // --max-window 2s: windows of 2 s, as short as a test affords (rates missed on too few calls are then not judged).
    const args = ['--tokens', '1,2', '--rate-per-token', '20,40,80', '--slo-p99', '60ms', '--duration', '2s', '--max-window', '2s', '--junit', junit];
    const r = scale([...args, '--min-capacity', '2:70'], env(1));
    const dir = runDirOf(r);
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunResult;
    // ~48/s per token: 80/s per token is more than a token serves, loaded host or not (40/s, near what it serves, may
    // fall behind on a loaded one). Whether 20 and 40/s meet a 60 ms p99 depends on the host's stalls; the capacity is
    // whatever the rates judged say, and the gate agrees.
    expect(run.capacity!.map((c) => c.tokens)).toEqual([1, 2]);
    for (const c of run.capacity!) expect([40 * c.tokens, 80 * c.tokens]).toContain(c.fellBehindAtPerS);
    for (const c of run.capacity!) {
      const held = c.rates.filter((x) => x.held).map((x) => x.targetRatePerS);
      const upTo = c.rates.findIndex((x) => !x.held);
      expect(c.capacityPerS).toBe(upTo === 0 ? null : c.rates[(upTo < 0 ? c.rates.length : upTo) - 1]!.targetRatePerS);
      expect(held).not.toContain(c.fellBehindAtPerS);
    }
    // The gate agrees with the capacity: held up to 70/s passes; else it fails, or (missed only on thin samples) is
    // inconclusive, which does not fail the run.
    const twoTokens = run.capacity!.find((c) => c.tokens === 2)!.capacityPerS;
    const gate = /min-capacity.*2 tokens.*≥ 70\/s.*$/m.exec(r.stdout)![0];
    if (twoTokens !== null && twoTokens >= 70) {
      expect(r.status).toBe(0);
      expect(gate).toMatch(/│ pass +│$/);
    } else {
      expect([0, 5]).toContain(r.status);
      expect(gate).toMatch(r.status === 5 ? /│ FAIL +│$/ : /│ inconclusive/);
    }
    // The answer comes before the table it rests on.
    const answer = r.stdout.indexOf('Capacity within p99 ≤ 60.0 ms:');
    expect(answer).toBeGreaterThan(-1);
    expect(answer).toBeLessThan(r.stdout.indexOf('Resp p99'));
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(report.indexOf('## Sizing answer')).toBeLessThan(report.indexOf('## Throughput'));
    // 80/s, or 40/s on a loaded host (above): the answer names the rate it fell behind at.
    expect(report).toContain(`1 token fell behind at ${run.capacity!.find((c) => c.tokens === 1)!.fellBehindAtPerS}/s`);
    expect(existsSync(join(dir, 'charts', 'response-vs-rate.png'))).toBe(true);
    expect(readFileSync(junit, 'utf8')).toMatch(/name="p256\.tokens-2\.min-capacity"/);
    expect(runCli(['records', join(dir, 'records', 'tokens-2-rate-160.rec'), '--csv']).stdout.split('\n')[1]).toMatch(/,\d+,(true|false)$/);
    // The same sweep judged against a capacity it does not reach: the gate fails (exit 5), the results stay.
    const failed = scale([...args, '--min-capacity', '2:100'], env(1));
    expect(failed.status).toBe(5);
    expect(failed.stdout).toMatch(/min-capacity.*2 tokens.*≥ 100\/s.*FAIL/);
  }, 180_000);
});

describe('open loop on a host that stalls', () => {
  // The whole process paused (SIGSTOP) about 1.2 s into a 3 s window for 0.8 s (the sessions waiting, or inside a
  // call on tokens that take 15 ms of each 20 ms interval), and 2.4 s after it for 1.5 s (across the deadline, however
  // long the set-up after 'running' took on a loaded host: the calls due then never start).
  const cases = [
    { name: 'mid-window, sessions waiting', afterMs: 1_200, pauseMs: 800, slowMs: 0 },
    { name: 'across the deadline', afterMs: 2_400, pauseMs: 1_500, slowMs: 0 },
    { name: 'mid-window, on tokens busy 75 % of the time', afterMs: 1_200, pauseMs: 800, slowMs: 15 },
  ];
  const hsm = new ExternalSoftHsm();
  let faulty: string;
  beforeAll(() => {
    hsm.initToken('stall');
    hsm.generateKey('stall', 'EC:prime256v1', 'hsm-bench-p256');
    faulty = buildFaultyModule();
  });
  for (const c of cases) {
    it(`${c.name}: the stall is seen, and the capacity gate is never failed by it`, async () => {
      const out = tempDir('host-stall');
      const r = await runCliAndAct(
        ['scale', '--module', faulty, '--alg', 'p256', '--tokens', '1', '--rate', '50', '--duration', '3s', '--warmup', '0', '--min-capacity', '50', '--out', out],
        { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_TOKEN_PARALLEL: '1', FAULTY_SIGN_DELAY_MS: String(c.slowMs), FAULTY_EVERY: '1000000000' },
        /1 token at 50\/s: running/,
        c.afterMs,
        (child) => {
          for (const pid of [child.pid!, ...descendantsOf(child.pid!)]) process.kill(pid, 'SIGSTOP');
          setTimeout(() => {
            for (const pid of [child.pid!, ...descendantsOf(child.pid!)]) process.kill(pid, 'SIGCONT');
          }, c.pauseMs);
        },
      );
      const run = JSON.parse(readFileSync(join(out, readdirSync(out)[0]!, 'run.json'), 'utf8')) as RunResult;
      const o = run.configurations[0]!.openLoop!;
      expect(o.hostStallMs).toBeGreaterThan(400);
      expect(o.keptUp || o.hostStalled === true || run.capacity![0]!.rates[0]!.hostStalled === true).toBe(true);
      expect(r.status, r.stdout + r.stderr).not.toBe(5);
      expect(r.stdout).toMatch(/min-capacity.*│ (pass|inconclusive)/);
    }, 60_000);
  }
});
