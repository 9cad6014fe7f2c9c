import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { stallLines } from '../src/report/stalls-text.js';
import { conclusions } from '../src/report/conclusions.js';
import { availabilityChart } from '../src/report/charts.js';
import { burnInTokenTable, terminalTokenTable } from '../src/report/burn-in-summary.js';
import { fitTable } from '../src/report/fit-table.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { STALL_FLOOR_US, stallMinUs, stallsOf } from '../src/stats/stalls.js';
import { harnessOfSegments } from '../src/stats/harness-of-segments.js';
import { summarizeConfiguration, type Measured } from '../src/stats/summarize.js';

const call = (startOffsetUs: number, latencyUs: number) => ({ startOffsetUs, latencyUs, operation: '', verified: null, startLagUs: null, late: null });

/** Token `token` signs 5 ms calls back to back from `fromUs` to `untilUs`, one of them held `heldUs` from `heldAtUs`. */
function sign(s: ConfigurationStats, token: number, fromUs: number, untilUs: number, held?: { atUs: number; heldUs: number }): void {
  for (let atUs = fromUs; atUs < untilUs;) {
    const latencyUs = held && atUs <= held.atUs && atUs + 5000 > held.atUs ? held.atUs - atUs + held.heldUs : 5000;
    s.add(token, call(atUs, latencyUs), undefined);
    atUs += latencyUs;
  }
}

const summary = (s: ConfigurationStats, extra: Partial<Measured> = {}) =>
  summarizeConfiguration(
    { stats: s, recordsFile: 'r.csv', workerIssues: [], ...extra },
    s.tokens.map((_, i) => ({ label: `t${i}`, serial: String(i), slotId: String(100 + i) })),
    1,
  );

describe('stalls', () => {
  it('of every token at once, each held 1.2 s inside one call: the gap of each and of the cluster, one stall with all tokens', () => {
    const s = new ConfigurationStats(4);
    for (let token = 0; token < 4; token++) sign(s, token, 0, 5_000_000, { atUs: 2_000_000 + token * 1000, heldUs: 1_200_000 });
    const c = summary(s);
    for (const t of c.perToken) expect(t.longestGapMs).toBeGreaterThanOrEqual(1200);
    expect(c.stalls!.clusterLongestGapMs).toBeGreaterThanOrEqual(1190);
    expect(c.stalls!.count).toBe(1);
    const [stall] = c.stalls!.episodes;
    expect(stall!.tokens).toEqual([0, 1, 2, 3]);
    expect(stall!.atS).toBeCloseTo(2, 1);
    expect(stall!.allTokensS).toBeGreaterThanOrEqual(1.19);
    expect(stall!.hostStallS).toBe(0);
  });

  it('of one token: named alone, the others signing on; the host stall inside it is said', () => {
    const s = new ConfigurationStats(3);
    sign(s, 0, 0, 4_000_000);
    sign(s, 1, 0, 4_000_000, { atUs: 1_000_000, heldUs: 900_000 });
    sign(s, 2, 0, 4_000_000);
    const c = summary(s, { hostStalls: [{ startUs: 1_100_000, endUs: 1_400_000 }] });
    expect(c.stalls!.count).toBe(1);
    expect(c.stalls!.episodes[0]).toMatchObject({ tokens: [1], allTokensS: null, hostStallS: 0.3 });
    expect(c.stalls!.clusterLongestGapMs).toBeLessThan(100);
    expect(c.stalls!.host).toEqual({ count: 1, longestMs: 300, totalMs: 300 });
  });

  it('are what a time without a success is against the token’s usual pace: 10 × its p50 or its interval at a target rate, at least 100 ms', () => {
    expect(stallMinUs(50, 0)).toBe(STALL_FLOOR_US);
    expect(stallMinUs(200_000, 0)).toBe(2_000_000);
    expect(stallMinUs(1000, 40_000)).toBe(400_000);
    const s = new ConfigurationStats(1);
    // 5 ms calls with a 90 ms pause: a pause, not a stall.
    sign(s, 0, 0, 1_000_000);
    sign(s, 0, 1_090_000, 2_000_000);
    expect(summary(s).stalls!.count).toBe(0);
  });
});

