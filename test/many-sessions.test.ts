import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { runCli, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

/**
 * The engine at scale, as a property rather than a timing bar: tokens that each take 50 ms per signature
 * (sleeping, in a wrapper module) leave the host's CPU idle, so 32 tokens × 2 sessions must sign 32 times as
 * fast as one token × 2 sessions, within 10 %. A harness that serialized anything (a lock, the main thread,
 * back-pressure) would bend that line.
 */
describe('many slow tokens at once', () => {
  it('32 tokens × 2 sessions reach an efficiency of at least 0.9 against one token', () => {
    const hsm = new ExternalSoftHsm();
    for (let i = 0; i < 32; i++) {
      const label = `slow-${String(i).padStart(2, '0')}`;
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'sk');
    }
    const r = runCli(
      [
        'scale',
        '--module',
        buildFaultyModule(),
        '--alg',
        'p256',
        '--key-label',
        'sk',
        '--token-label',
        'slow-',
        '--tokens',
        '1,32',
        '--threads-per-token',
        '2',
        '--duration',
        '3s',
        '--warmup',
        '0',
        '--verify',
        'all',
        '--json',
        '--out',
        tempDir('slow'),
      ],
      { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', FAULTY_SIGN_DELAY_MS: '50' },
    );
    expect(r.status).toBe(0);
    const run = JSON.parse(r.stdout) as RunResult;
    const [one, many] = run.configurations;
    // One token × 2 sessions at 50 ms per signature: about 40 signatures/s.
    expect(one!.throughputPerS).toBeGreaterThan(30);
    expect(many!.operationsVerified).toBe(many!.operationsOk);
    expect(many!.efficiency).toBeGreaterThanOrEqual(0.9);
    // The native loop: 64 sessions are 64 pthreads, not 64 JavaScript engines (worker threads took ~10 MB each).
    expect(run.harness.engine).toBe('native');
    expect(run.harness.peakRssMb).toBeLessThan(600);
  }, 240_000);
});
