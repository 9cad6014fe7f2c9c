import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';
import { ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

/**
 * The harness's per-call overhead, measured before the first configuration with null calls through the engine's
 * own loop: on real SoftHSM2 tokens, through pkcs11-spy, whose log proves the null calls reach no module.
 */
const hsm = new ExternalSoftHsm();
hsm.initToken('cal');
hsm.generateKey('cal', 'EC:prime256v1', 'ck');

const PER_TOKEN = 300;
const WARMUP = 5;

function spyRun(extra: string[], env: Record<string, string> = {}) {
  const log = join(tempDir('cal-spy'), 'spy.log');
  const r = runCli(
    [
      'scale',
      '--module',
      SPY_MODULE,
      '--alg',
      'p256',
      '--key-label',
      'ck',
      '--tokens',
      '1',
      '--signatures-per-token',
      String(PER_TOKEN),
      '--warmup',
      String(WARMUP),
      '--verify',
      'none',
      '--format',
      'md',
      '--out',
      tempDir('cal-out'),
      ...extra,
    ],
    { ...hsm.spyEnv(log), HSM_BENCH_PIN: TEST_PIN, ...env },
  );
  expect(r.status, r.stderr).toBe(0);
  const dir = runDirOf(r);
  const run: RunResult = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  const calls = readFileSync(log, 'utf8');
  return { run, report: readFileSync(join(dir, 'report.md'), 'utf8'), count: (fn: string) => (calls.match(new RegExp(`^\\d+: ${fn}$`, 'gm')) ?? []).length };
}

describe('calibration of the harness', () => {
  for (const engine of ['native', 'threads']) {
    it(`${engine}: run.json and report.md state the overhead; the null calls make no PKCS#11 call (calls made = recorded + warm-up + trial)`, () => {
      const { run, report, count } = spyRun([], engine === 'threads' ? { HSM_BENCH_ENGINE: 'threads' } : {});
      const o = run.harness.callOverheadUs!;
      expect(o.engine).toBe(engine);
      // Tens of thousands of null calls in 0.1 s on any machine: each is a period of the loop alone.
      expect(o.calls).toBeGreaterThan(1000);
      expect(o.p50).toBeGreaterThan(0);
      expect(o.p99).toBeGreaterThanOrEqual(o.p50);
      const c = run.configurations[0]!;
      expect(c.operationsOk).toBe(PER_TOKEN);
      expect(count('C_Sign')).toBe(PER_TOKEN + WARMUP + 1);
      expect(count('C_SignInit')).toBe(PER_TOKEN + WARMUP + 1);
      // A SoftHSM2 signature takes tens of µs or more: far beyond 10× a loop of a µs or less.
      expect(c.harnessPartOfNumber).toBe(false);
      expect(report).toMatch(/\*\*Harness\*\*: the harness's own cost per call on this host: [\d.]+ [µn]s \(median; p99 [\d.]+ [µm]?s\)/);
      expect(report).not.toContain('the harness is part of the number');
    });
  }

  it('--no-calibrate: no overhead measured, no flag', () => {
    const { run, report, count } = spyRun(['--no-calibrate']);
    expect(run.harness.callOverheadUs).toBeUndefined();
    expect(run.configurations[0]!.harnessPartOfNumber).toBeUndefined();
    expect(report).not.toContain('**Harness**');
    expect(count('C_Sign')).toBe(PER_TOKEN + WARMUP + 1);
  });

  it('a null-speed token (bench/c/null-speed-pkcs11.c): the report says the harness is part of the number', () => {
    const dir = tempDir('null-speed');
    const module = join(dir, 'null-speed-pkcs11.so');
    const source = new URL('../bench/c/null-speed-pkcs11.c', import.meta.url).pathname;
    const headers = new URL('../node_modules/pkcs11js/includes/pkcs11', import.meta.url).pathname;
    execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', module, source, '-I', headers, '-ldl', '-lpthread']);
    const r = runCli(
      [
        'scale',
        '--module',
        module,
        '--alg',
        'p256',
        '--key-label',
        'ck',
        '--tokens',
        '1',
        '--signatures-per-token',
        '20000',
        '--warmup',
        '0',
        '--verify',
        'none',
        '--format',
        'md',
        '--out',
        join(dir, 'out'),
      ],
      // The trial call is checked on the host: the wrapper makes that one signature for real.
      { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, NULL_SPEED_PKCS11_MODULE: hsm.module, NULL_SPEED_REAL_SIGNS: '1' },
    );
    expect(r.status, r.stderr).toBe(0);
    const run: RunResult = JSON.parse(readFileSync(join(runDirOf(r), 'run.json'), 'utf8'));
    expect(run.configurations[0]!.operationsOk).toBe(20000);
    expect(run.configurations[0]!.harnessPartOfNumber).toBe(true);
    const report = readFileSync(join(runDirOf(r), 'report.md'), 'utf8');
    expect(report).toMatch(/The harness is part of the number: the median service time with 1 token \([^)]+\) is within 10× of the harness's own cost per call/);
    // The signatures were not checked, and the report does not claim they were.
    expect(report).toContain('were not checked on the host (--verify none)');
    expect(r.stdout).toContain('note: the harness is part of the number');
  });
});
