import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { renderJunit } from '../src/report/junit.js';
import { readRunJson } from '../src/result/run-directory.js';
import { judgeRun } from '../src/verdict/verdict.js';
import { tempDir } from './helpers/cli.js';

/**
 * JUnit cases of runs that differ only in how each call is made or in their data sizes: a CI keys each case's history
 * by classname and name, so no two of them may share both. And a green case of a sampled host check says so.
 */
const FIXTURE = new URL('../fixtures/run-rsa2048', import.meta.url).pathname;

/** The fixture run (rsa2048, 1 and 2 tokens) with its plan changed, and a data size on each configuration where the plan has them. */
function variant(plan: Partial<RunResult['plan']>): RunResult {
  const r = readRunJson(FIXTURE);
  const sizes = plan.dataSizesBytes;
  return {
    ...r,
    plan: { ...r.plan, ...plan },
    configurations: sizes ? sizes.flatMap((dataSizeBytes) => r.configurations.map((c) => ({ ...c, dataSizeBytes }))) : r.configurations,
  };
}

/** The classname and name of every case, and the cases' system-out, of a run judged with --max-failures 0. */
function casesOf(r: RunResult): { ids: string[]; outs: string[]; xml: string } {
  const xml = renderJunit([judgeRun('rsa2048', r, { thresholds: { maxFailures: 0 }, strictLatency: false })]);
  const file = join(tempDir('junit-cases'), 'junit.xml');
  writeFileSync(file, xml);
  const attr = (xpath: string) =>
    execFileSync('xmllint', ['--xpath', xpath, file], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.trim());
  const classnames = attr('//testcase/@classname').map((a) => a.replace(/^classname="(.*)"$/, '$1'));
  const names = attr('//testcase/@name').map((a) => a.replace(/^name="(.*)"$/, '$1'));
  return { ids: names.map((n, i) => `${classnames[i]} ${n}`), outs: attr('//testcase/system-out/text()'), xml };
}

describe('JUnit case names tell configurations apart', () => {
  it('runs that differ only by --session-per-call, --find-key-per-call, --multipart or --data-size share no case', () => {
    const variants: [string, Partial<RunResult['plan']>][] = [
      ['pooled', {}],
      ['session per call', { perCall: { session: true, findKey: false } }],
      ['key per call', { perCall: { session: false, findKey: true } }],
      ['in parts of 4 KiB', { multipartChunkBytes: 4096, dataSizesBytes: [65536] }],
      ['in parts of 1 KiB', { multipartChunkBytes: 1024, dataSizesBytes: [65536] }],
      ['64 KiB whole', { dataSizesBytes: [65536] }],
      ['1 KiB whole', { dataSizesBytes: [1024] }],
    ];
    const all = variants.flatMap(([, plan]) => casesOf(variant(plan)).ids);
    expect(all.length).toBe(variants.length * 3);
    expect(new Set(all).size).toBe(all.length);
    // And the names say it.
    expect(casesOf(variant({ perCall: { session: true, findKey: false } })).ids).toContain('hsm-bench.rsa2048 rsa2048-session-per-call.tokens-2.signatures');
    expect(casesOf(variant({ perCall: { session: false, findKey: true } })).ids).toContain('hsm-bench.rsa2048 rsa2048-find-key-per-call.run.max-failures');
    expect(casesOf(variant({ multipartChunkBytes: 4096, dataSizesBytes: [65536] })).ids).toEqual([
      'hsm-bench.rsa2048 rsa2048-multipart-4k.tokens-1-data-64k.signatures',
      'hsm-bench.rsa2048 rsa2048-multipart-4k.tokens-2-data-64k.signatures',
      'hsm-bench.rsa2048 rsa2048-multipart-4k.run-data-64k.max-failures',
    ]);
    // A pooled run measured whole keeps the names it always had: its CI history goes on.
    expect(casesOf(variant({})).ids).toEqual(['hsm-bench.rsa2048 rsa2048.tokens-1.signatures', 'hsm-bench.rsa2048 rsa2048.tokens-2.signatures', 'hsm-bench.rsa2048 rsa2048.run.max-failures']);
  });
});

describe('JUnit case names within one run', () => {
  it('a --min-throughput check of a configuration not measured is one case per data size', () => {
    const r = variant({ dataSizesBytes: [1024, 65536] });
    // Interrupted before its 2-token configurations.
    r.interrupted = true;
    r.configurations = r.configurations.filter((c) => c.tokens === 1);
    const xml = renderJunit([judgeRun('rsa2048', r, { thresholds: { minThroughput: { largest: 1 } }, strictLatency: false })]);
    const names = [...xml.matchAll(/<testcase classname="[^"]*" name="([^"]*)"/g)].map((m) => m[1]!);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((n) => n.endsWith('.min-throughput'))).toEqual(['rsa2048.tokens-2-data-1k.min-throughput', 'rsa2048.tokens-2-data-64k.min-throughput']);
  });
});

describe('JUnit says what share of the outputs the host checked', () => {
  it('a sampled check (--verify 0.01) is said in every case and counted in each configuration', () => {
    const r = variant({ verify: { mode: 'sample', every: 100 } });
    r.configurations = r.configurations.map((c) => ({ ...c, operationsVerified: Math.round(c.operationsOk / 100) }));
    const { outs, xml } = casesOf(r);
    expect(outs).toHaveLength(3);
    for (const out of outs) expect(out).toContain('every 100th signature checked on the host (--verify 0.01)');
    expect(xml).toContain('value="100 OK, 1 of them checked on the host (--verify 0.01), 0 failed');
    expect(xml).toContain('value="200 OK, 2 of them checked on the host (--verify 0.01), 0 failed');
  });

  it('every output checked (--verify all) needs no word beside the cases', () => {
    const { outs } = casesOf(variant({}));
    for (const out of outs) expect(out).not.toMatch(/checked on the host/);
  });
});
