import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { capacityOf } from '../src/stats/capacity.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { achievedRatePerS, judgedStarts, startOffsetHistogram } from '../src/stats/keeping-up.js';
import { summarizeConfiguration } from '../src/stats/summarize.js';
import { evaluateThresholds } from '../src/verdict/thresholds.js';

/**
 * A schedule at `ratePerS` on one session whose call k started at `startUs(k)`, served in `serviceUs(k)` (2 ms),
 * summarized as run.json has it. A call is late when the session was still in its previous call at the intended
 * start, as the engines mark it; otherwise the session was free and waiting, and any lag is its waking late.
 */
function scheduleRun(ratePerS: number, calls: number, startUs: (k: number) => number, serviceUs: (k: number) => number = () => 2_000) {
  const stats = new ConfigurationStats(1);
  let previousEndUs = 0;
  for (let k = 0; k < calls; k++) {
    const intendedUs = (k * 1e6) / ratePerS;
    const lagUs = Math.max(0, startUs(k) - intendedUs);
    const late = k > 0 && previousEndUs > intendedUs;
    stats.add(0, { startOffsetUs: intendedUs + lagUs, latencyUs: serviceUs(k), operation: '', verified: null, startLagUs: lagUs, late }, undefined);
    previousEndUs = intendedUs + lagUs + serviceUs(k);
  }
  return summarizeConfiguration({ stats, recordsFile: 'r.csv', workerIssues: [] }, [{ label: 'a', serial: '1', slotId: '0' }], 1, { targetRatePerS: ratePerS, calls, interrupted: false });
}

const onTime = (ratePerS: number) => (k: number) => (k * 1e6) / ratePerS;

