import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../src/result/records-file.js';
import { type CallRecord } from '../src/model/record.js';
import type { RunResult } from '../src/model/run-result.js';
import { runCli, runCliAndAct, runCliAndSignal, runDirOf, tempDir } from './helpers/cli.js';

async function recordsOf(dir: string, file: string): Promise<CallRecord[]> {
  const all: CallRecord[] = [];
  for await (const r of readRecords(join(dir, file))) all.push(r);
  return all;
}

const readRun = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));

describe('hsm-bench scale on embedded SoftHSM2 tokens', () => {
  const workspace = tempDir('ws');
  const out = tempDir('out');
  const env = { HSM_BENCH_WORKSPACE: workspace };
  let rsa: { dir: string; run: RunResult; stdout: string; stderr: string; status: number | null };

  beforeAll(() => {
    const r = runCli(['scale', '--alg', 'rsa2048', '--tokens', '1,2', '--signatures-per-token', '150', '--warmup', '5', '--out', out], env);
    const dir = runDirOf(r);
    rsa = { ...r, dir, run: readRun(dir) };
  });

  it('provisions the tokens it needs, then reuses them', () => {
    expect(rsa.status).toBe(0);
    expect(rsa.stderr).toContain('creating embedded SoftHSM2 token hsm-bench-01');
    expect(rsa.stderr).toContain('creating embedded SoftHSM2 token hsm-bench-02');
    expect(readdirSync(join(workspace, 'tokens'))).toHaveLength(2);
    const again = runCli(['scale', '--alg', 'rsa2048', '--tokens', '2', '--signatures-per-token', '20', '--out', out, '--json'], env);
    expect(again.status).toBe(0);
    expect(again.stderr).not.toContain('creating');
    expect(again.stderr).not.toContain('generating');
    const run: RunResult = JSON.parse(again.stdout);
    expect(run.tokens.map((t) => t.serial)).toEqual(rsa.run.tokens.map((t) => t.serial));
    expect(readdirSync(join(workspace, 'tokens'))).toHaveLength(2);
  });

  it('writes the report, the summary and the charts beside run.json', () => {
    const files = readdirSync(rsa.dir).concat(readdirSync(join(rsa.dir, 'charts')).map((f) => `charts/${f}`));
    expect(files.sort()).toEqual([
      'charts',
      'charts/efficiency.png',
      'charts/efficiency.svg',
      'charts/latency.png',
      'charts/latency.svg',
      'charts/per-token.png',
      'charts/per-token.svg',
      'charts/throughput-over-time.png',
      'charts/throughput-over-time.svg',
      'charts/throughput.png',
      'charts/throughput.svg',
      'histograms',
      'records',
      'report.html',
      'report.md',
      'run.json',
      'summary.csv',
    ]);
    const md = readFileSync(join(rsa.dir, 'report.md'), 'utf8');
    expect(md).toContain('embedded SoftHSM2 tokens made by hsm-bench');
    // Every report starts with the command that reproduces the run.
    expect(md).toMatch(/^Reproduce with[^\n]*\n\n```sh\nhsm-bench scale --alg rsa2048 /m);
  });

  it('says in the header that the backend is the embedded SoftHSM2', () => {
    expect(rsa.stdout).toMatch(/^backend: embedded SoftHSM2 tokens made by hsm-bench/m);
    expect(rsa.run.backend.kind).toBe('embedded-softhsm2');
    expect(rsa.run.module.manufacturer).toBe('SoftHSM');
  });

  it('signs, verifies and counts every RSA signature of every configuration', () => {
    expect(rsa.run.mechanism.name).toBe('CKM_SHA256_RSA_PKCS');
    expect(rsa.run.configurations.map((c) => [c.tokens, c.operationsOk, c.operationsFailed, c.operationsVerified])).toEqual([
      [1, 150, 0, 150],
      [2, 300, 0, 300],
    ]);
    const two = rsa.run.configurations[1]!;
    expect(two.perToken.map((t) => t.operationsOk)).toEqual([150, 150]);
    expect(two.throughputPerS).toBeCloseTo(two.operationsOk / two.durationS, 0);
    expect(two.latencyMs!.p50).toBeGreaterThan(0);
    expect(two.latencyMs!.p99).toBeGreaterThanOrEqual(two.latencyMs!.p50);
    expect(rsa.run.configurations[0]!.efficiency).toBe(1);
  });

  it('writes one record per signature, and the records agree with run.json', async () => {
    for (const c of rsa.run.configurations) {
      const records = await recordsOf(rsa.dir, c.recordsFile);
      expect(records).toHaveLength(c.operationsOk + c.operationsFailed);
      expect(records.filter((r) => r.status === 'CKR_OK' && r.verified === true)).toHaveLength(c.operationsOk);
      expect(new Set(records.map((r) => r.configuration))).toEqual(new Set([`tokens-${c.tokens}`]));
      for (const t of c.perToken) {
        const own = records.filter((r) => r.token === t.token).map((r) => r.sequence);
        expect(own).toEqual(Array.from({ length: t.operationsOk }, (_, i) => i));
      }
    }
  });

  it('makes tokens sign at the same time: signature intervals of different tokens overlap', async () => {
    const records = await recordsOf(rsa.dir, rsa.run.configurations[1]!.recordsFile);
    const [a, b] = rsa.run.tokens.map((_, i) => records.filter((r) => r.token === i));
    const overlapping = b!.filter((rb) => a!.some((ra) => ra.startOffsetUs < rb.startOffsetUs + rb.latencyUs && rb.startOffsetUs < ra.startOffsetUs + ra.latencyUs));
    // Serial signing gives no overlap at all. Parallel signing overlaps most signatures on a quiet machine and
    // fewer when the test suite loads both cores, so the bar is set far from both: a tenth.
    expect(overlapping.length).toBeGreaterThan(b!.length / 10);
  });

  it('prints a table that matches run.json', () => {
    // The terminal's table: tokens, rate, per-token spread, latency, failures, efficiency (counts are in report.md).
    const rows = rsa.stdout.split('\n').filter((l) => /^│ \d+ +│/.test(l));
    expect(rows).toHaveLength(2);
    rows.forEach((row, i) => {
      const cells = row
        .split('│')
        .map((c) => c.trim())
        .filter(Boolean);
      const c = rsa.run.configurations[i]!;
      expect(cells.slice(0, 2)).toEqual([String(c.tokens), c.throughputPerS.toFixed(c.throughputPerS >= 100 ? 0 : 1)]);
      expect(cells[5]).toBe(String(c.operationsFailed));
      expect(cells[6]).toBe(c.efficiency!.toFixed(2));
    });
  });

  it('signs with ECDSA brainpoolP256r1, hashing on the host where SoftHSM lacks CKM_ECDSA_SHA256', () => {
    const r = runCli(['scale', '--alg', 'bp256', '--tokens', '1,2', '--signatures-per-token', '100', '--json', '--out', out], env);
    expect(r.status).toBe(0);
    const run: RunResult = JSON.parse(r.stdout);
    expect(run.mechanism).toEqual({ name: 'CKM_ECDSA', hostDigest: 'sha256' });
    expect(run.configurations.map((c) => [c.operationsOk, c.operationsVerified, c.operationsFailed])).toEqual([
      [100, 100, 0],
      [200, 200, 0],
    ]);
  });

  it('signs with RSA-PSS and samples verification when asked', () => {
    const r = runCli(['scale', '--alg', 'rsa2048', '--mechanism', 'pss', '--tokens', '1', '--signatures-per-token', '100', '--verify', '0.1', '--json', '--out', out], env);
    expect(r.status).toBe(0);
    const run: RunResult = JSON.parse(r.stdout);
    expect(run.mechanism.name).toBe('CKM_SHA256_RSA_PKCS_PSS');
    expect(run.plan.verify).toMatchObject({ mode: 'sample', every: 10 });
    expect(run.configurations[0]!.operationsVerified).toBe(10);
    expect(run.configurations[0]!.operationsOk).toBe(100);
  });

  it('stops a configuration after --duration: no signature starts after it', async () => {
    const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--duration', '400ms', '--verify', 'none', '--out', out], env);
    expect(r.status).toBe(0);
    const dir = runDirOf(r);
    const c = readRun(dir).configurations[0]!;
    expect(c.operationsOk).toBeGreaterThan(0);
    expect(c.operationsVerified).toBe(0);
    const records = await recordsOf(dir, c.recordsFile);
    expect(Math.max(...records.map((x) => x.startOffsetUs))).toBeLessThan(400_000);
    // The window ends with the last signature: before the deadline or a little after it, wherever a busy machine let
    // the last call start and end.
    expect(c.durationS).toBeCloseTo(records.reduce((last, x) => Math.max(last, x.startOffsetUs + x.latencyUs), 0) / 1e6, 3);
    expect(c.durationS).toBeLessThan(5);
  });

  it('on SIGINT finishes signatures in flight, writes the results so far, and exits 130', async () => {
    const r = await runCliAndSignal(['scale', '--alg', 'p256', '--tokens', '1,2', '--duration', '60s', '--verify', 'none', '--out', out], env, /1 token: running/, 'SIGINT', 1000);
    expect(r.status).toBe(130);
    const run = readRun(runDirOf(r));
    expect(run.interrupted).toBe(true);
    expect(run.configurations.length).toBeGreaterThanOrEqual(1);
    const records = await recordsOf(runDirOf(r), run.configurations[0]!.recordsFile);
    expect(records).toHaveLength(run.configurations[0]!.operationsOk);
  });

  it('two quick SIGINTs still end with exit 130 and consistent files, never a crash', async () => {
    let measured = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await runCliAndAct(
        ['scale', '--alg', 'p256', '--tokens', '2', '--threads-per-token', '2', '--duration', '60s', '--verify', 'all', '--out', out],
        env,
        /2 tokens × 2 sessions: running/,
        800,
        (child) => {
          child.kill('SIGINT');
          setTimeout(() => child.kill('SIGINT'), 20);
        },
      );
      expect(r.status).toBe(130);
      // The first signal says what the stop waits for (two signals this close may reach the process as one).
      expect(r.stderr).toMatch(/SIGINT: stopping: waiting for .+; then the results are written \(interrupt twice more to leave at once\)/);
      const run = readRun(runDirOf(r));
      expect(run.interrupted).toBe(true);
      // On a busy machine the signals can come while the sessions open or warm up: nothing was measured then.
      const c = run.configurations[0];
      if (c === undefined) continue;
      measured++;
      expect(await recordsOf(runDirOf(r), c.recordsFile)).toHaveLength(c.operationsOk + c.operationsFailed);
    }
    expect(measured).toBeGreaterThan(0);
  });
});