describe('outages', () => {
  it('of a token lost for the whole run is one, as long as the window; a last failed call alone is none', () => {
    const s = new ConfigurationStats(3);
    sign(s, 0, 0, 3_000_000);
    // Token 1 fails every call and is given up; token 2 fails only its last call.
    for (let atUs = 0; atUs < 2_000_000; atUs += 500_000) s.add(1, call(atUs, 1000), 'CKR_DEVICE_ERROR');
    sign(s, 2, 0, 2_995_000);
    s.add(2, call(2_995_000, 5000), 'CKR_DEVICE_ERROR');
    const c = summary(s, { workerIssues: [{ token: 1, thread: 0, message: 'lost after failing for 2.0 s (--give-up-after)' }] });
    expect([c.perToken[1]!.outages, c.perToken[1]!.outageS]).toEqual([1, 3]);
    expect(c.perToken[1]!.longestGapMs).toBe(3000);
    expect([c.perToken[2]!.outages, c.perToken[2]!.outageS]).toEqual([0, 0]);
    expect(c.perToken[2]!.stillFailingS).toBeCloseTo(0.005, 3);
  });

  it('of a token lost before any call returned (its session never opened) is one, as long as the window', () => {
    const s = new ConfigurationStats(2);
    sign(s, 0, 0, 3_000_000);
    const c = summary(s, { workerIssues: [{ token: 1, thread: 0, message: 'the token refused the PIN' }] });
    expect([c.perToken[1]!.outages, c.perToken[1]!.outageS]).toEqual([1, 3]);
    expect(c.perToken[1]!.longestGapMs).toBe(3000);
    expect([c.perToken[0]!.outages, c.perToken[0]!.outageS]).toEqual([0, 0]);
  });

  it('of a streak of failures still open at the end, not lost, is one', () => {
    const s = new ConfigurationStats(1);
    sign(s, 0, 0, 1_000_000);
    for (let atUs = 1_000_000; atUs < 2_000_000; atUs += 250_000) s.add(0, call(atUs, 1000), 'CKR_DEVICE_REMOVED');
    expect(summary(s).perToken[0]!).toMatchObject({ outages: 1, outageS: 0.751 });
  });

  it('of a token that failed one call and then waited and reconnected in vain to the end: one, to the end, and in its window and rate', () => {
    // One token signs for 1 s, fails one call, and its session waits out its back-off and reconnects until the 4 s
    // deadline: no record marks those 3 s, which are the token's outage and part of the run.
    const s = new ConfigurationStats(1);
    sign(s, 0, 0, 1_000_000);
    s.add(0, call(1_000_000, 1000), 'CKR_DEVICE_REMOVED');
    s.failingUntil(0, 4_000_000);
    const c = summary(s);
    expect(c.durationS).toBe(4);
    expect(c.perToken[0]!).toMatchObject({ outages: 1, outageS: 3, stillFailingS: 3, longestGapMs: 3000 });
    expect(c.throughputPerS).toBe(c.perToken[0]!.throughputPerS);
    expect(c.throughputPerS).toBe(50);
    expect(c.timeSeries.ok).toHaveLength(4);
  });

  it('of a token given up while the others signed on: its rate is over its time to the give-up, waits and reconnects included', () => {
    const s = new ConfigurationStats(2);
    sign(s, 0, 0, 5_000_000);
    sign(s, 1, 0, 1_000_000);
    s.add(1, call(1_000_000, 1000), 'CKR_DEVICE_REMOVED');
    // Its reconnects failed (no record) until --give-up-after 2 s.
    s.failingUntil(1, 3_001_000);
    const c = summary(s, { workerIssues: [{ token: 1, thread: 0, message: 'lost after failing for 2.0 s (--give-up-after)' }] });
    expect(c.durationS).toBe(5);
    expect(c.perToken[1]!.throughputPerS).toBeCloseTo(200 / 3.001, 1);
    expect(c.perToken[1]!).toMatchObject({ outages: 1, outageS: 4 });
  });

  it('a success of another session after the failure ends the streak: a session that stopped trying later adds nothing', () => {
    const s = new ConfigurationStats(1);
    sign(s, 0, 0, 1_000_000);
    s.add(0, call(1_000_000, 1000), 'CKR_DEVICE_ERROR');
    sign(s, 0, 1_100_000, 2_000_000);
    s.failingUntil(0, 3_000_000);
    const c = summary(s);
    expect(c.durationS).toBe(2);
    expect(c.perToken[0]!).toMatchObject({ outages: 1, outageS: 0.1, stillFailingS: null });
  });
});

