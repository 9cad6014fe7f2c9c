import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { configurationName } from '../src/model/configuration.js';
import type { RunResult } from '../src/model/run-result.js';
import { failureOf } from '../src/model/record-status.js';
import { readRecords } from '../src/result/records-file.js';
import { schemaProblems } from '../src/result/schemas.js';
import { decodeHistogram, latencyHistogram, percentilesMs } from '../src/stats/latency-histogram.js';
import { BIN, runCli, runCliAsync, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

const SCRIPT = new URL('../scripts/launch-ssh.sh', import.meta.url).pathname;
const runJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunResult;
const onlyDir = (parent: string) => join(parent, readdirSync(parent).filter((n) => !n.startsWith('.'))[0]!);

/**
 * Two "hosts" on this machine: launch-ssh.sh's runner (ssh in real use) runs the command line in a folder of its own
 * with an embedded-token workspace of its own, and its fetcher (scp) copies the run back.
 */
describe('runs that start together, merged (scripts/launch-ssh.sh with a local runner)', () => {
  const base = tempDir('merge');
  const out = join(base, 'out');
  let launch: ReturnType<typeof spawnSync>;
  let hosts: { name: string; dir: string; r: RunResult }[];
  let merged: { dir: string; r: RunResult };

  beforeAll(() => {
    const runner = join(base, 'runner.sh');
    writeFileSync(runner, `#!/usr/bin/env bash\nmkdir -p "${base}/host-$1" && cd "${base}/host-$1" && HSM_BENCH_WORKSPACE="${base}/ws-$1" CI=true exec bash -c "$2"\n`);
    const fetcher = join(base, 'fetcher.sh');
    writeFileSync(fetcher, `#!/usr/bin/env bash\ncp -r "${base}/host-$1/$2" "$3"\n`);
    chmodSync(runner, 0o755);
    chmodSync(fetcher, 0o755);
    launch = spawnSync(
      'bash',
      [
        SCRIPT,
        '--lead',
        '15',
        '--out',
        out,
        '--runner',
        runner,
        '--fetcher',
        fetcher,
        '--hsm-bench',
        BIN,
        '--local-hsm-bench',
        BIN,
        '--merge',
        '--format md,csv --max-failures 0',
        'a',
        'b',
        '--',
        'scale',
        '--alg',
        'p256',
        '--tokens',
        '1,2',
        '--duration',
        '2s',
        '--format',
        'md',
      ],
      { encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 240_000 },
    );
    hosts = ['a', 'b'].map((name) => {
      const dir = onlyDir(join(out, 'hosts', name));
      return { name, dir, r: runJson(dir) };
    });
    const dir = readdirSync(out).find((n) => n.includes('-merged-'))!;
    merged = { dir: join(out, dir), r: runJson(join(out, dir)) };
  }, 300_000);

  it('starts both hosts at one moment given once, and each configuration at the moment the plan gives it', () => {
    expect(launch.status, String(launch.stderr)).toBe(0);
    const [a, b] = hosts.map((h) => h.r);
    expect(a!.startAt!.at).toBe(b!.startAt!.at);
    expect(a!.startAt!.given).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(['yes', 'no', 'unknown']).toContain(a!.startAt!.clock.synchronized);
    for (const h of hosts) {
      // The first window opens at the agreed moment, not before; the second one planned window and the settle later.
      const at = Date.parse(h.r.startAt!.at);
      const opened = h.r.configurations.map((c) => Date.parse(c.windowStartedAt!));
      expect(opened[0]!).toBeGreaterThanOrEqual(at);
      expect(opened[1]!).toBeGreaterThanOrEqual(at + 2_000 + 10_000);
      expect(h.r.startAt!.firstWindowAt).toBe(h.r.configurations[0]!.windowStartedAt);
      expect(h.r.startAt!.settleS).toBe(10);
    }
  });

  it('adds calls and failures up exactly, names each source, and keeps its rows beside the total', () => {
    const r = merged.r;
    expect(schemaProblems('run', r)).toEqual([]);
    expect(r.sources!.map((s) => s.runId)).toEqual(hosts.map((h) => h.r.runId));
    expect(r.sources!.map((s) => [s.firstToken, s.tokenCount])).toEqual([
      [0, 2],
      [2, 2],
    ]);
    expect(r.tokens).toEqual([...hosts[0]!.r.tokens, ...hosts[1]!.r.tokens]);
    expect(r.plan.tokenCounts).toEqual([2, 4]);
    r.configurations.forEach((c, i) => {
      const parts = hosts.map((h) => h.r.configurations[i]!);
      expect(c.tokens).toBe(parts[0]!.tokens * 2);
      expect(c.operationsOk).toBe(parts[0]!.operationsOk + parts[1]!.operationsOk);
      expect(c.operationsFailed).toBe(parts[0]!.operationsFailed + parts[1]!.operationsFailed);
      expect(c.bySource!.map((s) => s.operationsOk)).toEqual(parts.map((p) => p.operationsOk));
      expect(c.perToken.map((t) => t.operationsOk)).toEqual(parts.flatMap((p) => p.perToken.map((t) => t.operationsOk)));
      // The common window: from the later start to the earlier end.
      const starts = parts.map((p) => Date.parse(p.windowStartedAt!));
      const ends = parts.map((p, k) => starts[k]! + p.durationS * 1000);
      expect(c.durationS).toBeCloseTo((Math.min(...ends) - Math.max(...starts)) / 1000, 3);
      expect(c.durationS).toBeGreaterThan(0);
      expect(c.windowStartedAt).toBe(new Date(Math.max(...starts)).toISOString());
      expect(c.bySource!.map((s) => s.openedAfterFirstS)).toEqual(starts.map((ms) => (ms - Math.min(...starts)) / 1000));
      expect(c.bySource!.map((s) => s.cpu)).toEqual(parts.map((p) => p.cpu));
    });
    const report = readFileSync(join(merged.dir, 'report.md'), 'utf8');
    expect(report).toContain('## Per host');
    expect(report).toContain(hosts[1]!.r.runId);
    // Every host named, each host's figures over its own window and over the common one, labelled.
    expect(report).toMatch(/\*\*Hosts\*\*: 2 hosts: \S+ #1, \S+ #2/);
    expect(report).toContain('Own window (s)');
    expect(report).toContain('in common window');
    expect(report).toContain('(common)');
    // Each host's given moment, the real opening and the clock, in the host's own report too.
    expect(report).toMatch(/--start-at given \S+Z, for \S+; the first window opened at \S+ \(\d+\.\d{3} s after it\); clock synchronized: (yes|no|unknown)/);
    expect(readFileSync(join(hosts[0]!.dir, 'report.md'), 'utf8')).toMatch(/\*\*Start\*\*: --start-at given \S+Z, for \S+; the first window opened at/);
    // Records are binary: the report says how to read them, not that they are CSV rows.
    expect(report).not.toContain('CSV row');
    expect(report).toContain('hsm-bench records RUN_DIR --csv');
    // summary.csv: each host's rows over its own window and over the common one, and the total's window.
    const csv = readFileSync(join(merged.dir, 'summary.csv'), 'utf8').trim().split('\n');
    const head = csv[0]!.split(',');
    const cells = csv.slice(1).map((line) => Object.fromEntries(line.split(',').map((v, i) => [head[i]!, v])));
    const hostRows = cells.filter((x) => x.token === 'host' && x.configurationTokens === '2');
    expect(hostRows.map((x) => x.window)).toEqual(['own', 'common', 'own', 'common']);
    expect(hostRows.filter((x) => x.window === 'own').map((x) => Number(x.operationsOk))).toEqual(hosts.map((h) => h.r.configurations[0]!.operationsOk));
    expect(cells.find((x) => x.token === 'all' && x.configurationTokens === '2')!.window).toBe('common');
    // Each token's row is over its own host's window, and labelled so: it does not add up to the common window's rate.
    expect(cells.filter((x) => /^\d+$/.test(x.token!)).map((x) => x.window)).toEqual(Array(6).fill('own'));
    expect(report).toMatch(/## Per token\n\nEach token's figures are over its own host's window/);
    expect(report).toContain("/s over its host's window |");
  });

  it('counts throughput, latency and the per-second series over the common window alike: the calls that ended in it, from their records', async () => {
    for (const [i, c] of merged.r.configurations.entries()) {
      const commonStartMs = Date.parse(c.windowStartedAt!);
      // Whole µs, as merge counts (durationS * 1e6 in floating point can land a hair past a call's end).
      const commonUs = Math.round(c.durationS * 1e6);
      const inWindow = latencyHistogram();
      const perSecond: number[] = [];
      const perHost: number[] = [];
      let failed = 0;
      for (const h of hosts) {
        const part = h.r.configurations[i]!;
        const offsetUs = (Date.parse(part.windowStartedAt!) - commonStartMs) * 1000;
        let mine = 0;
        for await (const rec of readRecords(join(h.dir, part.recordsFile))) {
          const endUs = rec.startOffsetUs + rec.latencyUs + offsetUs;
          if (endUs < 0 || endUs >= commonUs) continue;
          if (failureOf(rec) !== undefined) {
            failed++;
            continue;
          }
          mine++;
          inWindow.recordValue(Math.max(1, rec.latencyUs));
          const second = Math.floor(endUs / 1e6);
          perSecond[second] = (perSecond[second] ?? 0) + 1;
        }
        perHost.push(mine);
      }
      expect(c.commonWindow).toEqual({ operationsOk: inWindow.totalCount, operationsFailed: failed, countedFrom: 'records', rateEstablished: true });
      // Fewer calls than all of them (the windows' edges are not common), most of them (they opened together).
      expect(inWindow.totalCount).toBeLessThanOrEqual(c.operationsOk);
      expect(inWindow.totalCount).toBeGreaterThan(c.operationsOk / 2);
      expect(c.throughputPerS).toBeCloseTo(inWindow.totalCount / c.durationS, 1);
      expect(c.bySource!.map((s) => s.inCommonWindow!.operationsOk)).toEqual(perHost);
      expect(decodeHistogram(c.latencyHistogram!)!.totalCount).toBe(inWindow.totalCount);
      const expected = percentilesMs(inWindow)!;
      expect([c.latencyMs!.p50, c.latencyMs!.p90, c.latencyMs!.p99]).toEqual([expected.p50, expected.p90, expected.p99]);
      // Second by second of the common window, from its opening: what compare's noise reads.
      expect(c.timeSeries.ok).toEqual(Array.from({ length: Math.ceil(c.durationS) }, (_, k) => perSecond[k] ?? 0));
    }
    // The report's tables give the calls the rate and the percentiles rest on: the common window's, not every host's whole one.
    const report = readFileSync(join(merged.dir, 'report.md'), 'utf8');
    for (const c of merged.r.configurations) {
      // The throughput table's row ("2 tokens × ECDSA P-256"): its calls are those its rate counts.
      const row = report.split('\n').find((line) => line.startsWith(`| ${configurationName(c)} × `))!;
      expect(row.split('|')[2]!.trim()).toBe(String(c.commonWindow!.operationsOk));
    }
  });

  it("merges the latency histograms losslessly: each host's histogram holds its records, the merged records every call", async () => {
    for (const [i, c] of merged.r.configurations.entries()) {
      const fromRecords = latencyHistogram();
      for (const h of hosts) {
        for await (const rec of readRecords(join(h.dir, h.r.configurations[i]!.recordsFile))) {
          if (failureOf(rec) !== undefined) continue;
          fromRecords.recordValue(Math.max(1, rec.latencyUs));
        }
      }
      const hostHistograms = latencyHistogram();
      hosts.forEach((h) => hostHistograms.add(decodeHistogram(h.r.configurations[i]!.latencyHistogram!)!));
      expect(fromRecords.totalCount).toBe(c.operationsOk);
      const [fromHosts, expected] = [hostHistograms, fromRecords].map((h) => percentilesMs(h)!);
      expect([fromHosts!.p50, fromHosts!.p90, fromHosts!.p99]).toEqual([expected!.p50, expected!.p90, expected!.p99]);
      // The merged records (for the charts) hold every call of both, on the merged tokens.
      let records = 0;
      const tokens = new Set<number>();
      for await (const rec of readRecords(join(merged.dir, c.recordsFile))) {
        records++;
        tokens.add(rec.token);
      }
      expect(records).toBe(c.operationsOk + c.operationsFailed);
      // Each host's tokens under their index in the merged run's tokens (host b's first token is the merged run's third).
      expect([...tokens].sort()).toEqual(c.perToken.map((t) => t.token));
      expect(c.perToken.map((t) => t.token)).toEqual(i === 0 ? [0, 2] : [0, 1, 2, 3]);
    }
  });

  it('report, compare, trend and thresholds take a merged run like any run', () => {
    expect(String(launch.stdout)).toMatch(/max-failures/);
    expect(runCli(['report', merged.dir, '--format', 'md']).status).toBe(0);
    expect(runCli(['compare', merged.dir, merged.dir, '--out', join(base, 'cmp')]).status).toBe(0);
    expect(runCli(['trend', merged.dir, '--out', join(base, 'trend')]).status).toBe(0);
    // One host's run against the merge of two (--force: the token counts differ): said, not refused.
    const mixed = runCli(['compare', hosts[0]!.dir, merged.dir, '--force', '--out', join(base, 'cmp-mixed')]);
    const said = /warning: the baseline is one host's run \(\S+\), the candidate a merge of 2 hosts' runs \(\S+, \S+\): a merged run's rate is every host's load together/;
    expect(mixed.stdout).toMatch(said);
    expect(readFileSync(join(base, 'cmp-mixed', 'comparison.md'), 'utf8')).toMatch(said);
    expect(runCli(['compare', merged.dir, merged.dir, '--out', join(base, 'cmp-same')]).stdout).not.toMatch(/a merge of 2 hosts/);
    const failing = runCli(['merge', ...hosts.map((h) => h.dir), '--out', join(base, 'again'), '--format', 'csv', '--min-throughput', '99999999']);
    expect(failing.status, failing.stderr).toBe(5);
  });

  /** Host b's run copied, its run.json edited. */
  const copy = (name: string, edit: (r: RunResult) => void) => {
    const dir = join(base, 'edited', name, hosts[1]!.r.runId);
    mkdirSync(join(base, 'edited', name), { recursive: true });
    cpSync(hosts[1]!.dir, dir, { recursive: true });
    const r = runJson(dir);
    edit(r);
    writeFileSync(join(dir, 'run.json'), JSON.stringify(r));
    return dir;
  };

  it('measures a rate over a short common window that holds enough calls, and gates it as a single run does its short window', () => {
    // Host b's windows open 1 s before host a's close: a common window of 1 s, under 2 s, with thousands of calls.
    const late = copy('short', (r) =>
      r.configurations.forEach((c, i) => {
        const a = hosts[0]!.r.configurations[i]!;
        c.windowStartedAt = new Date(Math.round(Date.parse(a.windowStartedAt!) + a.durationS * 1000) - 1000).toISOString();
      }),
    );
    const out = join(base, 'short-merged');
    const merge = runCli(['merge', hosts[0]!.dir, late, '--out', out, '--format', 'csv']);
    expect(merge.status, merge.stderr).toBe(0);
    const dir = onlyDir(out);
    const r = runJson(dir);
    for (const c of r.configurations) {
      expect(c.durationS).toBeLessThan(1.9);
      expect(c.commonWindow!.operationsOk).toBeGreaterThanOrEqual(100);
      expect(c.commonWindow!.rateEstablished).toBe(true);
    }
    expect(merge.stderr).not.toMatch(/rate not established/);
    // summary.csv: the `all` row is the common window's, as its window column says: its calls over its seconds are its rate,
    // and the hosts' rows over the common window add up to it.
    const csv = readFileSync(join(dir, 'summary.csv'), 'utf8').trim().split('\n');
    const head = csv[0]!.split(',');
    const cells = csv.slice(1).map((line) => Object.fromEntries(line.split(',').map((v, i) => [head[i]!, v])));
    r.configurations.forEach((c) => {
      const all = cells.find((x) => x.token === 'all' && Number(x.configurationTokens) === c.tokens)!;
      const hostsCommon = cells.filter((x) => x.token === 'host' && x.window === 'common' && Number(x.configurationTokens) === c.tokens);
      expect(all.window).toBe('common');
      expect(Number(all.operationsOk)).toBe(c.commonWindow!.operationsOk);
      expect(Number(all.operationsOk)).toBe(hostsCommon.reduce((n, x) => n + Number(x.operationsOk), 0));
      expect(Number(all.operationsFailed)).toBe(c.commonWindow!.operationsFailed);
      expect(Number(all.operationsOk) / Number(all.durationS)).toBeCloseTo(Number(all.throughputPerS), 0);
    });
    // A rate tenfold under the limit fails, as a single run's short window does (exit 5).
    const far = runCli(['merge', hosts[0]!.dir, late, '--out', join(base, 'short-far'), '--format', 'csv', '--min-throughput', '100000000']);
    expect(far.status, far.stdout + far.stderr).toBe(5);
    expect(far.stdout).toMatch(/under 1\/10 of the limit: no short window's noise explains that/);
    // Within the short window's noise of the limit: not judged, unless --strict-latency asks to judge it.
    const near = String(Math.ceil(Math.max(...r.configurations.map((c) => c.throughputPerS)) * 2));
    const open = runCli(['merge', hosts[0]!.dir, late, '--out', join(base, 'short-near'), '--format', 'csv', '--min-throughput', near]);
    expect(open.status, open.stdout + open.stderr).toBe(0);
    expect(open.stdout).toMatch(/inconclusive: a window of [\d.]+ s, under 2 s \(--strict-latency fails on it\)/);
    const strict = runCli(['merge', hosts[0]!.dir, late, '--out', join(base, 'short-strict'), '--format', 'csv', '--min-throughput', near, '--strict-latency']);
    expect(strict.status, strict.stdout + strict.stderr).toBe(5);
  });

  it('does not decide on a rate over a common window too brief to count one: not established, gates inconclusive, a loud warning', () => {
    // Host b's windows open 2 ms before host a's close: the few calls that end in those 2 ms are no rate of the tokens.
    const brief = copy('brief', (r) =>
      r.configurations.forEach((c, i) => {
        const a = hosts[0]!.r.configurations[i]!;
        c.windowStartedAt = new Date(Math.round(Date.parse(a.windowStartedAt!) + a.durationS * 1000) - 2).toISOString();
      }),
    );
    const out = join(base, 'brief-merged');
    const junit = join(base, 'brief-junit.xml');
    const gated = runCli(['merge', hosts[0]!.dir, brief, '--out', out, '--format', 'md,csv', '--min-throughput', '99999999', '--junit', junit]);
    expect(gated.status, gated.stderr).toBe(0);
    expect(gated.stderr).toMatch(
      /warning: 2 tokens: rate not established: the hosts' common window is [\d.]+ (ms|µs) \(under 2 s\) and holds \d+ calls \(fewer than 100\).*gates on it are inconclusive/,
    );
    expect(gated.stdout).toMatch(/inconclusive: rate not established/);
    expect(gated.stdout).toMatch(/note: 2 tokens: rate not established/);
    const dir = onlyDir(out);
    const r = runJson(dir);
    expect(schemaProblems('run', r)).toEqual([]);
    expect(r.configurations.map((c) => c.commonWindow!.rateEstablished)).toEqual([false, false]);
    // Where the rate is not established, no check or case shows a rate as measured: it says so, and over what window.
    expect(r.verdict!.checks.map((c) => c.measured)).toEqual([expect.stringMatching(/^not established \(common window [\d.]+ (ms|µs)\)$/)]);
    expect(gated.stdout).toMatch(/not established \(common window [\d.]+ (ms|µs)\)/);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).not.toMatch(/[\d.]+ signatures\/s with/);
    expect(xml).toMatch(/failed, not established \(common window [\d.]+ (ms|µs)\) with 2 tokens/);
    expect(xml).toMatch(/measured [^"]*not established \(common window/);
    expect(r.mergeWarnings!.some((w) => w.includes('rate not established'))).toBe(true);
    // summary.csv: no figure over the common window to gate on (the own windows' rates stay).
    const csv = readFileSync(join(dir, 'summary.csv'), 'utf8').trim().split('\n');
    const head = csv[0]!.split(',');
    const cells = csv.slice(1).map((line) => Object.fromEntries(line.split(',').map((v, i) => [head[i]!, v])));
    expect(cells.filter((x) => x.window === 'common').map((x) => x.throughputPerS)).toEqual(Array(6).fill(''));
    expect(cells.filter((x) => x.token === 'host' && x.window === 'own').every((x) => Number(x.throughputPerS) > 0)).toBe(true);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/rate not established: the hosts' common window is/);
    // report shows it so, and compare of the merged run does not decide on it either.
    const report = runCli(['report', dir, '--format', 'md']);
    expect(report.status, report.stderr).toBe(0);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toMatch(/\| not established \|/);
    expect(md).toMatch(/2 tokens: rate not established: the hosts' common window is/);
    // trend draws no point of it (its row reads –), nor does its CSV give one.
    const trend = runCli(['trend', merged.dir, dir, '--out', join(base, 'brief-trend')]);
    expect(trend.status, trend.stderr).toBe(0);
    const rows = readFileSync(join(base, 'brief-trend', 'trend.csv'), 'utf8')
      .trim()
      .split('\n');
    const [runCol, rateCol] = ['runId', 'throughputPerS'].map((name) => rows[0]!.split(',').indexOf(name));
    const empty = rows.slice(1).filter((line) => line.split(',')[rateCol!] === '');
    expect(empty.map((line) => line.split(',')[runCol!])).toEqual([r.runId, r.runId]);
    // Side by side (report A B, and compare's comparison.md): its rates are not set beside the other run's, and why.
    const sideBySide = runCli(['report', merged.dir, dir, '--format', 'md', '--out', join(base, 'brief-report')]);
    expect(sideBySide.status, sideBySide.stderr).toBe(0);
    expect(readFileSync(join(base, 'brief-report', 'comparison.md'), 'utf8')).toMatch(
      /\| 2 tokens \| [\d.]+ \| – \| – \|[\s\S]*Rates not established, not set beside the others \(–\): .*2 tokens: rate not established/,
    );
    const compared = runCli(['compare', merged.dir, dir, '--out', join(base, 'brief-cmp')]);
    expect(compared.stdout + readFileSync(join(base, 'brief-cmp', 'comparison.md'), 'utf8')).toMatch(/throughput [-+][\d.]+ %: rate not established/);
    expect(merged.r.configurations.every((c) => c.commonWindow!.rateEstablished === true)).toBe(true);
  });

  it('says where the hosts did not start at one agreed moment: a start from now (+25s) names a moment of its own on each host', () => {
    const relative = copy('relative', (r) => {
      r.startAt!.given = '+25s';
      r.startAt!.at = new Date(Date.parse(r.startAt!.at) + 3).toISOString();
    });
    const out = join(base, 'relative-merged');
    const m = runCli(['merge', hosts[0]!.dir, relative, '--out', out, '--format', 'md']);
    expect(m.status, m.stderr).toBe(0);
    expect(m.stderr).toMatch(
      /warning: the hosts did not start at one agreed moment \(.*--start-at \d{4}-\S+Z, for \S+; .*--start-at \+25s, for \S+\): a --start-at from now .* on each; give every host the same absolute --start-at/,
    );
    const dir = onlyDir(out);
    expect(runJson(dir).mergeWarnings!.filter((w) => w.includes('agreed moment'))).toHaveLength(1);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/\*\*warning:\*\* the hosts did not start at one agreed moment/);
    // One absolute moment on both (launch-ssh.sh): no such warning.
    expect(merged.r.mergeWarnings ?? []).not.toContainEqual(expect.stringContaining('agreed moment'));
  });

  it('refuses (exit 2) runs of other plans, windows that do not overlap, and a merged run', () => {
    const otherPlan = runCli(['merge', hosts[0]!.dir, copy('plan', (r) => (r.plan.warmupOperationsPerToken = 99)), '--out', join(base, 'no')]);
    expect(otherPlan.status).toBe(2);
    expect(otherPlan.stderr).toMatch(/ran another plan .*the plan/);
    const later = copy('later', (r) => r.configurations.forEach((c) => (c.windowStartedAt = new Date(Date.parse(c.windowStartedAt!) + 3_600_000).toISOString())));
    const apart = runCli(['merge', hosts[0]!.dir, later, '--out', join(base, 'no')]);
    expect(apart.status).toBe(2);
    expect(apart.stderr).toMatch(/the windows of 1 token do not overlap/);
    const again = runCli(['merge', merged.dir, hosts[0]!.dir, '--out', join(base, 'no')]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/merged run already/);
    // The same run twice, or a copy of it: its calls would count twice.
    const twice = runCli(['merge', hosts[0]!.dir, copy('same', () => {}), hosts[1]!.dir, '--out', join(base, 'no')]);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/is the run .* again \(host .*: its calls would count twice/);
    // A damaged histogram or window start: refused, never merged without that host's calls.
    const badHistogram = runCli(['merge', hosts[0]!.dir, copy('histogram', (r) => (r.configurations[0]!.latencyHistogram = 'HISTFAAAAGarbage')), '--out', join(base, 'no')]);
    expect(badHistogram.status).toBe(2);
    expect(badHistogram.stderr).toMatch(/latency histogram cannot be read/);
    const badStart = runCli(['merge', hosts[0]!.dir, copy('start', (r) => (r.configurations[0]!.windowStartedAt = 'yesterday')), '--out', join(base, 'no')]);
    expect(badStart.status).toBe(2);
    expect(badStart.stderr).toMatch(/windowStartedAt yesterday is not a time/);
    expect(() => readdirSync(join(base, 'no'))).toThrow();
    expect(apart.stderr).not.toMatch(/\n\s+at /);
    // --same-tokens: hosts that drove the same tokens (one network HSM's partitions) add sessions per token, not tokens.
    const notSame = runCli(['merge', hosts[0]!.dir, hosts[1]!.dir, '--same-tokens', '--out', join(base, 'no')]);
    expect(notSame.status).toBe(2);
    expect(notSame.stderr).toMatch(/--same-tokens: token 0 of .* \(serial \S+\), of .*: not the same tokens/);
    const sharedDir = copy('shared', (r) => (r.tokens = hosts[0]!.r.tokens));
    const shared = runCli(['merge', hosts[0]!.dir, sharedDir, '--same-tokens', '--out', join(base, 'shared'), '--format', 'md']);
    expect(shared.status, shared.stderr).toBe(0);
    const s = runJson(onlyDir(join(base, 'shared')));
    expect(schemaProblems('run', s)).toEqual([]);
    expect(s.tokens).toEqual(hosts[0]!.r.tokens);
    expect(s.plan.tokenCounts).toEqual([1, 2]);
    expect(s.plan.threadsPerToken).toEqual([2]);
    expect(s.configurations.map((c) => [c.tokens, c.threadsPerToken])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(s.configurations[1]!.operationsOk).toBe(hosts[0]!.r.configurations[1]!.operationsOk + hosts[1]!.r.configurations[1]!.operationsOk);
    expect(s.sources!.map((x) => x.firstToken)).toEqual([0, 0]);
    expect(readFileSync(join(onlyDir(join(base, 'shared')), 'report.md'), 'utf8')).toContain('Every host drove the same tokens (--same-tokens)');
    // A host that opened late is merged with a warning, and how late it was is recorded.
    // 400 ms after host a's own opening (not after host b's, which the two hosts' scheduling moves by some ms).
    const lateBy = copy('late', (r) => r.configurations.forEach((c, i) => (c.windowStartedAt = new Date(Date.parse(hosts[0]!.r.configurations[i]!.windowStartedAt!) + 400).toISOString())));
    const late = runCli(['merge', hosts[0]!.dir, lateBy, '--out', join(base, 'late'), '--format', 'md']);
    expect(late.status, late.stderr).toBe(0);
    expect(late.stderr).toMatch(/warning: \S+ \(.*\) opened the window of 1 token 0\.400 s after the first host: the common window is 1\.\d{3} s of/);
    const lateRun = runJson(onlyDir(join(base, 'late')));
    expect(lateRun.configurations[0]!.bySource![1]!.openedAfterFirstS).toBe(0.4);
  });
});

describe('--start-at refused where it cannot hold (exit 2, before any token is touched)', () => {
  const ws = { HSM_BENCH_WORKSPACE: join(tempDir('start-at'), 'ws') };
  it.each([
    [['scale', '--alg', 'p256', '--tokens', '1', '--start-at', '2020-01-01T00:00:00Z'], /--start-at 2020-01-01T00:00:00.000Z is already past/],
    [['scale', '--alg', 'p256', '--tokens', '1', '--start-at', '2026-02-30T01:00:00Z'], /--start-at must be a moment in UTC/],
    [['scale', '--alg', 'p256', '--tokens', '1', '--start-at', 'tomorrow'], /--start-at must be a moment in UTC/],
    [['scale', '--alg', 'p256', '--tokens', '1,2', '--start-at', '+1m'], /--start-at with several configurations needs --duration/],
    [['burn-in', '--alg', 'p256', '--signatures', '10', '--start-at', '+200h'], /more than 7 days ahead/],
    [['burn-in', '--resume', '/nonexistent', '--start-at', '+1m'], /--resume continues the burn-in as it was planned; --start-at cannot change it/],
    // Runs started together are merged, and merge adds up one repetition of one operation.
    [['scale', '--alg', 'p256', '--tokens', '1', '--duration', '1s', '--repeat', '2', '--start-at', '+1m'], /--start-at with --repeat: hsm-bench merge adds up runs of one repetition/],
    [
      ['scale', '--mix', 'sign/p256:80,verify/p256:20', '--tokens', '1', '--duration', '1s', '--start-at', '+1m'],
      /--start-at with --mix: hsm-bench merge adds up runs of one repetition of one operation/,
    ],
    [['scale', '--alg', 'p256', '--tokens', '1', '--start-at', '30s'], /a time from now is written with a \+, as \+30s/],
    [['scale', '--alg', 'p256', '--tokens', '1', '--start-at', '+ 5s'], /--start-at must be \+DURATION written together/],
  ])('%j', (args, message) => {
    const r = runCli(args, ws);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('a start that the set-up overtakes', () => {
  it('is refused with exit 2 after the set-up, before a run directory is made', () => {
    const hsm = new ExternalSoftHsm();
    hsm.initToken('late-0');
    hsm.generateKey('late-0', 'EC:prime256v1', 'gk');
    const out = join(tempDir('late'), 'out');
    // Each trial call of the set-up takes 3 s: a start 2 s ahead has passed when it ends.
    const r = runCli(
      ['scale', '--module', buildFaultyModule(), '--alg', 'p256', '--key-label', 'gk', '--token-label', 'late-', '--tokens', '1', '--duration', '1s', '--start-at', '+2s', '--out', out],
      { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', FAULTY_SIGN_DELAY_MS: '3000' },
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--start-at \S+ is already past after the set-up \(tokens, keys, trial calls\)/);
    expect(() => readdirSync(out)).toThrow();
  });
});

describe('burn-ins started together, merged', () => {
  it('adds up two burn-ins that opened their windows at one moment; a resume would not wait for it again', async () => {
    const base = tempDir('merge-burn-in');
    const at = new Date(Date.now() + 12_000).toISOString().slice(0, 19) + 'Z';
    const runs = await Promise.all(
      ['a', 'b'].map((h) =>
        runCliAsync(['burn-in', '--alg', 'p256', '--tokens', '1', '--duration', '2s', '--start-at', at, '--out', join(base, h), '--format', 'md'], { HSM_BENCH_WORKSPACE: join(base, `ws-${h}`) }),
      ),
    );
    runs.forEach((r) => expect(r.status, r.stderr).toBe(0));
    const dirs = ['a', 'b'].map((h) => onlyDir(join(base, h)));
    const [a, b] = dirs.map(runJson);
    expect(a!.startAt!.at).toBe(new Date(Date.parse(at)).toISOString());
    expect(Date.parse(a!.configurations[0]!.windowStartedAt!)).toBeGreaterThanOrEqual(Date.parse(at));
    const checkpoint = JSON.parse(readFileSync(join(dirs[0]!, 'checkpoint.json'), 'utf8')) as { plan: Record<string, unknown> };
    expect(checkpoint.plan.startAt).toBeUndefined();
    const m = runCli(['merge', ...dirs, '--out', join(base, 'm'), '--format', 'md']);
    expect(m.status, m.stderr).toBe(0);
    const merged = runJson(onlyDir(join(base, 'm')));
    expect(merged.command).toBe('burn-in');
    expect(merged.configurations[0]!.operationsOk).toBe(a!.configurations[0]!.operationsOk + b!.configurations[0]!.operationsOk);
    expect(merged.tokens).toHaveLength(2);
    expect(schemaProblems('run', merged)).toEqual([]);
    // A burn-in restarted, resumed without records, or ended early would lose those facts in a merge: refused.
    const edited = (name: string, edit: (r: RunResult) => void) => {
      const dir = join(base, name, 'run');
      cpSync(dirs[1]!, dir, { recursive: true });
      const r = runJson(dir);
      edit(r);
      writeFileSync(join(dir, 'run.json'), JSON.stringify(r));
      return dir;
    };
    for (const [name, edit, message] of [
      ['restarted', (r: RunResult) => (r.burnIn!.restarts = [{ at: r.startedAt, signal: 'SIGKILL', exitCode: null, recordsOnDisk: 1 } as never]), /process was restarted 1 time/],
      ['lost', (r: RunResult) => (r.burnIn!.lostRecords = [{ at: r.startedAt, checkpointRecords: 9, recordsOnDisk: 1 }]), /resumed without some of its records/],
      ['early', (r: RunResult) => (r.burnIn!.endedEarly = { signingLeftS: 1, operationsLeft: null, pinRefusedTokens: [] }), /ended before its stop rule/],
    ] as const) {
      const refused = runCli(['merge', dirs[0]!, edited(name, edit), '--out', join(base, 'no'), '--format', 'md']);
      expect(refused.status, name).toBe(2);
      expect(refused.stderr).toMatch(message);
    }
  }, 120_000);
});

describe('rate sweeps started together, merged', () => {
  it('offers the sum of the hosts’ rates: response times of every host’s calls, kept up where every host kept up, a capacity of the whole', async () => {
    const base = tempDir('merge-rates');
    const at = new Date(Date.now() + 12_000).toISOString().slice(0, 19) + 'Z';
    const runs = await Promise.all(
      ['a', 'b'].map((h) =>
        runCliAsync(['scale', '--alg', 'p256', '--tokens', '1', '--rate', '50,100', '--slo-p50', '1s', '--duration', '2s', '--start-at', at, '--out', join(base, h), '--format', 'md'], {
          HSM_BENCH_WORKSPACE: join(base, `ws-${h}`),
        }),
      ),
    );
    runs.forEach((r) => expect(r.status, r.stderr).toBe(0));
    const sources = ['a', 'b'].map((h) => runJson(onlyDir(join(base, h))));
    const m = runCli(['merge', ...['a', 'b'].map((h) => onlyDir(join(base, h))), '--out', join(base, 'm'), '--format', 'md']);
    expect(m.status, m.stderr).toBe(0);
    const merged = runJson(onlyDir(join(base, 'm')));
    expect(schemaProblems('run', merged)).toEqual([]);
    expect(merged.plan.targetRate).toEqual({ perS: [100, 200], per: 'configuration' });
    merged.configurations.forEach((c, i) => {
      const loops = sources.map((s) => s.configurations[i]!.openLoop!);
      expect(c.openLoop!.targetRatePerS).toBe(loops[0]!.targetRatePerS + loops[1]!.targetRatePerS);
      expect(c.openLoop!.keptUp).toBe(loops.every((o) => o.keptUp));
      expect(c.openLoop!.notStarted).toBe(loops[0]!.notStarted + loops[1]!.notStarted);
      expect(c.openLoop!.late.operations).toBe(loops[0]!.late.operations + loops[1]!.late.operations);
      const together = latencyHistogram();
      loops.forEach((o) => together.add(decodeHistogram(o.responseHistogram!)!));
      expect(decodeHistogram(c.openLoop!.responseHistogram!)!.totalCount).toBe(together.totalCount);
      expect(c.openLoop!.responseMs!.p90).toBe(Math.min(percentilesMs(together, true)!.p90, Math.max(...loops.map((o) => o.responseMs!.max))));
    });
    expect(merged.capacity!.map((x) => x.rates.map((r) => r.targetRatePerS))).toEqual([[100, 200]]);

    // One host's stall does not excuse the other host's calls: only a stall of every host does, as far as the shortest.
    const stalled = (h: string, ms: number | undefined) => {
      const dir = join(base, `stalled-${h}-${ms}`, 'run');
      cpSync(onlyDir(join(base, h)), dir, { recursive: true });
      const r = runJson(dir);
      r.configurations.forEach((c) => (ms === undefined ? delete c.openLoop!.hostStallMs : (c.openLoop!.hostStallMs = ms)));
      writeFileSync(join(dir, 'run.json'), JSON.stringify(r));
      return dir;
    };
    const mergedStall = (a: number | undefined, b: number | undefined) => {
      const out = join(base, `m-${a}-${b}`);
      const r = runCli(['merge', stalled('a', a), stalled('b', b), '--out', out, '--format', 'md']);
      expect(r.status, r.stderr).toBe(0);
      return runJson(onlyDir(out)).configurations.map((c) => c.openLoop!.hostStallMs);
    };
    expect(mergedStall(150, undefined)).toEqual([undefined, undefined]);
    expect(mergedStall(150, 120)).toEqual([120, 120]);
  }, 120_000);
});

describe('the words of a merged run', () => {
  it('never says "this host" of a run made on several hosts: it names the hosts, and the host whose figures it keeps', async () => {
    const { conclusions } = await import('../src/report/conclusions.js');
    const { renderMarkdownReport } = await import('../src/report/markdown.js');
    const { readRunJson } = await import('../src/result/run-directory.js');
    const single = readRunJson(new URL('../fixtures/examples/scale-p256/', import.meta.url).pathname);
    // Software tokens on a busy host with a calibrated harness: every sentence that names the host is said.
    single.host.loadAverage = [3, 3, 3];
    expect(renderMarkdownReport(single, { charts: [] })).toMatch(/this host/);
    const sources = ['ha', 'hb'].map((hostname, i) => ({ runId: `r${i}`, hostname, dir: `/runs/${hostname}`, firstToken: i, tokenCount: 1 }));
    const merged: RunResult = { ...single, host: { ...single.host, hostname: 'ha, hb' }, sources };
    const md = renderMarkdownReport(merged, { charts: [] });
    expect(md).not.toMatch(/this host/);
    const text = conclusions(merged).join(' ');
    expect(text).toMatch(/each host's own CPU \(ha, hb\)/);
    expect(text).toMatch(/The first of the merged hosts, ha, was busy before the run/);
    expect(md).toMatch(/the harness's own cost per call on ha \(the first of the merged hosts\)/);
  });
});
