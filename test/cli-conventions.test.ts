import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tokenLine } from '../src/report/describe-run.js';
import { fitTable } from '../src/report/fit-table.js';
import type { TokenIdentity } from '../src/model/run-result.js';
import { runCli, tempDir } from './helpers/cli.js';

const token = (i: number): TokenIdentity => ({
  slotId: String(100 + i),
  slotDescription: 'slot',
  label: `hsm-${i}`,
  manufacturer: 'm',
  model: 'SmartCard-HSM',
  serial: `S${i}`,
  firmwareVersion: '3.4',
});

describe('terminal output', () => {
  it('a table wider than the terminal becomes one block per row; a table that fits stays a grid', () => {
    const head = ['Configuration', 'Signatures', 'Signatures/s (range)'];
    const rows = [['1 token', 1000, '99.5 (98.0–101.0)']];
    const grid = fitTable(head, rows, 200);
    expect(grid).toMatch(/┌/);
    const blocks = fitTable(head, rows, 30);
    expect(blocks).not.toMatch(/┌/);
    expect(blocks.split('\n')).toEqual(['1 token', '  Signatures            1000', '  Signatures/s (range)  99.5 (98.0–101.0)']);

    // Off a terminal, nothing wraps: always the grid.
    expect(fitTable(head, rows, undefined)).toBe(grid);
  });

  it('many tokens fit on one line', () => {
    expect(tokenLine({ tokens: [token(1), token(2)] })).toBe('hsm-1 (SmartCard-HSM, serial S1, slot 101), hsm-2 (SmartCard-HSM, serial S2, slot 102)');
    const line = tokenLine({ tokens: Array.from({ length: 32 }, (_, i) => token(i + 1)) });
    expect(line).toBe('32 tokens, hsm-1 … hsm-32 (SmartCard-HSM; slots 101 … 132)');
  });
});

describe('--help and flags', () => {
  it("--version and -V print package.json's version alone; with more arguments commander answers the same", () => {
    const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version as string;
    for (const args of [['--version'], ['-V'], ['--version', 'scale']]) {
      const r = runCli(args);
      expect([r.status, r.stdout, r.stderr], args.join(' ')).toEqual([0, `${version}\n`, '']);
    }
  });

  it('groups the options, shows examples and exit codes; burn-in has no scaling efficiency to check', () => {
    const scale = runCli(['scale', '--help']);
    expect(scale.status).toBe(0);
    for (const heading of ['Measurement:', 'Output:', 'Tokens:', 'CI checks:', 'Examples:', 'Exit codes:']) expect(scale.stdout).toContain(heading);
    expect(scale.stdout).toMatch(/--alg <alg>\s+algorithm \(required for sign\)/);
    expect(scale.stdout).toMatch(/--module <path>[\s\S]*env:\s+HSM_BENCH_MODULE/);
    expect(scale.stdout).toMatch(/--workspace <dir>[\s\S]*env:\s+HSM_BENCH_WORKSPACE/);
    const burnIn = runCli(['burn-in', '--help']);
    expect(burnIn.stdout).toContain('--max-p99');
    expect(burnIn.stdout).not.toContain('--min-efficiency');
    const bad = runCli(['scale', '--alg', 'p256', '--baseline-missing', 'maybe']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Allowed choices are fail, warn/);
  });

  it('prints the tokens and the plan on stderr before the first signature', () => {
    const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '20', '--out', tempDir('conv')], { HSM_BENCH_WORKSPACE: tempDir('conv-ws'), CI: 'true' });
    expect(r.status).toBe(0);
    const plan = r.stderr.indexOf('plan:    20 signatures per token');
    expect(plan).toBeGreaterThanOrEqual(0);
    expect(r.stderr.indexOf('tokens:  ')).toBeLessThan(plan);
    expect(plan).toBeLessThan(r.stderr.indexOf('1 token: running'));
  });
});
