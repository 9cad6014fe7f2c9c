import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';

const readRun = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');

/** The report's sections in order: the verdict must be the first. */
const sections = (md: string) => [...md.matchAll(/^## (.+)$/gm)].map((m) => m[1]);

describe('the verdict in run.json and first in the reports', () => {
  it('a scale run with failed thresholds keeps each check in run.json and shows them first; `report` restores them', () => {
    const ws = { HSM_BENCH_WORKSPACE: tempDir('ws') };
    // Two checks that fail (no token signs a million a second, none in a tenth of a microsecond) and one that passes.
    const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '100', '--min-throughput', '1000000', '--max-p99', '0.0001', '--max-failures', '0', '--strict-latency'], ws);
    expect(r.status, r.stderr).toBe(5);
    const dir = runDirOf(r);
    const verdict = readRun(dir).verdict!;
    expect(verdict.exitCode).toBe(5);
    expect(verdict.checks.map((c) => [c.name, c.outcome])).toEqual([
      ['max-failures', 'pass'],
      ['min-throughput', 'fail'],
      ['max-p99', 'fail'],
    ]);
    expect(verdict.checks[1]).toMatchObject({ configuration: { tokens: 1, threadsPerToken: 1 }, expected: '≥ 1000000/s' });
    const check = (md: string) => {
      expect(sections(md)[0]).toBe('Verdict');
      expect(md).toMatch(/\*\*Verdict: FAILED: 2 checks failed: min-throughput \(1 token\): [\d.]+\/s, expected ≥ 1000000\/s; max-p99/);
      expect(md).toMatch(/\| min-throughput \| 1 token \| ≥ 1000000\/s \| [\d.]+\/s \| FAIL \|/);
      expect(md).toMatch(/\| max-failures \| run \| ≤ 0 \| 0 \| pass \|/);
    };
    check(read(dir, 'report.md'));
    expect(read(dir, 'report.html')).toMatch(/<h2>Verdict<\/h2>[\s\S]*min-throughput[\s\S]*<h2>Tokens<\/h2>/);
    // Regenerated from run.json and the records alone: the same verdict, first.
    rmSync(join(dir, 'report.md'));
    expect(runCli(['report', dir]).status).toBe(0);
    check(read(dir, 'report.md'));
  }, 120_000);

  it('a burn-in that exits 5 names the failed check in its report and terminal, never "see the checks" with none', () => {
    const ws = { HSM_BENCH_WORKSPACE: tempDir('ws') };
    const r = runCli(['burn-in', '--alg', 'p256', '--tokens', '1', '--signatures', '100', '--min-throughput', '1000000', '--strict-latency'], ws);
    expect(r.status, r.stderr).toBe(5);
    const dir = runDirOf(r);
    expect(readRun(dir).verdict).toMatchObject({ exitCode: 5, checks: [{ name: 'min-throughput', outcome: 'fail' }] });
    const md = read(dir, 'report.md');
    expect(sections(md)[0]).toBe('Verdict');
    expect(md).not.toMatch(/see the checks/);
    expect(md).toMatch(/\*\*Verdict: FAILED: 1 check failed: min-throughput \(1 token\): [\d.]+\/s, expected ≥ 1000000\/s \(exit code 5\)\*\*/);
    expect(r.stdout).toMatch(/verdict: FAILED: 1 check failed: min-throughput/);
  }, 120_000);
});

describe("a baseline comparison's checks in run.json", () => {
  it('one per configuration compared, with the ratios measured; one failed per configuration not measured', async () => {
    const { compareRuns } = await import('../src/verdict/compare.js');
    const { verdictOf } = await import('../src/verdict/verdict.js');
    const base = readRun(new URL('../fixtures/run-rsa2048/', import.meta.url).pathname);
    // The candidate was stopped before its 2-token configuration: it is not measured, and fails.
    const cut: RunResult = { ...base, runId: 'cut', configurations: [base.configurations[0]!] };
    const v = verdictOf({ name: 'x', result: cut, thresholds: [], comparison: compareRuns(base, cut, 10, false) });
    expect(v.exitCode).toBe(5);
    expect(v.baseline).toEqual({ runId: base.runId, maxRegressionPct: 10 });
    expect(v.checks).toEqual([
      expect.objectContaining({
        name: 'baseline',
        configuration: { tokens: 1, threadsPerToken: 1 },
        outcome: 'pass',
        measured: expect.stringMatching(/^throughput 1\.00 × \(noise unknown\), p50 1\.00 × \(noise unknown\), p99 1\.00 × \(noise unknown\)$/),
      }),
      expect.objectContaining({ name: 'baseline', configuration: { tokens: 2, threadsPerToken: 1 }, outcome: 'fail', measured: expect.stringMatching(/^not measured: /) }),
    ]);
  });
});
