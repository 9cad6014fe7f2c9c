import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderScaleTable } from '../src/report/terminal-table.js';
import { readRunJson } from '../src/result/run-directory.js';
import type { RunResult } from '../src/model/run-result.js';
import { eventText } from '../src/cli/run-events.js';
import { latencyText } from '../src/core/latency-text.js';
import { renderBurnInSummary } from '../src/report/burn-in-summary.js';
import { rateTable } from '../src/report/sizing-tables.js';
import { compareRuns } from '../src/verdict/compare.js';
import { renderComparisonTable } from '../src/report/verdict-tables.js';
import type { ObjectivePercentile } from '../src/model/plan.js';

const EXAMPLES = new URL('../fixtures/examples/', import.meta.url).pathname;
const scaleRuns = readdirSync(EXAMPLES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'comparison')
  .map((d) => ({ name: d.name, run: readRunJson(join(EXAMPLES, d.name)) }))
  .filter((x) => x.run.command === 'scale');

/** The lines of the grids (a table's borders and rows), without the header lines above them. */
const gridLines = (text: string) => text.split('\n').filter((l) => /^[┌│├└]/.test(l));

describe('the terminal tables of a scale run', () => {
  it.each(scaleRuns.map((x) => [x.name, x.run] as const))('%s: every table fits 100 columns, a row a line', (_, run: RunResult) => {
    const text = renderScaleTable(run);
    const widths = gridLines(text).map((l) => l.length);
    expect(widths.length).toBeGreaterThan(0);
    expect(Math.max(...widths)).toBeLessThanOrEqual(100);
    // A plain scale run's table fits an 80-column terminal, where it was a block of 9 lines per configuration (with
    // --repeat its rates and efficiencies carry their ranges, and with --data-size the size and MB/s, within the 100).
    if (run.plan.targetRate === undefined && run.plan.threadsPerToken.length === 1 && !run.operation?.mix && (run.plan.repeat ?? 1) === 1 && run.plan.dataSizesBytes === undefined) {
      const lines = text.split('\n');
      const first = lines.slice(
        lines.findIndex((l) => l.startsWith('┌')),
        lines.findIndex((l) => l.startsWith('└')) + 1,
      );
      expect(Math.max(...first.map((l) => l.length))).toBeLessThanOrEqual(80);
    }
    // No rule between rows: a configuration is one line.
    expect(text).not.toMatch(/├/);
    // The lines that say what the short headers and marks mean, too.
    for (const line of text.split('\n').filter((l) => /^(✓ held|Resp:|\* )/.test(l))) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it('says "(range)" only over a range: a run without --repeat has none', () => {
    const single = scaleRuns.find((x) => x.run.plan.targetRate === undefined && (x.run.plan.repeat ?? 1) === 1)!.run;
    const repeated = scaleRuns.find((x) => (x.run.plan.repeat ?? 1) > 1)!.run;
    expect(renderScaleTable(single)).not.toContain('(range)');
    expect(renderScaleTable(repeated)).toMatch(/sig\/s \(range\)[\s\S]*\d+ \(\d+–\d+\)/);
  });

  it('shows a range whose ends show alike as one number: tokens at one rate, repetitions that agree', () => {
    const single = scaleRuns.find((x) => x.run.plan.targetRate === undefined && (x.run.plan.repeat ?? 1) === 1)!.run;
    const c = single.configurations.find((x) => x.perToken.length > 1)!;
    // Two tokens 0.3/s apart: the terminal shows whole rates from 100/s up, both 823.
    const same = { ...c, throughputPerS: 1646.4, perToken: c.perToken.map((t, i) => ({ ...t, throughputPerS: 823.1 + 0.3 * i })), spread: undefined };
    const text = renderScaleTable({ ...single, configurations: [same] });
    expect(text).toMatch(/│ 823\s+│/);
    expect(text).not.toMatch(/823–823/);
    const agreeing = { ...same, spread: { relativePct: 0, throughputPerS: { min: 1646.2, median: 1646.4, max: 1646.4 } } } as typeof c;
    expect(renderScaleTable({ ...single, configurations: [agreeing] })).toMatch(/1646 \(1646\)|1646\s+│/);
    expect(renderScaleTable({ ...single, configurations: [agreeing] })).not.toMatch(/1646–1646/);
  });
});

describe('the percentiles a user set, shown where they are judged', () => {
  const sizing = readRunJson(join(EXAMPLES, 'sizing-slow-rates'));
  const withObjectives = (...ps: ObjectivePercentile[]): RunResult => ({ ...sizing, plan: { ...sizing.plan, objectives: ps.map((percentile) => ({ percentile, ms: 50 })) } });
  const head = (text: string) => text.split('\n').find((l) => l.startsWith('│ Tokens'))!;

  it.each([
    [['p90'], ['Resp p90', 'Resp p99']],
    [['p50'], ['Resp p50', 'Resp p99']],
    [['p999'], ['Resp p99', 'Resp p99.9']],
    [['p99'], ['Resp p50', 'Resp p99']],
    [
      ['p50', 'p90', 'p99', 'p999'],
      ['Resp p50', 'Resp p90', 'Resp p99', 'Resp p99.9'],
    ],
  ] as [ObjectivePercentile[], string[]][])('--slo %s: the terminal rate table shows %s, within 100 columns', (ps, columns) => {
    const text = renderScaleTable(withObjectives(...ps));
    const shown = head(text)
      .split('│')
      .map((h) => h.trim())
      .filter((h) => h.startsWith('Resp'));
    expect(shown).toEqual(columns);
    expect(Math.max(...gridLines(text).map((l) => l.length))).toBeLessThanOrEqual(100);
    // A percentile the calls do not reach is '–', never bounded ("≥ –").
    expect(text).not.toContain('≥ –');
  });

  it("report.md's rate table: p50 and p99 always, and every objective's percentile", () => {
    const t = rateTable(withObjectives('p90'));
    expect(t.head.filter((h) => h.startsWith('Response'))).toEqual(['Response p50', 'Response p90', 'Response p99']);
    const c = sizing.configurations[0]!;
    expect(t.rows[0]![t.head.indexOf('Response p90')]).toContain(latencyText(c.openLoop!.responseMs!.p90));
  });
});

describe('a comparison in the terminal', () => {
  it('fits 100 columns where ratios are given by their bounds, never a bound at or below 0', () => {
    const baseline = readRunJson(new URL('../fixtures/frozen/scale-rsa2048', import.meta.url).pathname);
    // Each configuration's three repetitions at half, 0.8 and 1.1 times its rate: wide intervals, far from symmetric.
    const candidate = structuredClone(baseline);
    for (const c of candidate.configurations) {
      c.repetitions = c.repetitions!.map((x, i) => ({ ...x, throughputPerS: x.throughputPerS * [0.5, 0.8, 1.1][i]! }));
      c.throughputPerS = c.repetitions[1]!.throughputPerS;
    }
    const cmp = compareRuns(baseline, candidate, 10, true, false, ['p50', 'p99']);
    const text = renderComparisonTable(cmp);
    expect(Math.max(...gridLines(text).map((l) => l.length))).toBeLessThanOrEqual(100);
    for (const row of cmp.rows) {
      expect(row.throughputRatio.low).toBeGreaterThan(0);
      expect(text).toContain(`${row.throughputRatio.ratio.toFixed(3)} (${row.throughputRatio.low!.toPrecision(3)}–${row.throughputRatio.high!.toPrecision(3)})`);
    }
    expect(text.split('\n').find((l) => l.startsWith('│ Config'))).toContain('Rate ×');
  });
});

describe('the terminal summary of a burn-in', () => {
  const example = readRunJson(join(EXAMPLES, 'burn-in-resumed'));
  const summary = (r: RunResult) => renderBurnInSummary(r, { name: '', result: r, thresholds: [] });
  /** Eight tokens as a real lab has them: a 32-character label they share, 16-character serials, 12 hours of calls. */
  function eightTokens(): RunResult {
    const r = structuredClone(example);
    const c = r.configurations[0]!;
    const t0 = c.perToken[0]!;
    c.perToken = Array.from({ length: 8 }, (_, i) => ({
      ...t0,
      token: i,
      slotId: 1_000_000_000 + i,
      label: 'SmartCard-HSM PKCS#11 user PIN.A',
      serial: `DECC0100${String(i).padStart(8, '0')}`,
      operationsOk: 864_000_000 + i,
      operationsFailed: 12_345,
      throughputPerS: 19_999.9,
      longestGapMs: 2_123.4,
      outages: 12,
      outageS: 61.3,
      stillFailingS: i === 3 ? 12.5 : null,
    }));
    c.workerIssues = [{ token: 5, thread: 0, message: 'lost after failing for 3.0 s (--give-up-after): CKR_DEVICE_REMOVED on every call since 02:13:41' }];
    return r;
  }

  it.each([
    ['the example', example],
    ['eight tokens with long labels and 12 hours of calls', eightTokens()],
  ])('%s: the per-token table fits 100 columns, a token that did not end well numbered, why under the table', (_, run) => {
    const text = summary(run);
    const grid = gridLines(text);
    expect(grid.length).toBeGreaterThan(0);
    expect(Math.max(...grid.map((l) => l.length))).toBeLessThanOrEqual(100);
    // What the short headers mean, and each numbered reason, on lines of their own within the width.
    const under = text.split('\n').filter((l) => /^(OK: |\[\d+\] )/.test(l));
    for (const line of under.filter((l) => l.startsWith('OK'))) expect(line.length).toBeLessThanOrEqual(100);
    const notes = under.filter((l) => l.startsWith('['));
    for (const i of run.configurations[0]!.workerIssues) expect(notes.some((n) => n.includes(i.message))).toBe(true);
    const c = run.configurations[0]!;
    expect(notes.length).toBe(c.perToken.filter((t) => t.stillFailingS != null || c.workerIssues.some((i) => i.token === t.token)).length);
    // A token's times scaled with their unit, no "0.006" under a header in seconds.
    expect(text).not.toMatch(/│ \d+\.\d{3} +│/);
  });

  it('names tokens by serial where their labels repeat or are long, by label where each is its own', () => {
    expect(gridLines(summary(eightTokens())).join('\n')).toContain('DECC010000000003');
    expect(gridLines(summary(example)).join('\n')).toContain('hsm-bench-02');
  });
});

describe('the progress of a scale run', () => {
  const configuration = { axes: { tokens: 2, threadsPerToken: 1 }, repetition: 1, repeat: 1 };
  it('says the rate and the time left, in the configuration and in the run', () => {
    // 3rd of 9 configurations of 10 s each, 4 s into it: 6 s left in it, 6 more configurations of 10 s after it.
    const text = eventText({ type: 'configuration-progress', configuration, calls: 20000, plannedCalls: null, nouns: 'signatures', elapsedS: 4, startsInS: null, windowS: 10, index: 3, of: 9 });
    expect(text).toEqual({ progress: '2 tokens [3 of 9]: 20000 signatures, 5000/s, 00:00:06 left (00:01:06 in all)' });
  });
  it('estimates the time left from the rate where a count of calls stops the configuration', () => {
    const text = eventText({ type: 'configuration-progress', configuration, calls: 300, plannedCalls: 1000, nouns: 'signatures', elapsedS: 3, startsInS: null, windowS: null, index: 1, of: 1 });
    expect(text).toEqual({ progress: '2 tokens: 300 / 1000 signatures, 100/s, 00:00:07 left' });
  });
  it('says how long until an agreed window opens (--start-at), not a time elapsed in the wait', () => {
    const text = eventText({ type: 'configuration-progress', configuration, calls: 0, plannedCalls: null, nouns: 'signatures', elapsedS: 0, startsInS: 42, windowS: 10, index: 1, of: 2 });
    expect(text).toEqual({ progress: '2 tokens [1 of 2]: ready, starts in 00:00:42 (--start-at)' });
    const burnIn = eventText({ type: 'burn-in-progress', elapsedS: 0, startsInS: 42, ok: 0, target: null, currentPerS: 0, averagePerS: 0, failed: 0, etaS: null, nouns: 'signatures' });
    expect(burnIn).toEqual({ progress: 'ready, starts in 00:00:42 (--start-at)' });
  });
});
