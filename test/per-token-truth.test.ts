import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ConfigurationResult, CpuUse, RunResult } from '../src/model/run-result.js';
import { cpuSnapshot, cpuUseBetween } from '../src/measure/cpu-use.js';
import { processSharePct } from '../src/report/cpu-text.js';
import { conclusions } from '../src/report/conclusions.js';
import { renderScaleTable } from '../src/report/terminal-table.js';
import { standsOutIn, tokenSpread } from '../src/stats/token-outliers.js';

const example = (): RunResult => JSON.parse(readFileSync(new URL('../fixtures/frozen/scale-rsa2048/run.json', import.meta.url), 'utf8'));
const rates = (perS: number[]) => perS.map((ratePerS, token) => ({ token, ratePerS }));

/** The example's 4-token configuration with these per-token rates (its repetitions given theirs, when asked). */
function withRates(r: RunResult, perS: number[], repetitions?: number[][]): ConfigurationResult {
  const c = r.configurations[r.configurations.length - 1]!;
  const tokens = perS.map((_, i) => r.tokens[i % r.tokens.length]!);
  r.tokens = tokens.map((t, i) => ({ ...t, slotId: String(10 + i), label: `tok${i}`, serial: `serial${i}` }));
  c.tokens = perS.length;
  // Each session always inside its call: its mean latency is the inverse of its rate.
  c.perToken = perS.map((throughputPerS, i) => ({
    ...c.perToken[0]!,
    token: i,
    label: `tok${i}`,
    slotId: String(10 + i),
    serial: `serial${i}`,
    throughputPerS,
    latencyMs: { ...c.perToken[0]!.latencyMs!, mean: 1000 / throughputPerS },
  }));
  if (repetitions) c.repetitions = repetitions.map((p) => ({ ...c.repetitions![0]!, perTokenThroughputPerS: p }));
  else delete c.repetitions;
  return c;
}

describe('tokens that stand out', () => {
  it('two of eight at half speed stand out from the median ± MAD; a 6.9 % spread among four does not', () => {
    const half = tokenSpread(rates([11.2, 11.5, 6.0, 11.3, 11.4, 6.3, 11.3, 11.4]), 0)!;
    expect(half.outliers.map((o) => o.token)).toEqual([2, 5]);
    expect(half.medianPerS).toBeCloseTo(11.3, 5);
    expect(tokenSpread(rates([100, 96, 93.1, 98]), 0)!.outliers).toEqual([]);
  });

  it('within the noise of the repetitions, a token far out of the spread is not named', () => {
    // 14 % slow against the others' 1 % spread: beyond the spread, but the runs differed by 40 %.
    expect(tokenSpread(rates([100, 101, 86, 100, 99]), 0)!.outliers.map((o) => o.token)).toEqual([2]);
    expect(tokenSpread(rates([100, 101, 86, 100, 99]), 40)!.outliers).toEqual([]);
  });

  it('needs three tokens to tell which one is off', () => {
    expect(tokenSpread(rates([10, 5]), 0)).toBeNull();
  });

  it('counts the configurations and repetitions in which the same token stood out', () => {
    const r = example();
    withRates(
      r,
      [11.2, 11.5, 6.0, 11.3],
      [
        [11.2, 11.5, 6.0, 11.3],
        [11.0, 11.4, 5.9, 11.2],
        [11.3, 11.1, 11.2, 11.4],
      ],
    );
    expect(standsOutIn(r.configurations, 2, true)).toEqual({ in: 2, of: 3 });
  });
});

