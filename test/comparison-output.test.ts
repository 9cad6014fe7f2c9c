import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { comparisonMarkdownBody } from '../src/report/comparison.js';
import { readRunJson } from '../src/result/run-directory.js';
import { readReference } from '../src/result/reference.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const example = (name: string) => readRunJson(join(FIXTURES, 'examples', name));

describe('comparisons a reader can read', () => {
  it('gives comparison tables short headers: the unit and what the ratios are to said once, above the table', () => {
    const runs = [example('scale-rsa2048'), example('scale-bp256'), example('scale-p256')];
    const body = comparisonMarkdownBody(runs, ['RSA-2048', 'ECDSA brainpoolP256r1', 'ECDSA P-256'], readReference(join(FIXTURES, 'smartcard-hsm-ea-2015.json')));
    const head = body.split('\n').find((l) => l.startsWith('| Configuration'))!;
    const headers = head
      .split('|')
      .map((h) => h.trim())
      .filter(Boolean);
    for (const h of headers) expect(h.length, h).toBeLessThanOrEqual(20);
    expect(headers).toContain('bp256/rsa2048');
    expect(body).toMatch(/^Throughput in sig\/s; …\/rsa2048: the ratio \(×\) to RSA-2048/m);
    // A reference with no figure for a run has no column of dashes.
    expect(headers).not.toContain('ref. p256');
  });

  it('prints the ratios of `report A B` in the terminal, not only where they were written', () => {
    // Copies: `report` writes each run's own files into its folder.
    const copy = (name: string) => {
      const dir = join(tempDir('report-ab'), name);
      cpSync(join(FIXTURES, name), dir, { recursive: true });
      return dir;
    };
    const r = runCli(['report', copy('run-rsa2048'), copy('run-bp256'), '--format', 'csv', '--out', tempDir('report-ab-out')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/│ Configuration +│ rsa2048 +│ bp256 +│ bp256\/rsa2048 +│/);
    expect(r.stdout).toMatch(/ECDSA brainpoolP256r1 is [\d.]+× as fast as RSA-2048/);
  });

  it("writes compare's verdict into comparison.md as a Markdown table, not a terminal grid", () => {
    const out = tempDir('compare-md');
    const r = runCli(['compare', join(FIXTURES, 'run-rsa2048'), join(FIXTURES, 'run-rsa2048'), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const md = readFileSync(join(out, 'comparison.md'), 'utf8');
    expect(md).toMatch(/^\| Config \| Base\/s \| Cand\/s \| Rate × \|/m);
    expect(md).not.toMatch(/```|│/);
  });

  it('writes no path of the folder a run was written to into its reports', () => {
    const out = tempDir('paths-out');
    const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '50', '--warmup', '2', '--out', out], { HSM_BENCH_WORKSPACE: tempDir('paths-ws') });
    expect(r.status, r.stderr).toBe(0);
    const dir = runDirOf(r);
    const files = ['report.md', 'report.html', 'run.json', 'summary.csv'];
    for (const f of files) expect(readFileSync(join(dir, f), 'utf8'), f).not.toContain(out);
    // The command line that reproduces the run is still there, without the folder.
    expect(readRunJson(dir).commandLine).toBe('hsm-bench scale --alg p256 --tokens 1 --signatures-per-token 50 --warmup 2');
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(files));
  });
});

describe('the shipped examples', () => {
  it('carry no path of the machine they were made on: no temporary folder, no checkout (fixtures/examples/regenerate.sh)', () => {
    const examples = join(FIXTURES, 'examples');
    const root = new URL('..', import.meta.url).pathname;
    const files = readdirSync(examples, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => ['run.json', 'report.md', 'report.html', 'summary.csv', 'comparison.md'].map((f) => join(examples, d.name, f)))
      .filter((f) => existsSync(f));
    expect(files.length).toBeGreaterThan(8);
    const found = files.flatMap((f) => {
      const text = readFileSync(f, 'utf8');
      return ['/tmp/', root].filter((path) => text.includes(path)).map((path) => `${f.slice(examples.length + 1)}: ${path}`);
    });
    expect(found).toEqual([]);
  });
});
