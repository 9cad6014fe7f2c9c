import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRecords } from '../src/result/records-file.js';
import type { CallRecord } from '../src/model/record.js';
import type { RunResult } from '../src/model/run-result.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

/**
 * The engine at scale, as a property rather than a timing bar: tokens that each take 50 ms per signature
 * (sleeping, in a wrapper module) leave the host's CPU idle, so 32 tokens × 2 sessions can all be inside C_Sign at
 * once. A harness that serialized anything (a lock, the main thread, back-pressure) would never get them there.
 */
/** The most calls in flight at one moment, from the records' start offsets and latencies. */
function mostAtOnce(records: readonly CallRecord[]): number {
  // Records keep whole µs: a session's next call may seem to start 1 µs before its previous one ended.
  const edges = records.flatMap((x) => [
    [x.startOffsetUs, 1],
    [x.startOffsetUs + x.latencyUs - 1, -1],
  ]);
  // An end before a start at the same instant: a call that ends as the next begins is not two at once.
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (now += step!));
  return most;
}

describe('many slow tokens at once', () => {
  it('32 tokens × 2 sessions: every session signs, all 64 at once, on the native loop', async () => {
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
    expect(one!.operationsFailed + many!.operationsFailed).toBe(0);
    expect(many!.operationsVerified).toBe(many!.operationsOk);
    // Every session made calls, and at some moment all 64 were inside C_Sign at once: nothing in the harness (a
    // lock, the main thread, back-pressure) made one wait for another. This holds however loaded the host is; the
    // throughput ratio it implies is measured in bench/many-sessions.ts.
    const records: CallRecord[] = [];
    for await (const x of readRecords(join(runDirOf(r), many!.recordsFile))) records.push(x);
    expect(new Set(records.map((x) => `${x.token}/${x.thread}`)).size).toBe(64);
    expect(mostAtOnce(records)).toBe(64);
    // The native loop: 64 sessions are 64 pthreads, not 64 JavaScript engines (worker threads took ~10 MB each).
    expect(run.harness.engine).toBe('native');
    expect(run.harness.peakRssMb).toBeLessThan(600);
  }, 240_000);
});
