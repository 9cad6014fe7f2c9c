import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERIFIED_OK, type CallBatch } from '../src/model/call-batch.js';
import { nativeLoop } from '../src/measure/native-engine.js';
import { ReconnectBackoff } from '../src/measure/reconnect-backoff.js';
import { readRecords } from '../src/result/records-file.js';
import { type CallRecord } from '../src/model/record.js';
import type { RunResult } from '../src/model/run-result.js';
import { SpillFile } from '../src/result/spill-file.js';
import { runCli, runCliAndSignal, runDirOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

const workspace = tempDir('engine-ws');
const env = { HSM_BENCH_WORKSPACE: workspace };

async function recordsOf(dir: string, file: string): Promise<CallRecord[]> {
  const all: CallRecord[] = [];
  for await (const r of readRecords(join(dir, file))) all.push(r);
  return all;
}

/** Each (token, thread) appears in the file numbered 0, 1, 2 … in order: no repeat, no hole, nothing overtaken. */
function expectInOrder(records: CallRecord[]): void {
  const next = new Map<string, number>();
  for (const r of records) {
    const key = `${r.token}/${r.thread}`;
    expect(r.sequence).toBe(next.get(key) ?? 0);
    next.set(key, r.sequence + 1);
  }
}

describe('the two engines', () => {
  it('the native timed loop is built (npm ci builds it; CI installs what it needs)', () => {
    expect(nativeLoop()).not.toBeNull();
  });

  it.each([
    ['native', {}],
    ['threads', { HSM_BENCH_ENGINE: 'threads' }],
  ])(
    '%s: records in order, every signature verified, run.json names the engine',
    async (engine, extra) => {
      const r = runCli(['scale', '--alg', 'p256', '--tokens', '1,2', '--threads-per-token', '2', '--signatures-per-token', '300', '--json', '--out', tempDir(`engine-${engine}`)], {
        ...env,
        ...extra,
      });
      expect(r.status).toBe(0);
      const run = JSON.parse(r.stdout) as RunResult;
      expect(run.harness.engine).toBe(engine);
      const dir = runDirOf(r);
      for (const c of run.configurations) {
        expect(c.operationsOk).toBe(300 * c.tokens);
        expect(c.operationsVerified).toBe(c.operationsOk);
        const records = await recordsOf(dir, c.recordsFile);
        expect(records).toHaveLength(c.operationsOk);
        expect(records.every((x) => x.status === 'CKR_OK' && x.verified === true)).toBe(true);
        expectInOrder(records);
        expect(c.setupS).toBeGreaterThanOrEqual(0);
      }
    },
    120_000,
  );

  it('verification that cannot keep up never holds the signers: the rest is verified after the window, all of it, and the report says so', async () => {
    // Four sessions signing P-256 against one verification thread, on a host of two cores: verification falls behind.
    const r = runCli(['scale', '--alg', 'p256', '--tokens', '2', '--threads-per-token', '2', '--duration', '3s', '--verify-threads', '1', '--json', '--out', tempDir('engine-late')], env);
    expect(r.status).toBe(0);
    const c = (JSON.parse(r.stdout) as RunResult).configurations[0]!;
    expect(c.operationsVerifiedLate).toBeGreaterThan(0);
    expect(c.operationsVerified).toBe(c.operationsOk);
    expect(c.verificationLagS).toBeGreaterThan(0);
    const dir = runDirOf(r);
    const records = await recordsOf(dir, c.recordsFile);
    expect(records).toHaveLength(c.operationsOk);
    // The window is the signers': no call starts after the deadline, and the window ends with the last call, not with
    // the verification after it (however long a loaded host took over either).
    expect(records.reduce((latest, x) => Math.max(latest, x.startOffsetUs), 0)).toBeLessThanOrEqual(3_000_000);
    expect(c.durationS).toBeCloseTo(records.reduce((last, x) => Math.max(last, x.startOffsetUs + x.latencyUs), 0) / 1e6, 3);
    expect(records.every((x) => x.verified === true)).toBe(true);
    expectInOrder(records);
    expect(readdirSync(dir).filter((f) => f.startsWith('unverified'))).toEqual([]);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/verification fell behind the tokens: \d+ signatures waited on disk and were verified after the measured window/);
  }, 120_000);
});