describe('a stall of one token against the cluster', () => {
  const example = JSON.parse(readFileSync(new URL('../fixtures/frozen/burn-in-resumed/run.json', import.meta.url), 'utf8')) as RunResult;
  /** Four tokens over 8 s; token 1 held 1.5 s inside a call three times while the others signed on. */
  function oneTokenStalled() {
    const s = new ConfigurationStats(4);
    for (const token of [0, 2, 3]) sign(s, token, 0, 8_000_000);
    sign(s, 1, 0, 2_000_000, { atUs: 1_000_000, heldUs: 1_500_000 });
    sign(s, 1, 2_500_000, 5_000_000, { atUs: 3_000_000, heldUs: 1_500_000 });
    sign(s, 1, 5_000_000, 8_000_000, { atUs: 6_000_000, heldUs: 1_500_000 });
    const c = summary(s);
    const tokens = c.perToken.map((t) => ({ ...example.tokens[0]!, label: t.label, serial: t.serial, slotId: t.slotId }));
    return { ...example, tokens, configurations: [c] } as RunResult;
  }

  it('counts the token’s own stalls and silent time in run.json, not the others’', () => {
    const c = oneTokenStalled().configurations[0]!;
    expect(c.perToken[1]).toMatchObject({ stalls: 3 });
    expect(c.perToken[1]!.stalledS).toBeGreaterThanOrEqual(4.5);
    expect(c.perToken[1]!.stalledS).toBeLessThan(4.6);
    for (const t of [0, 2, 3]) expect(c.perToken[t]).toMatchObject({ stalls: 0, stalledS: 0 });
    expect(c.stalls!.clusterLongestGapMs).toBeLessThan(100);
  });

  it('conclude with the token named, its silent time apart from the cluster’s, and no "nothing succeeded" while the others signed', () => {
    const text = conclusions(oneTokenStalled()).find((l) => /stalled/.test(l))!;
    expect(text).toMatch(
      /^1 of the 4 tokens stalled \(a stall: 100 ms or more without a successful signature\): t1 \(slot 101, serial 1\) 3 times, silent 4\.5\d s of the 8\.00 s window \(5\d\.\d %\), the longest 1\.50 s; never all at once: while some stalled the others went on, and the cluster as a whole never went longer than \d+(\.\d+)? ms without a successful signature/,
    );
    expect(text).not.toMatch(/succeeded meanwhile|% of the window in the/);
  });

  it("conclude that a stall may be the host's where hsm-bench did not run in it, or where that is not known", () => {
    const r = oneTokenStalled();
    expect(conclusions(r).find((l) => /stalled/.test(l))).not.toMatch(/Not all of it need be the tokens/);
    const c = r.configurations[0]!;
    const [first, second, ...rest] = c.stalls!.episodes;
    const episodes = [{ ...first!, hostStallS: 0.25 }, { ...second!, hostStallNotKnownS: 1.5 }, ...rest];
    const text = conclusions({ ...r, configurations: [{ ...c, stalls: { ...c.stalls!, episodes } }] }).find((l) => /stalled/.test(l))!;
    expect(text).toMatch(
      /Not all of it need be the tokens': the host stalled hsm-bench for 250 ms of the others; for 1\.50 s of it the host's share is not known \(the process was killed before it saved it\)\.$/,
    );
    // A stall the host stalled hsm-bench through is told as the host's, in the conclusion and in its own line.
    const through = episodes.map((e, i) => (i === 2 ? { ...e, hostStallS: e.durationS } : e));
    const withThrough = { ...r, configurations: [{ ...c, stalls: { ...c.stalls!, episodes: through } }] };
    expect(conclusions(withThrough).find((l) => /stalled/.test(l))).toMatch(
      /the host stalled hsm-bench through 1 stall of them \(most likely the host's\); the host stalled hsm-bench for 250 ms of the others;/,
    );
    expect(stallLines(withThrough, withThrough.configurations[0]!).find((l) => /^ {2}at 6\.\d\d s/.test(l))).toMatch(
      /: the host \(it stalled hsm-bench 1\.50 s: its own threads did not run; nothing shows 1 of 4 tokens \(slot 101: t1\) stalled\)$/,
    );
    const all = { ...r, configurations: [{ ...c, stalls: { ...c.stalls!, episodes: c.stalls!.episodes.map((e) => ({ ...e, hostStallS: e.durationS })) } }] };
    expect(conclusions(all).find((l) => /stalled/.test(l))).toMatch(
      /The host stalled hsm-bench through all 3 \(its own threads did not run\): nothing shows a token stalled; they are most likely the host's\.$/,
    );
  });

  it('say nothing succeeded only of all tokens stalled at once', () => {
    const s = new ConfigurationStats(2);
    for (let token = 0; token < 2; token++) sign(s, token, 0, 5_000_000, { atUs: 2_000_000 + token * 1000, heldUs: 1_200_000 });
    const c = summary(s);
    const r = { ...example, tokens: c.perToken.map((t) => ({ ...example.tokens[0]!, label: t.label, serial: t.serial, slotId: t.slotId })), configurations: [c] } as RunResult;
    expect(conclusions(r).join('\n')).toMatch(/^both tokens stalled .*; both tokens stalled at once 1 time, the longest 1\.\d\d s while no signature succeeded on any/im);
  });

  it('give the token its stalls in the availability chart and the burn-in tables, as the longest gap by one name', () => {
    const r = oneTokenStalled();
    const chart = availabilityChart(r);
    expect(chart.data.labels![1]).toMatch(/: 4\d\.\d %, 3 stalls \(4\.5\d s silent\)$/);
    expect(chart.data.labels![0]).toMatch(/: 100\.0 %$/);
    const c = r.configurations[0]!;
    const terminal = terminalTokenTable(r, c);
    expect(terminal.head).toContain('Longest\ngap');
    expect(terminal.head).not.toContain('Max gap');
    expect(terminal.notes[0]).toMatch(/Longest gap: the longest time with no success$/);
    expect(terminal.notes.filter((n) => /stalled/.test(n))).toEqual([expect.stringMatching(/^t1 stalled 3 times, silent 4\.5\d s \(5\d\.\d % of the window\)$/)]);
    // Narrower than the grid, a row a block: the two-line header one line.
    expect(fitTable(terminal.head, terminal.rows, 40)).toMatch(/^ {2}Longest gap {2}/m);
    const md = burnInTokenTable(r, c);
    expect(md.rows[0]![md.head.indexOf('Stalls (count, time)')]).toBe('0');
  });
});

describe('stall lines', () => {
  const example = JSON.parse(readFileSync(new URL('../fixtures/frozen/burn-in-resumed/run.json', import.meta.url), 'utf8')) as RunResult;

  it('name the stall of all tokens at once, when and how long, and the host’s own stall beside it', () => {
    const c = {
      ...example.configurations[0]!,
      stalls: {
        minMs: 100,
        clusterLongestGapMs: 1190,
        count: 2,
        episodes: [
          { atS: 2.01, durationS: 1.2, tokens: [0, 1], allTokensS: 1.19, hostStallS: 0 },
          { atS: 7.5, durationS: 0.4, tokens: [1], allTokensS: null, hostStallS: 0.35 },
        ],
        host: { count: 1, longestMs: 350, totalMs: 350 },
      },
    };
    const text = stallLines(example, c).join('\n');
    expect(text).toMatch(/1\.19 s for the whole cluster/);
    expect(text).toMatch(/at 2\.01 s into the window, 1\.20 s: all 2 tokens at once/);
    expect(text).toMatch(/at 7\.50 s into the window, 400 ms: 1 of 2 tokens \(slot \d+: hsm-bench-02\); the host stalled 350 ms in it/);
    expect(text).toMatch(/stalls of hsm-bench itself: the host stalled 1 time/);
  });

  it('say "the token" of a one-token configuration, never "in turn" or "all at once"', () => {
    const one = { ...example.configurations[0]!, tokens: 1 };
    const c = { ...one, stalls: { minMs: 100, clusterLongestGapMs: 800, count: 1, episodes: [{ atS: 1, durationS: 0.8, tokens: [0], allTokensS: null, hostStallS: 0 }] } };
    const text = stallLines(example, c).join('\n');
    expect(text).toMatch(/800 ms: the token/);
    expect(text).not.toMatch(/in turn|at once/);
  });

  it("name verification only where something was checked: a lag with nothing checked is recording's", () => {
    const one = { ...example.configurations[0]!, stalls: { minMs: 100, clusterLongestGapMs: 0, count: 0, episodes: [] }, verificationLagS: 2.01 };
    expect(stallLines(example, { ...one, operationsVerified: 0 }).join('\n')).toMatch(/recording \(nothing was checked on the host\) went on 2\.01 s after the window/);
    expect(stallLines(example, { ...one, operationsVerified: 0 }).join('\n')).not.toMatch(/verification/);
    expect(stallLines(example, { ...one, operationsVerified: 5 }).join('\n')).toMatch(/host verification and recording went on 2\.01 s after the window/);
  });

  it('and the conclusions claim no check of a run whose calls all failed', () => {
    const failed = example.configurations.map((c) => ({ ...c, operationsOk: 0, operationsFailed: c.operationsOk, operationsVerified: 0, failuresByCkr: { CKR_DEVICE_ERROR: c.operationsOk } }));
    const text = conclusions({ ...example, plan: { ...example.plan, verify: { ...example.plan.verify, mode: 'all', every: 1 } }, configurations: failed }).join('\n');
    expect(text).toMatch(/No signature succeeded, so none was (checked|verified)/);
    expect(text).not.toMatch(/\b0 signatures were/);
  });

  it('are none for a run.json written before stalls were counted', () => {
    expect(stallLines(example, example.configurations[0]!)).toEqual([]);
  });
});

describe("a resumed burn-in's harness facts over its segments", () => {
  const cpu = (hostCpuS: number, busyPct: number, processS: number) => ({ processUserS: processS, processSystemS: 0, hostCpuS, hostUserPct: busyPct, hostSystemPct: 0, loadAverage1m: busyPct / 50 });
  it('keeps the earlier host stalls, cut where the next segment’s axis starts, the longest waits, and adds the CPU times', () => {
    const earlier = {
      hostStalls: [
        { startUs: 1e6, endUs: 1.8e6 },
        { startUs: 4.9e6, endUs: 5.6e6 },
      ],
      hostStallUs: 0.8e6,
      maxEventLoopStallMs: 790,
      verificationLagS: 0.4,
      cpu: cpu(6, 50, 1),
    };
    // The earlier segment died at 5.6 s; its records reached the disk to 5.0 s, where the next one goes on.
    const both = harnessOfSegments(earlier, { hostStalls: [{ startUs: 6e6, endUs: 6.2e6 }], hostStallUs: 0.2e6, maxEventLoopStallMs: 30, verificationLagS: 0.1, cpu: cpu(2, 100, 0.5) }, 5e6);
    expect(both.hostStalls).toEqual([
      { startUs: 1e6, endUs: 1.8e6 },
      { startUs: 4.9e6, endUs: 5e6 },
      { startUs: 6e6, endUs: 6.2e6 },
    ]);
    expect(both).toMatchObject({ hostStallUs: 0.8e6, maxEventLoopStallMs: 790, verificationLagS: 0.4, cpu: { processUserS: 1.5, hostCpuS: 8, hostUserPct: 62.5, loadAverage1m: 2 } });
    // The first segment (nothing earlier) is its own, its facts to where it was when they were taken.
    expect(harnessOfSegments(undefined, earlier, 0)).toEqual({ ...earlier, harnessUntilUs: 0 });
  });
  it('says where an earlier segment’s facts end before its records (killed between a checkpoint and a records flush)', () => {
    // Saved at 10 s, records on disk to 16.5 s: 10 s to 16.5 s is not known, and stays so through later segments.
    const lost = harnessOfSegments({ hostStalls: [], maxEventLoopStallMs: 20, harnessUntilUs: 10e6 }, { hostStalls: [], harnessUntilUs: 20e6 }, 16.5e6);
    expect(lost).toMatchObject({ harnessNotKnown: [{ startUs: 10e6, endUs: 16.5e6 }], harnessUntilUs: 20e6 });
    expect(harnessOfSegments(lost, { harnessUntilUs: 30e6 }, 20e6).harnessNotKnown).toEqual([{ startUs: 10e6, endUs: 16.5e6 }]);
    // Saved at or past the records' end: nothing lost.
    expect(harnessOfSegments({ harnessUntilUs: 16.6e6 }, {}, 16.5e6).harnessNotKnown).toBeUndefined();
    // A token stall in the stretch is told as such, whatever the host did in it.
    const stalls = stallsOf([[{ startUs: 12.6e6, endUs: 14.1e6 }]], [{ startUs: 12.6e6, endUs: 14.1e6 }], 100_000, [], lost.harnessNotKnown);
    expect(stalls.episodes[0]).toMatchObject({ hostStallS: 0, hostStallNotKnownS: 1.5 });
  });
});