describe('the conclusion on tokens', () => {
  it('names the slow tokens with their serials, says whether they were slow every time, and does not blame what all tokens share', () => {
    const r = example();
    const eight = [11.2, 11.5, 6.0, 11.3, 11.4, 6.3, 11.3, 11.4];
    const c = withRates(r, eight, [eight, eight, eight]);
    c.spread = { ...c.spread!, relativePct: 3 };
    const text = conclusions(r).join('\n');
    expect(text).toMatch(
      /With 8 tokens, 2 tokens of 8 stood out from the others' median 11\.3\/s \(MAD 0\.10\/s\)[^\n]*: tok2 \(slot 12, serial serial2\) at 6\.0\/s, 47 % below the median, and so in all 3 configurations and repetitions it ran in with two others or more; tok5 \(slot 15, serial serial5\) at 6\.3\/s, 44 % below the median, and so in all 3 configurations and repetitions it ran in with two others or more\. They were slow alone/,
    );
    expect(text).toMatch(/2 tokens of 8 ran far slower than the others \(named below\): the shortfall is theirs, not something all the tokens share/);
    expect(text).not.toMatch(/waited for something they share/);
  });

  it('names a token only where it stood out in every repetition, and says how often one stood out in some only', () => {
    const r = example();
    const slowOnce = [11.2, 11.5, 6.0, 11.3, 11.4, 11.3, 11.3, 11.4];
    const even = [11.2, 11.5, 11.3, 11.3, 11.4, 11.2, 11.3, 11.4];
    // The median repetition (the one shown) has tok2 at half speed; the other two do not.
    const c = withRates(r, slowOnce, [slowOnce, even, [11.3, 11.4, 11.2, 11.3, 11.5, 11.3, 11.2, 11.4]]);
    c.spread = { ...c.spread!, relativePct: 3 };
    const text = conclusions(r).join('\n');
    expect(text).toMatch(/With 8 tokens, no token stood out in every repetition: they ran at/);
    expect(text).toMatch(/Not named, as it stood out in only some repetitions: tok2 \(slot 12, serial serial2\) below the others in 1 of the 3\./);
    expect(text).not.toMatch(/ran far slower than the others/);
    // Slow in another repetition than the one shown: said all the same.
    const hidden = withRates(example(), even, [even, slowOnce, slowOnce]);
    hidden.spread = { ...hidden.spread!, relativePct: 3 };
    const r2 = { ...r, configurations: [...r.configurations.slice(0, -1), hidden] };
    expect(conclusions(r2).join('\n')).toMatch(/tok2 \(slot 12, serial serial2\) below the others in 2 of the 3/);
    // In all three: named, as every repetition shows it.
    const always = withRates(example(), slowOnce, [slowOnce, slowOnce, slowOnce]);
    always.spread = { ...always.spread!, relativePct: 3 };
    const r3 = { ...r, configurations: [...r.configurations.slice(0, -1), always] };
    expect(conclusions(r3).join('\n')).toMatch(/1 token of 8 stood out [^\n]*, in all 3 repetitions: tok2 \(slot 12, serial serial2\) at 6\.0\/s/);
  });

  it('names no token where the spread is within the noise of the runs', () => {
    const r = example();
    const c = withRates(r, [100, 96, 93.1, 98]);
    c.spread = { ...c.spread!, relativePct: 40 };
    const text = conclusions(r).join('\n');
    expect(text).toMatch(/With 4 tokens, no token stood out: they ran at 93\.1–100\.0\/s around a median of 97\.0\/s/);
    expect(text).not.toMatch(/serial serial/);
  });
});