describe('stopping a native burn-in while a token is failing', () => {
  it('Ctrl-C while every signature fails and the signers wait to reconnect: exit 130, results written, no crash', async () => {
    const hsm = new ExternalSoftHsm();
    for (const label of ['stop-0', 'stop-1']) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'sk');
    }
    const out = tempDir('stop-failing');
    const args = ['burn-in', '--module', buildFaultyModule(), '--alg', 'p256', '--key-label', 'sk', '--token-label', 'stop-', '--tokens', '2', '--duration', '60s', '--out', out];
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await runCliAndSignal(args, { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1', CI: 'true' }, /records in/, 'SIGINT', 1500 + 700 * attempt);
      expect(r.status).toBe(130);
      const run = JSON.parse(readFileSync(join(runDirOf(r), 'run.json'), 'utf8')) as RunResult;
      expect(run.harness.engine).toBe('native');
      expect(run.configurations[0]!.operationsFailed).toBeGreaterThan(0);
    }
  }, 120_000);
});

describe('a token slow to give a session back', () => {
  it('reconnects in a thread of its own: the other token signs on without a gap, the event loop does not stall', () => {
    const hsm = new ExternalSoftHsm();
    for (const label of ['slowopen-0', 'slowopen-1']) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'sk');
    }
    const env = { ...hsm.env, HSM_BENCH_PIN: TEST_PIN };
    const listing = JSON.parse(runCli(['list', '--module', hsm.module, '--json'], env).stdout) as { slots: { slotId: string; token: { label: string } | null }[] };
    const slow = listing.slots.find((s) => s.token?.label === 'slowopen-1')!.slotId;
    // Every 200th signature of slowopen-1 fails, and each of its reconnects waits 1.5 s for a session.
    const r = runCli(
      [
        'burn-in',
        '--module',
        buildFaultyModule(),
        '--alg',
        'p256',
        '--key-label',
        'sk',
        '--token-label',
        'slowopen-',
        '--tokens',
        '2',
        '--duration',
        '6s',
        '--verify',
        'none',
        '--json',
        '--out',
        tempDir('slowopen'),
      ],
      { ...env, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_SLOT: slow, FAULTY_EVERY: '200', FAULTY_OPEN_DELAY_MS: '1500' },
    );
    expect(r.status).toBe(4);
    const run = JSON.parse(r.stdout) as RunResult;
    expect(run.harness.engine).toBe('native');
    const c = run.configurations[0]!;
    const [good, bad] = [0, 1].map((i) => c.perToken.find((t) => run.tokens[t.token]!.label === `slowopen-${i}`)!);
    expect(bad!.operationsFailed).toBeGreaterThan(0);
    expect(bad!.longestGapMs).toBeGreaterThan(1400);
    expect(good!.operationsFailed).toBe(0);
    // A reconnect that held the main thread or the other token would stall them its 1.5 s; a loaded host stalls
    // either a few hundred ms on its own.
    expect(good!.longestGapMs).toBeLessThan(1400);
    expect(c.maxEventLoopStallMs).toBeLessThan(1400);
  }, 120_000);
});

