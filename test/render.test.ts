import { appendFileSync, cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadImage, createCanvas } from 'canvas';
import { describe, expect, it } from 'vitest';
import { parseCsvLine } from '../src/result/records-csv.js';
import { comparisonMarkdownBody, compareThroughput } from '../src/report/comparison.js';
import { CHART_HEIGHT, CHART_WIDTH, PIXEL_RATIO } from '../src/report/charts.js';
import { conclusions } from '../src/report/conclusions.js';
import { seedTable } from '../src/report/markdown.js';
import { renderScaleTable } from '../src/report/terminal-table.js';
import { readReference, referenceThroughput } from '../src/result/reference.js';
import { SUMMARY_COLUMNS } from '../src/report/summary-csv.js';
import { writeReports } from '../src/report/write-reports.js';
import { readRunJson } from '../src/result/run-directory.js';
import { evaluateThresholds } from '../src/verdict/thresholds.js';
import { runCli, tempDir } from './helpers/cli.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

/** A writable copy of a checked-in fixture run (run.json and records only). */
function fixtureRun(name: string): string {
  const dir = join(tempDir('render'), name);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

describe('renderers, from fixture runs', () => {
  it('write the seed-shaped Markdown table, with the reference column when given', async () => {
    const dir = fixtureRun('run-rsa2048');
    const run = readRunJson(dir);
    const reference = readReference(join(FIXTURES, 'smartcard-hsm-ea-2015.json'));
    const { files, warnings } = await writeReports(dir, run, ['md', 'csv', 'png'], reference);
    expect(warnings).toEqual([]);
    expect(files).toEqual([
      'summary.csv',
      'charts/throughput.png',
      'charts/throughput.svg',
      'charts/efficiency.png',
      'charts/efficiency.svg',
      'charts/per-token.png',
      'charts/per-token.svg',
      'charts/latency.png',
      'charts/latency.svg',
      'charts/throughput-over-time.png',
      'charts/throughput-over-time.svg',
      'report.md',
    ]);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    // The same columns as the terminal's table (one table model), with the reference beside the measured rate.
    expect(md).toContain('| Configuration | Signatures | Duration (s) | Signatures/s | Reference sig/s | Per token sig/s (min–max) | Service p50 | Service p99 | Failures | Efficiency |');
    for (const c of run.configurations) {
      const ref = referenceThroughput(reference, 'rsa2048').get(c.tokens)!;
      expect(md).toContain(`| ${c.tokens} token${c.tokens > 1 ? 's' : ''} × RSA-2048 | ${c.operationsOk} | ${c.durationS.toFixed(2)} | ${c.throughputPerS.toFixed(1)} | ${ref.toFixed(1)} |`);
    }
    expect(md).toMatch(/!\[Throughput vs number of tokens\]\(charts\/throughput.png\)/);
    expect(md).toMatch(/## Conclusion[\s\S]*efficiency/);
    expect(md).toContain(run.tokens[1]!.serial);
    // The facts as a list, not a table with an empty header row.
    expect(md).toMatch(/^- \*\*Host\*\*: /m);
    expect(md).not.toMatch(/^\|\s*\|\s*\|$/m);
  });

  it('write a summary.csv that parses back to the numbers of run.json', async () => {
    const dir = fixtureRun('run-bp256');
    const run = readRunJson(dir);
    await writeReports(dir, run, ['csv'], undefined);
    const [head, ...rows] = readFileSync(join(dir, 'summary.csv'), 'utf8').trim().split('\n').map(parseCsvLine);
    expect(head).toEqual(SUMMARY_COLUMNS);
    const col = (row: string[], name: string) => row[SUMMARY_COLUMNS.indexOf(name)]!;
    for (const c of run.configurations) {
      const total = rows.find((r) => Number(col(r, 'configurationTokens')) === c.tokens && col(r, 'token') === 'all')!;
      expect(Number(col(total, 'operationsOk'))).toBe(c.operationsOk);
      expect(Number(col(total, 'throughputPerS'))).toBe(c.throughputPerS);
      expect(Number(col(total, 'serviceP99Ms'))).toBe(c.latencyMs!.p99);
      for (const t of c.perToken) {
        const row = rows.find((r) => Number(col(r, 'configurationTokens')) === c.tokens && col(r, 'token') === String(t.token))!;
        expect(Number(col(row, 'throughputPerS'))).toBe(t.throughputPerS);
        expect([col(row, 'slotId'), col(row, 'label'), col(row, 'serial')]).toEqual([t.slotId, t.label, t.serial]);
      }
    }
    expect(rows).toHaveLength(run.configurations.reduce((n, c) => n + c.perToken.length + 1, 0));
  });

  it('draw PNG charts that decode, have the expected size and are not blank', async () => {
    const dir = fixtureRun('run-bp256');
    await writeReports(dir, readRunJson(dir), ['png'], undefined);
    for (const chart of ['throughput', 'efficiency', 'per-token', 'latency', 'throughput-over-time']) {
      const image = await loadImage(readFileSync(join(dir, 'charts', `${chart}.png`)));
      // Drawn at twice the density, for print and high-DPI screens; the SVG beside it scales to any size.
      expect([image.width, image.height]).toEqual([CHART_WIDTH * PIXEL_RATIO, CHART_HEIGHT * PIXEL_RATIO]);
      const svg = readFileSync(join(dir, 'charts', `${chart}.svg`), 'utf8');
      expect(svg).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/);
      // Vector graphics, not a picture of the chart wrapped in SVG (cairo rasterizes a page it cannot express).
      expect(svg).not.toContain('<image');
      expect(svg).toMatch(/<path /);
      const ctx = createCanvas(image.width, image.height).getContext('2d');
      ctx.drawImage(image, 0, 0);
      const pixels = ctx.getImageData(0, 0, image.width, image.height).data;
      // On a white page, opaque.
      expect([...pixels.subarray(0, 4)]).toEqual([255, 255, 255, 255]);
      const colours = new Set<number>();
      for (let i = 0; i < pixels.length; i += 4 * 97) colours.add((pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]!);
      expect(colours.size).toBeGreaterThan(5);
    }
  });

  it('compare two runs of different algorithms configuration by configuration', () => {
    const rsa = readRunJson(join(FIXTURES, 'run-rsa2048'));
    const ec = readRunJson(join(FIXTURES, 'run-bp256'));
    const rows = compareThroughput([rsa, ec]);
    expect(rows.map((r) => r.tokens)).toEqual([1, 2]);
    rows.forEach((row, i) => {
      expect(row.throughputs).toEqual([rsa.configurations[i]!.throughputPerS, ec.configurations[i]!.throughputPerS]);
      expect(row.ratios[0]).toBe(1);
      expect(row.ratios[1]).toBeCloseTo(ec.configurations[i]!.throughputPerS / rsa.configurations[i]!.throughputPerS, 2);
    });
    expect(seedTable(rsa)).not.toContain('Reference');
  });

  it("says when a speed ratio does not tell two runs apart: each configuration's 95 % interval from the runs' own noise, as compare judges it", () => {
    const a = readRunJson(join(FIXTURES, 'run-rsa2048'));
    const b = structuredClone(a);
    b.configurations.forEach((c) => (c.throughputPerS *= 0.95));
    // As combineRepetitions leaves them: the repetitions, and the range of their throughput.
    const withRepetitions = (r: typeof a, spread: number) =>
      r.configurations.forEach((c) => {
        const t = c.throughputPerS;
        c.repetitions = [t * (1 - spread), t, t * (1 + spread)].map((x) => ({ ...c, throughputPerS: x, repetitions: undefined }) as never);
        c.spread = { throughputPerS: { min: t * (1 - spread), median: t, max: t * (1 + spread) }, relativePct: 200 * spread };
      });
    withRepetitions(a, 0.2);
    withRepetitions(b, 0.2);
    const noisy = comparisonMarkdownBody([a, b], ['a', 'b']);
    // Not "b is 0.95× as fast as a": the intervals hold 1, and the table shows them.
    expect(noisy).toMatch(/b is not told apart from a: its throughput is 0\.95× theirs \(median over the configurations both ran\), within the noise in every configuration/);
    expect(noisy).toMatch(/\| 1 token \| [\d.]+ \| [\d.]+ \| 0\.950 × \([\d.]+–[\d.]+\) \|/);
    withRepetitions(a, 0.01);
    withRepetitions(b, 0.01);
    expect(comparisonMarkdownBody([a, b], ['a', 'b'])).toMatch(
      /b is 0\.95× as fast as a \(median over the configurations both ran\): beyond the noise \(the ratio's 95 % interval clear of 1\) slower in 2 of 2 configurations\./,
    );
  });
});

describe('hsm-bench report', () => {
  it('regenerates every artifact of a run and compares two runs', () => {
    const rsa = fixtureRun('run-rsa2048');
    const ec = fixtureRun('run-bp256');
    const out = tempDir('comparison');
    const r = runCli(['report', rsa, ec, '--out', out, '--reference', join(FIXTURES, 'smartcard-hsm-ea-2015.json')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${rsa}: summary.csv, charts/throughput.png, charts/throughput.svg, charts/efficiency.png, charts/efficiency.svg, charts/per-token.png`);
    expect(r.stdout).toContain('charts/throughput-over-time.svg, report.md');
    const comparison = readFileSync(join(out, 'comparison.md'), 'utf8');
    // Ratios per configuration, the reference's own beside them, and the median of the ratios (not their mean).
    expect(comparison).toContain('| Configuration | rsa2048 | bp256 | bp256/rsa2048 | ref. rsa2048 | ref. bp256 | ref. bp256/rsa2048 |');
    expect(comparison).toMatch(
      /ECDSA brainpoolP256r1 is [\d.]+× as fast as RSA-2048 \(median over the configurations both ran\); in the reference, 2\.\d\d×: the noise of every configuration is unknown/,
    );
    expect(readFileSync(join(out, 'comparison.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('draws the reference the run was made with again, without --reference (run.json keeps it)', () => {
    const dir = fixtureRun('run-rsa2048');
    const doc = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    doc.reference = readReference(join(FIXTURES, 'smartcard-hsm-ea-2015.json'));
    writeFileSync(join(dir, 'run.json'), JSON.stringify(doc));
    expect(runCli(['report', dir, '--format', 'md']).status).toBe(0);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('| Reference sig/s |');
  });

  it('writes a comparison where the glob that picked the runs will not pick it up again', () => {
    const parent = tempDir('glob');
    cpSync(join(FIXTURES, 'run-rsa2048'), join(parent, '20260101-000000-rsa2048'), { recursive: true });
    cpSync(join(FIXTURES, 'run-bp256'), join(parent, '20260101-000100-bp256'), { recursive: true });
    const runs = () =>
      readdirSync(parent)
        .filter((d) => /-(rsa2048|bp256)$/.test(d))
        .map((d) => join(parent, d));
    for (let i = 0; i < 2; i++) expect(runCli(['report', ...runs(), '--format', 'md']).status).toBe(0);
    expect(runs()).toHaveLength(2);
    expect(readdirSync(join(parent, 'comparisons'))).toHaveLength(1);
  });

  it('rejects a run.json of an unknown schema version with a clear message', () => {
    const dir = fixtureRun('run-rsa2048');
    const doc = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...doc, schemaVersion: 99 }));
    const r = runCli(['report', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/schema version 99; this hsm-bench reads versions 2 to 5/);
  });

  it('counts and names torn or junk record lines instead of drawing them', () => {
    const dir = fixtureRun('run-rsa2048');
    appendFileSync(join(dir, 'records', 'tokens-2.csv'), '2,1,0,999,12\nnot a record\n');
    const r = runCli(['report', dir, '--format', 'png']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/records\/tokens-2\.csv: 2 line\(s\) are not records and were skipped \(first: line \d+\)/);
  });

  it('rejects an unknown format', () => {
    const r = runCli(['report', fixtureRun('run-rsa2048'), '--format', 'md,pdf']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown report format 'pdf'/);
  });
});

describe('a busy host', () => {
  it('is said in the terminal summary as in the report, and only when it was busy', () => {
    const r = readRunJson(new URL('../fixtures/run-rsa2048/', import.meta.url).pathname);
    r.host = { ...r.host, cpuCount: 2, loadAverage: [5.29, 4.33, 8.24] };
    const said = /the host was busy before the run \(load average 5\.29 on 2 cores\): other work shared the CPU with the run/i;
    expect(renderScaleTable(r)).toMatch(new RegExp(`note: ${said.source}`, 'i'));
    expect(conclusions(r).join(' ')).toMatch(said);
    r.host.loadAverage = [0.4, 0.4, 0.4];
    expect(renderScaleTable(r) + conclusions(r).join(' ')).not.toMatch(said);
  });
});

describe('the scaling conclusion', () => {
  const base = () => readRunJson(new URL('../fixtures/run-rsa2048/', import.meta.url).pathname);
  /**
   * The fixture's 2-token configuration reshaped: throughput ×`gain` of one token, mean latency ×`growth`, and each
   * signer inside C_Sign for the share `busy` of the window (its rate × its mean latency).
   */
  function twoTokens(gain: number, growth: number, busy: number) {
    const r = base();
    const [one, two] = r.configurations as [(typeof r.configurations)[0], (typeof r.configurations)[0]];
    two.throughputPerS = one.throughputPerS * gain;
    two.efficiency = gain / 2;
    two.latencyMs = { ...two.latencyMs!, mean: one.latencyMs!.mean * growth };
    for (const t of two.perToken) {
      t.throughputPerS = two.throughputPerS / 2;
      t.latencyMs = { ...t.latencyMs!, mean: (busy * 1000) / t.throughputPerS };
    }
    return { ...r, backend: { kind: 'module' } as const };
  }
  it('says a flat line with the signers always inside C_Sign and each signature slower is a shared bottleneck', () => {
    const text = conclusions(twoTokens(1.05, 1.9, 0.98)).join(' ');
    expect(text).toMatch(/Scaling is poor/);
    expect(text).toMatch(/inside C_Sign 98 % of the time.*took 1\.9× as long on average as with one token.*the tokens waited for something they share — the module, a reader or hub, or the host/);
  });
  it('says near-linear scaling held nothing back', () => {
    expect(conclusions(twoTokens(1.95, 1.0, 0.99)).join(' ')).toMatch(/near-linear.*Nothing the tokens share held them back/);
  });
  it('says an efficiency above 1 beyond the noise is a low basis, not that nothing held the tokens back, everywhere it is shown', () => {
    // 2 tokens at 2.6× one token: efficiency 1.3, with the basis's window stalled by the host.
    const r = twoTokens(2.6, 1.0, 0.99);
    const one = r.configurations[0]!;
    one.stalls = { ...(one.stalls ?? { minMs: 1000, clusterLongestGapMs: 0, episodes: [] }), host: { count: 2, totalMs: 1800 } } as never;
    const text = conclusions(r).join(' ');
    expect(text).not.toMatch(/Nothing the tokens share held them back/);
    expect(text).toMatch(
      /Scaling is above linear: .*efficiency 1\.30\)\. Identical tokens do not scale better than linearly: the 1-token basis \([\d.]+ signatures\/s\) looks low, and this efficiency is not a finding — in its window, the host stalled hsm-bench 2 times \(1\.80 s in all\)/,
    );
    expect(renderScaleTable(r)).toMatch(/1\.30†[\s\S]*† efficiency above 1 beyond the noise \(2 tokens\)/);
    expect(seedTable(r)).toMatch(/1\.30†/);
    expect(evaluateThresholds(r, { minEfficiency: 0.8 })[0]).toMatchObject({ outcome: 'inconclusive', notJudged: expect.stringMatching(/1-token basis looks low/) });
    // Within the noise (1.05 without repetitions) it is near-linear, as before.
    const near = twoTokens(2.1, 1.0, 0.99);
    expect(conclusions(near).join(' ')).toMatch(/near-linear.*Nothing the tokens share held them back/);
    expect(renderScaleTable(near)).not.toMatch(/†/);
    expect(evaluateThresholds(near, { minEfficiency: 0.8 })[0]!.outcome).toBe('pass');
  });
  it('says when the signers were often outside C_Sign: signatures were not issued fast enough', () => {
    expect(conclusions(twoTokens(1.1, 1.05, 0.5)).join(' ')).toMatch(/only 50 % of the window inside C_Sign: signatures were not issued fast enough/);
  });
  it('says an efficiency from repetitions far apart is not settled, with the range it could take', () => {
    const r = twoTokens(1.95, 1.0, 0.99);
    const [one, two] = r.configurations as [(typeof r.configurations)[0], (typeof r.configurations)[0]];
    one.spread = { throughputPerS: { min: one.throughputPerS * 0.5, median: one.throughputPerS, max: one.throughputPerS * 1.5 }, relativePct: 100 };
    two.spread = { throughputPerS: { min: two.throughputPerS, median: two.throughputPerS, max: two.throughputPerS }, relativePct: 0 };
    one.repetitions = [0.5, 1, 1.5].map((f) => ({ ...one, throughputPerS: one.throughputPerS * f })) as never;
    two.repetitions = [two, two, two] as never;
    // Round by round: 2 tokens' 1,033/s over one token's 265, 530 and 795/s.
    expect(conclusions(r).join(' ')).toMatch(
      /Scaling is sub-linear to near-linear: 2 tokens reached 1033\.5 signatures\/s, 1\.95× one token \(1\.30–3\.90× over the repetitions\) \(efficiency 0\.97, 0\.65–1\.95\)\. Not settled: the repetitions differ by up to 100 %/,
    );
  });
});
