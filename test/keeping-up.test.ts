import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { capacityOf } from '../src/stats/capacity.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { achievedRatePerS, judgedStarts, startOffsetHistogram } from '../src/stats/keeping-up.js';
import { summarizeConfiguration } from '../src/stats/summarize.js';
import { evaluateThresholds } from '../src/verdict/thresholds.js';

/** A schedule at `ratePerS` whose call k started at `startUs(k)`, each served in 2 ms, summarized as run.json has it. */
function scheduleRun(ratePerS: number, calls: number, startUs: (k: number) => number) {
  const stats = new ConfigurationStats(1);
  for (let k = 0; k < calls; k++) {
    const intendedUs = (k * 1e6) / ratePerS;
    const lagUs = Math.max(0, startUs(k) - intendedUs);
    stats.add(0, { startOffsetUs: intendedUs + lagUs, latencyUs: 2_000, operation: '', verified: null, startLagUs: lagUs, late: false }, undefined);
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

  it('judges all starts but the latest 2 %, and always leaves the latest one out', () => {
    expect([0, 1, 2, 10, 50, 100, 1000].map(judgedStarts)).toEqual([0, 1, 1, 9, 49, 98, 980]);
    // Ten calls at 10/s, the last one 0.6 s late: still the target.
    const starts = startOffsetHistogram();
    for (let k = 0; k < 10; k++) starts.recordValue(k * 100_000 + (k === 9 ? 600_000 : 0));
    expect(achievedRatePerS(starts, 10)).toBeCloseTo(10, 1);
    expect(achievedRatePerS(startOffsetHistogram(), 10)).toBe(0);
  });
});
