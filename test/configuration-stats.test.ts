import { describe, expect, it } from 'vitest';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';

const call = (startOffsetUs: number, latencyUs: number) => ({ startOffsetUs, latencyUs, operation: '', verified: null, startLagUs: null, late: null });

describe('configuration statistics', () => {
  it('keeps outages non-negative when several threads of a token report out of time order', () => {
    const s = new ConfigurationStats(1);
    // Thread 1 fails at 3 ms; thread 0's batch, with successes at 1–4 ms, arrives later; then a success at 9 ms.
    s.add(0, call(3000, 100), 'CKR_DEVICE_REMOVED');
    for (const start of [1000, 2000, 4000]) s.add(0, call(start, 100), undefined);
    s.add(0, call(2500, 100), 'CKR_DEVICE_REMOVED');
    s.add(0, call(9000, 100), undefined);
    const t = s.tokens[0]!;
    expect(t.outageUs).toBeGreaterThanOrEqual(0);
    // The first success after the streak began (4 ms) ends it; the late failure at 2.5 ms opens another, ended at 9 ms.
    expect(t.outages).toBe(2);
    expect(t.outageUs).toBe(1000 + 6500);
    expect(t.failingSinceUs).toBeNull();
  });
});

describe('latency percentiles', () => {
  it('never lie above the max, though HDR buckets round up', async () => {
    const { latencyHistogram, percentilesMs } = await import('../src/stats/latency-histogram.js');
    const h = latencyHistogram();
    // 178,691 µs falls in a bucket whose top is 178,815 µs: the p99 of one value must be that value.
    h.recordValue(178_691);
    for (let i = 0; i < 50; i++) h.recordValue(1_000);
    const p = percentilesMs(h)!;
    expect(p.max).toBe(178.691);
    expect(p.p99).toBeLessThanOrEqual(p.max);
    expect(p.p99).toBe(178.691);
  });
});