describe('what the host did', () => {
  const busyHost: CpuUse = { processUserS: 3.5, processSystemS: 0.3, hostCpuS: 4, hostUserPct: 88, hostSystemPct: 10, loadAverage1m: 2.1 };
  const idleHost: CpuUse = { processUserS: 0.2, processSystemS: 0.1, hostCpuS: 4, hostUserPct: 6, hostSystemPct: 3, loadAverage1m: 0.3 };

  it('is measured between two moments: this process’s user and system time, the host’s CPUs busy', () => {
    const from = cpuSnapshot();
    // Spins until this process has used 50 ms of CPU, however long a loaded host takes to give it that.
    while (process.cpuUsage(from.processUs).user < 50_000);
    const use = cpuUseBetween(from, cpuSnapshot());
    expect(use.processUserS).toBeGreaterThanOrEqual(0.05);
    expect(use.hostCpuS).toBeGreaterThan(0);
    expect(use.hostUserPct + use.hostSystemPct).toBeGreaterThan(0);
    expect(use.hostUserPct + use.hostSystemPct).toBeLessThanOrEqual(100);
  });

  it("reads the host's CPU over the same interval as the process's: hsm-bench never above the host's busy share", () => {
    // A 2 s window on 2 CPUs whose work came in bursts shorter than the kernel's tick: the host's user and system
    // counters caught 0.10 CPU-s of it, its idle counter 3.30 CPU-s; the process used 0.67 CPU-s, exactly.
    const at = (s: number, processUs: number, user: number, system: number, idle: number) => ({
      processUs: { user: processUs, system: 0 },
      hostMs: { user, system, idle },
      wallNs: BigInt(s * 1e9),
      cpuCount: 2,
    });
    const use = cpuUseBetween(at(10, 0, 1000, 500, 9000), at(12, 670_000, 1080, 520, 12_300));
    expect(use.hostCpuS).toBe(4);
    expect(use.hostUserPct + use.hostSystemPct).toBeCloseTo(17.5, 1);
    expect(use.hostUserPct).toBeCloseTo(14, 1);
    expect(processSharePct(use)).toBeLessThanOrEqual(use.hostUserPct + use.hostSystemPct);
  });

  it('grounds the diagnosis: a busy host is the limit, an idle one is not', () => {
    const r = example();
    const last = r.configurations[r.configurations.length - 1]!;
    last.cpu = busyHost;
    const busy = conclusions(r).join('\n');
    expect(busy).toMatch(/the tokens waited for the host: the host's CPUs were 98 % busy during it, 95 % of their time in hsm-bench's process[^\n]*the host's CPU was the limit/);
    last.cpu = idleHost;
    expect(conclusions(r).join('\n')).toMatch(/the tokens waited for something they share other than the host's CPU — the module, a reader or hub \(the host's CPUs were only 9 % busy/);
    expect(renderScaleTable(r)).toMatch(/4 tokens: hsm-bench user 0\.20 s, system 0\.10 s \(8 % of the 4\.0 CPU-s the host had\); host 9 % busy \(user 6 %, system 3 %\), load 0\.30/);
  });
});

describe('stalls over the repetitions', () => {
  const stalls = (episodes: { tokens: number[]; durationS: number }[]) => ({
    minMs: 100,
    clusterLongestGapMs: 0,
    count: episodes.length,
    episodes: episodes.map((e, i) => ({ atS: i + 1, durationS: e.durationS, tokens: e.tokens, allTokensS: null, hostStallS: 0 })),
  });
  it('are counted in every repetition, not only the median one, with the tokens that stalled in each', () => {
    const r = example();
    const rates = [11.2, 11.5, 11.3, 11.3];
    const c = withRates(r, rates, [rates, rates, rates]);
    // The median repetition (shown) had no stall; the two others had tok2 stalled.
    c.stalls = stalls([]);
    c.repetitions![0]!.stalls = stalls([{ tokens: [2], durationS: 1.5 }]);
    c.repetitions![1]!.stalls = stalls([]);
    c.repetitions![2]!.stalls = stalls([
      { tokens: [2], durationS: 0.4 },
      { tokens: [1, 2], durationS: 0.3 },
    ]);
    const text = conclusions(r).join('\n');
    expect(text).toMatch(
      /With 4 tokens, 2 of the 4 tokens stalled in 2 of 3 repetitions \(1, 0, 2 times; a stall: 100 ms or more without a successful signature\): tok2 \(slot 12, serial serial2\) 3 times, the longest 1\.50 s; tok1 \(slot 11, serial serial1\) 1 time, the longest 300 ms; never all at once/,
    );
    expect(text).not.toMatch(/stalled in every repetition/);
    c.repetitions![1]!.stalls = stalls([{ tokens: [2], durationS: 0.2 }]);
    expect(conclusions(r).join('\n')).toMatch(/tok2 \(slot 12, serial serial2\) stalled in every repetition\./);
  });
});