describe('keeping up with a schedule', () => {
  it('one stall of the host on the last start of a short window: kept up, the rate held, the capacity gate passes', () => {
    // 200 calls at 100/s (2 s): every call on time, but the process paused 0.6 s before the last one started.
    const c = scheduleRun(100, 200, (k) => (k === 199 ? onTime(100)(k) + 600_000 : onTime(100)(k)));
    expect(c.openLoop!.keptUp).toBe(true);
    expect(c.openLoop!.achievedRatePerS).toBeCloseTo(100, 0);
    expect(c.throughputPerS).toBeCloseTo(100, 0);
    const capacity = capacityOf([c], []);
    expect(capacity[0]).toMatchObject({ capacityPerS: 100, fellBehindAtPerS: null });
    const run = { configurations: [c], capacity, plan: { tokenCounts: [1], threadsPerToken: [1] } } as unknown as RunResult;
    expect(evaluateThresholds(run, { minCapacity: { largest: 100 } })[0]!.outcome).toBe('pass');
  });

  it('a stall of the host near the end of a short window: not judged (inconclusive), never a failed capacity gate', () => {
    // 200 calls at 100/s: the session waits for call 150 (due at 1.5 s) and the host pauses it 0.8 s; the queued calls
    // then start one after another (2 ms each) until the schedule is caught again.
    const paused = (k: number) => (k < 150 ? onTime(100)(k) : Math.max(onTime(100)(k), 2_300_000 + (k - 150) * 2_000));
    const c = scheduleRun(100, 200, paused);
    expect(c.openLoop).toMatchObject({ keptUp: false, hostStalled: true, hostStallMs: 800 });
    const capacity = capacityOf([c], []);
    expect(capacity[0]).toMatchObject({ capacityPerS: null, fellBehindAtPerS: null });
    expect(capacity[0]!.rates[0]!.notJudged![0]).toMatch(/: inconclusive \(the harness stalled 800 ms; with the stall taken out the tokens kept up\)$/);
    const run = { configurations: [c], capacity, plan: { tokenCounts: [1], threadsPerToken: [1] } } as unknown as RunResult;
    expect(evaluateThresholds(run, { minCapacity: { largest: 100 } })[0]!.outcome).toBe('inconclusive');
    // The same lateness from a session that was inside a call (the token took 0.8 s over it) is the token's: fell
    // behind, and the gate fails.
    const busy = scheduleRun(100, 200, paused, (k) => (k === 149 ? 810_000 : 2_000));
    expect(busy.openLoop).toMatchObject({ keptUp: false });
    expect(busy.openLoop!.hostStalled).toBeUndefined();
    const busyRun = { configurations: [busy], capacity: capacityOf([busy], []), plan: { tokenCounts: [1], threadsPerToken: [1] } } as unknown as RunResult;
    expect(evaluateThresholds(busyRun, { minCapacity: { largest: 100 } })[0]!.outcome).toBe('fail');
  });

  it('a latency objective missed by the calls a stall of the host delayed: not judged; missed by a slow token: failed', () => {
    // 0.5 s stall at 1 s of a 3 s schedule at 100/s, which the tokens make up for: kept up, but the delayed calls'
    // response times are the stall's.
    const caughtUp = (k: number) => (k < 100 ? onTime(100)(k) : Math.max(onTime(100)(k), 1_500_000 + (k - 100) * 2_000));
    const objectives = [{ percentile: 'p99' as const, ms: 50 }];
    const stalled = scheduleRun(100, 300, caughtUp);
    expect(stalled.openLoop).toMatchObject({ keptUp: true, hostStallMs: 500 });
    const verdict = capacityOf([stalled], objectives)[0]!.rates[0]!;
    expect(verdict).toMatchObject({ held: false, hostStalled: true });
    expect(verdict.notJudged![0]).toMatch(/^p99 \d+(\.\d+)? ms > 50\.0 ms: inconclusive \(the harness stalled 500 ms\)$/);
    const run = (c: typeof stalled) => ({ configurations: [c], capacity: capacityOf([c], objectives), plan: { tokenCounts: [1], threadsPerToken: [1] } }) as unknown as RunResult;
    expect(evaluateThresholds(run(stalled), { minCapacity: { largest: 100 } }, true)[0]!.outcome).toBe('inconclusive');
    // A token that took 0.5 s over call 99 delays the same calls: its own doing.
    const slow = scheduleRun(100, 300, caughtUp, (k) => (k === 99 ? 510_000 : 2_000));
    expect(slow.openLoop!.hostStallMs).toBeUndefined();
    expect(evaluateThresholds(run(slow), { minCapacity: { largest: 100 } }, true)[0]!.outcome).toBe('fail');
  });

  it('a stall of the harness excuses a latency miss only as far as its length reaches: a token slower than that is judged', () => {
    const objectives = [{ percentile: 'p99' as const, ms: 50 }];
    // 1,000 calls at 100/s on one session; every 50th call up to the 900th the token takes 300 ms (the calls queued
    // behind it catch up: about 2 % of the calls 250 ms late or more), and once the harness kept the waiting session
    // 0.15 s from its call.
    const slowEvery50 = (k: number) => (k % 50 === 25 && k < 900 ? 300_000 : 2_000);
    const startsAfter = (stallAt: number) => {
      const starts: number[] = [];
      for (let k = 0, freeAtUs = 0; k < 1000; k++) {
        const dueUs = onTime(100)(k);
        starts.push(Math.max(dueUs + (k === stallAt ? 150_000 : 0), freeAtUs));
        freeAtUs = starts[k]! + slowEvery50(k);
      }
      return (k: number) => starts[k]!;
    };
    const slow = scheduleRun(100, 1000, startsAfter(570), slowEvery50);
    expect(slow.openLoop).toMatchObject({ keptUp: true, hostStallMs: 150 });
    expect(slow.openLoop!.responseMs!.p99).toBeGreaterThan(50 + 150);
    const held = scheduleRun(200, 2000, onTime(200));
    const [capacity] = capacityOf([slow, held], objectives);
    // The 0.15 s stall cannot make 1 % of the calls wait over 200 ms: the miss is the token's, judged, and it ends
    // the count (200/s holding above it is luck, not capacity).
    expect(capacity!.rates[0]).toMatchObject({ held: false });
    expect(capacity!.rates[0]!.hostStalled).toBeUndefined();
    expect(capacity!.rates[0]!.missed[0]).not.toMatch(/inconclusive/);
    expect(capacity).toMatchObject({ capacityPerS: null });
    const run = { configurations: [slow, held], capacity: [capacity], plan: { tokenCounts: [1], threadsPerToken: [1] } } as unknown as RunResult;
    expect(evaluateThresholds(run, { minCapacity: { largest: 100 } })[0]!.outcome).toBe('fail');
    // Without the slow calls, the same stall's delay is all the miss there is: inconclusive, never a pass, and the
    // 200/s that held on a full sample carries the capacity past it.
    const stalledOnly = scheduleRun(100, 1000, (k) => (k < 500 ? onTime(100)(k) : Math.max(onTime(100)(k), 5_150_000 + (k - 500) * 2_000)));
    const [past] = capacityOf([stalledOnly, held], objectives);
    expect(past!.rates[0]).toMatchObject({ held: false, hostStalled: true });
    expect(past!.rates[0]!.notJudged![0]).toMatch(/: inconclusive \(the harness stalled 150 ms\)$/);
    expect(past).toMatchObject({ capacityPerS: 200 });
  });

  it('a capacity gate is open only where the rates not judged, taken as held, could reach it', () => {
    // 2 tokens: 40/s and 80/s missed p99 on thin samples, 160/s fell behind.
    const thin = (rate: number) => ({ targetRatePerS: rate, achievedRatePerS: rate, held: false, missed: [], notJudged: ['p99 70 ms > 60 ms on 500 of the 1000 calls p99 needs'], thin: true });
    const capacity = [
      {
        tokens: 2,
        threadsPerToken: 1,
        capacityPerS: null,
        fellBehindAtPerS: 160,
        rates: [thin(40), thin(80), { targetRatePerS: 160, achievedRatePerS: 97, held: false, missed: ['achieved 97/s of 160/s'] }],
      },
    ];
    const run = { configurations: [], capacity, plan: { tokenCounts: [2], threadsPerToken: [1] } } as unknown as RunResult;
    const gate = (min: number, strict = false) => evaluateThresholds(run, { minCapacity: { largest: min } }, strict)[0]!;
    expect(gate(80)).toMatchObject({ outcome: 'inconclusive', notJudged: expect.stringMatching(/a thin sample at 40\/s .*; a thin sample at 80\/s/) });
    // Whatever the thin rates would have said, 160/s fell behind: the capacity is under 100/s.
    expect(gate(100).outcome).toBe('fail');
    expect(gate(80, true).outcome).toBe('fail');
  });

  it('a stall of the host on top of a steady shortfall: the shortfall still fails', () => {
    // Tokens serving 85/s of 100/s, and the host paused the waiting session 0.3 s at the start.
    const c = scheduleRun(100, 400, (k) => 300_000 + (k * 1e6) / 85);
    expect(c.openLoop).toMatchObject({ keptUp: false, hostStallMs: 300 });
    expect(c.openLoop!.hostStalled).toBeUndefined();
    expect(capacityOf([c], [])[0]).toMatchObject({ fellBehindAtPerS: 100 });
  });

  it('a lag that grows steadily (tokens serving 90/s of 100/s): fell behind, at about the rate served', () => {
    const c = scheduleRun(100, 200, (k) => (k * 1e6) / 90);
    expect(c.openLoop!.keptUp).toBe(false);
    expect(c.openLoop!.achievedRatePerS).toBeCloseTo(90, 0);
    expect(capacityOf([c], [])[0]).toMatchObject({ capacityPerS: null, fellBehindAtPerS: 100 });
  });

  it('the line is 98 % of the target, for a shortfall however it is spread', () => {
    expect(scheduleRun(100, 1000, (k) => (k * 1e6) / 97).openLoop!.keptUp).toBe(false);
    expect(scheduleRun(100, 1000, (k) => (k * 1e6) / 99).openLoop!.keptUp).toBe(true);
  });

  it('a stall in the middle that the tokens made up for: kept up; one they never made up for: fell behind', () => {
    // 0.5 s without a start at 1 s, then the queued calls start at 500/s until the schedule is caught again.
    const caughtUp = (k: number) => (k < 100 ? onTime(100)(k) : Math.max(onTime(100)(k), 1_500_000 + (k - 100) * 2_000));
    expect(scheduleRun(100, 300, caughtUp).openLoop!.keptUp).toBe(true);
    const stillBehind = (k: number) => (k < 100 ? onTime(100)(k) : onTime(100)(k) + 500_000);
    expect(scheduleRun(100, 300, stillBehind).openLoop!.keptUp).toBe(false);
  });

  it('a session hung with a deadline ahead: the calls it never started are behind, and the rate is over the window', () => {
    // 2 s at 1,000/s on one session, which hangs at 0.4 s: the other 1,600 calls never start.
    const stats = new ConfigurationStats(1);
    for (let k = 0; k < 400; k++) stats.add(0, { startOffsetUs: k * 1000, latencyUs: 500, operation: '', verified: null, startLagUs: 0, late: false }, undefined);
    stats.add(0, { startOffsetUs: 400_000, latencyUs: 10_000_000, operation: '', verified: null, startLagUs: 0, late: false }, 'CALL_TIMED_OUT');
    stats.windowLastsUntil(2_000_000);
    const c = summarizeConfiguration({ stats, recordsFile: 'r.csv', workerIssues: [] }, [{ label: 'a', serial: '1', slotId: '0' }], 1, { targetRatePerS: 1000, calls: 2000, interrupted: false });
    expect(c.openLoop).toMatchObject({ keptUp: false, notStarted: 1599 });
    // The share of the judged 1,960 calls (all but the latest 2 %) that started.
    expect(c.openLoop!.achievedRatePerS).toBeCloseTo((401 / 1960) * 1000, 1);
    expect(c.throughputPerS).toBeCloseTo((400 / 1960) * 1000, 1);
    expect(capacityOf([c], [])[0]).toMatchObject({ capacityPerS: null, fellBehindAtPerS: 1000 });
  });

  it('two calls a pause of the host kept from starting before the deadline: still kept up', () => {
    // 80 calls at 40/s (2 s): the first 78 on time, the last two never started.
    const starts = startOffsetHistogram();
    for (let k = 0; k < 78; k++) starts.recordValue(k * 25_000 + 1);
    expect(achievedRatePerS(starts, 40, 2)).toBeCloseTo((78 / 79) * 40, 1);
    expect(achievedRatePerS(starts, 40, 2)).toBeGreaterThan(0.98 * 40);
  });

  it('judges all starts but the latest 2 %, and always leaves the latest one out', () => {
    expect([0, 1, 2, 10, 50, 100, 1000].map(judgedStarts)).toEqual([0, 1, 1, 9, 49, 98, 980]);
    // Ten calls at 10/s, the last one 0.6 s late: still the target.
    const starts = startOffsetHistogram();
    for (let k = 0; k < 10; k++) starts.recordValue(k * 100_000 + (k === 9 ? 600_000 : 0));
    expect(achievedRatePerS(starts, 10)).toBeCloseTo(10, 1);
    expect(achievedRatePerS(startOffsetHistogram(), 10)).toBe(0);
  });
});