describe('SpillFile', () => {
  it('gives back every batch written, in order, whole, and removes itself', () => {
    const path = join(tempDir('spill'), 'unverified.bin');
    const spill = new SpillFile(path);
    const batch = (worker: number, firstSequence: number, count: number, kept: number[]): CallBatch => {
      const outputs = Uint8Array.from(kept.flatMap((n, i) => Array.from({ length: n }, () => (worker * 16 + i) & 0xff)));
      return {
        worker,
        firstSequence,
        count,
        startOffsetNs: Float64Array.from({ length: count + 3 }, (_, i) => 1000 * (firstSequence + i)),
        latencyNs: Float64Array.from({ length: count + 3 }, (_, i) => 7 + i),
        status: Int32Array.from({ length: count + 3 }, (_, i) => (i === 1 ? 0x30 : 0)),
        kept: Uint8Array.from({ length: count + 3 }, (_, i) => ((kept[i] ?? 0) > 0 ? 1 : 0)),
        outputBytes: Uint16Array.from({ length: count + 3 }, (_, i) => kept[i] ?? 0),
        outputs: Uint8Array.from([...outputs, 9, 9, 9]),
        verified: new Uint8Array(count + 3),
        operation: Uint8Array.from({ length: count + 3 }, (_, i) => i % 2),
        startLagNs: Float64Array.from({ length: count + 3 }, (_, i) => (worker === 1 ? Number.NaN : 500 * i)),
        late: Uint8Array.from({ length: count + 3 }, (_, i) => i % 2),
      };
    };
    const written = [batch(0, 0, 3, [64, 0, 70]), batch(1, 2 ** 33, 2, [0, 0]), batch(0, 3, 1, [512])];
    written.forEach((b) => spill.write(b));
    expect(spill.outputsKept).toBe(3);
    const read = [...spill.read()];
    expect(read).toHaveLength(3);
    read.forEach((b, i) => {
      const w = written[i]!;
      const n = w.count;
      const kept = w.outputBytes.subarray(0, n).reduce((a, x) => a + x, 0);
      expect([b.worker, b.firstSequence, b.count]).toEqual([w.worker, w.firstSequence, n]);
      expect([...b.startOffsetNs]).toEqual([...w.startOffsetNs.subarray(0, n)]);
      expect([...b.latencyNs]).toEqual([...w.latencyNs.subarray(0, n)]);
      expect([...b.status]).toEqual([...w.status.subarray(0, n)]);
      expect([...b.kept]).toEqual([...w.kept.subarray(0, n)]);
      expect([...b.outputBytes]).toEqual([...w.outputBytes.subarray(0, n)]);
      expect([...b.operation]).toEqual([...w.operation.subarray(0, n)]);
      // NaN (no schedule) survives as NaN: toEqual treats NaN as equal to NaN.
      expect([...b.startLagNs]).toEqual([...w.startLagNs.subarray(0, n)]);
      expect([...b.late]).toEqual([...w.late.subarray(0, n)]);
      expect([...b.outputs]).toEqual([...w.outputs.subarray(0, kept)]);
      expect(b.verified.every((v) => v !== VERIFIED_OK)).toBe(true);
    });
    expect(existsSync(path)).toBe(false);
  });
});

describe('ReconnectBackoff', () => {
  it('reconnects at once, then waits from 100 ms doubling to 2 s, starts over after a success, and gives up after --give-up-after', () => {
    const b = new ReconnectBackoff(10_000);
    const ms = (n: number) => BigInt(n) * 1_000_000n;
    b.failed(ms(0));
    const waits = [0, 0, 100, 300, 700, 1500, 3500, 5500].map((t) => b.next(ms(t)));
    expect(waits).toEqual([0, 100, 200, 400, 800, 1600, 2000, 2000].map((waitMs) => ({ waitMs })));
    // The last wait is cut to what is left before giving up.
    expect(b.next(ms(9500))).toEqual({ waitMs: 500 });
    expect(b.next(ms(10_000))).toEqual({ gaveUp: 'lost after failing for 10.0 s (--give-up-after)' });
    b.succeeded();
    b.failed(ms(20_000));
    expect(b.next(ms(20_000))).toEqual({ waitMs: 0 });
    expect(b.next(ms(20_000))).toEqual({ waitMs: 100 });
  });
});
