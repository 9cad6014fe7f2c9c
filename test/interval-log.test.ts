import { spawn, execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import hdr from 'hdr-histogram-js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { digestConfiguration } from '../src/report/records-digest.js';
import { intervalLogOf, IntervalLogWriter, readIntervalLog } from '../src/result/interval-log.js';
import { IntervalHistograms } from '../src/stats/interval-histograms.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';

const readRun = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));

/** Every interval of a log as HdrHistogram's own JS reader reads it: tag and count. */
function readWithHdrReader(path: string): { tag: string; count: number; startS: number }[] {
  const reader = new hdr.HistogramLogReader(readFileSync(path, 'utf8'));
  const out = [];
  for (let h; (h = reader.nextIntervalHistogram()) !== null;) out.push({ tag: h.tag!, count: h.totalCount, startS: h.startTimeStampMsec / 1000 });
  return out;
}

describe('interval histograms', () => {
  const env = { HSM_BENCH_WORKSPACE: tempDir('hlog-ws') };
  let dir = '';
  let run: RunResult;
  beforeAll(() => {
    const r = runCli(['scale', '--alg', 'p256', '--tokens', '1,2', '--duration', '3s', '--warmup', '5', '--format', 'md', '--out', tempDir('hlog-out')], env);
    expect(r.status, r.stderr).toBe(0);
    dir = runDirOf(r);
    run = readRun(dir);
  }, 120_000);

  it("are written per second, token, operation and outcome in HdrHistogram's interval-log format; its reader's totals are run.json's", () => {
    for (const c of run.configurations) {
      const path = join(dir, intervalLogOf(c.recordsFile));
      expect(readFileSync(path, 'utf8')).toMatch(/^#\[Histogram log format version 1\.3\]\n/);
      const intervals = readWithHdrReader(path);
      expect(new Set(hdr.listTags(readFileSync(path, 'utf8')))).toEqual(new Set(Array.from({ length: c.tokens }, (_, t) => `token-${t}/sign/ok`)));
      expect(new Set(intervals.map((i) => i.startS)).size).toBeGreaterThanOrEqual(3);
      const sum = (tag: string) => intervals.filter((i) => i.tag === tag).reduce((n, i) => n + i.count, 0);
      for (const [t, token] of c.perToken.entries()) expect(sum(`token-${t}/sign/ok`)).toBe(token.operationsOk);
      expect(intervals.reduce((n, i) => n + i.count, 0)).toBe(c.operationsOk + c.operationsFailed);
    }
  });

  it('the charts are drawn from them, the same as from every record, without reading the records', async () => {
    for (const c of run.configurations) {
      const fromLog = await digestConfiguration(dir, c);
      expect(fromLog.source).toBe('interval-log');
      // The records read instead (the log taken away): the same curve, to the µs of the max, and the same series.
      const copy = join(tempDir('hlog-copy'), 'run');
      cpSync(dir, copy, { recursive: true });
      rmSync(join(copy, intervalLogOf(c.recordsFile)));
      const fromRecords = await digestConfiguration(copy, c);
      expect(fromRecords.source).toBe('records');
      expect(fromLog.curve).toEqual(fromRecords.curve);
      expect(fromLog.okPerSecondByToken).toEqual(fromRecords.okPerSecondByToken);
      // A log that does not hold every call run.json counts (cut by a kill) is not drawn from: the records are.
      writeFileSync(
        join(copy, intervalLogOf(c.recordsFile)),
        readFileSync(join(dir, intervalLogOf(c.recordsFile)), 'utf8')
          .split('\n')
          .slice(0, 4)
          .join('\n') + '\n',
      );
      expect((await digestConfiguration(copy, c)).source).toBe('records');
    }
  });

  it('with --records none the charts are still drawn, from the interval log', async () => {
    const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '500', '--warmup', '0', '--records', 'none', '--format', 'png', '--out', tempDir('hlog-none')], env);
    expect(r.status, r.stderr).toBe(0);
    const none = runDirOf(r);
    expect(readFileSync(join(none, 'charts', 'latency.svg'), 'utf8')).toMatch(/<svg/);
    expect(r.stderr).not.toMatch(/warning/);
    const c = readRun(none).configurations[0]!;
    const digest = await digestConfiguration(none, c);
    expect(digest.source).toBe('interval-log');
    expect(digest.curve.length).toBeGreaterThan(5);
    expect(digest.okPerSecondByToken.get(0)!.reduce((a, b) => a + b, 0)).toBe(500);
  });
});

describe('IntervalHistograms', () => {
  it('puts every call in its own second, token, operation and outcome, also after that second was taken out', () => {
    const h = new IntervalHistograms();
    const calls: [number, string, boolean, number][] = [
      [0, 'sign', true, 0.2e6],
      [0, 'sign', true, 0.3e6],
      [1, 'sign', true, 0.3e6],
      [0, 'verify', true, 0.4e6],
      [0, 'sign', false, 0.5e6],
      [0, 'sign', true, 1.5e6],
      [0, 'sign', true, 3.5e6],
    ];
    for (const [token, op, ok, endUs] of calls) h.add(token, op, ok, endUs, 10);
    const first = h.take();
    expect(first.map((i) => [i.second, i.token, i.operation, i.ok, i.latencyUs.totalCount])).toEqual([
      [0, 0, 'sign', true, 2],
      [0, 1, 'sign', true, 1],
      [0, 0, 'verify', true, 1],
      [0, 0, 'sign', false, 1],
      [1, 0, 'sign', true, 1],
    ]);
    // Seconds 0 and 1 are out (two later ones began); a late call of second 0 starts it again.
    h.add(0, 'sign', true, 0.9e6, 10);
    h.add(0, 'sign', true, 3.6e6, 10);
    expect(h.take(true).map((i) => [i.second, i.latencyUs.totalCount])).toEqual([
      [0, 1],
      [3, 2],
    ]);
  });
});

describe('the interval log read by a report', () => {
  /** A log of `seconds` seconds of one token, 10 calls each, as a run writes it. */
  function writeLog(path: string, seconds: number): void {
    const histograms = new IntervalHistograms();
    const writer = new IntervalLogWriter(path);
    for (let second = 0; second < seconds; second++) for (let i = 0; i < 10; i++) histograms.add(0, 'sign', true, second * 1e6 + i, 100 + i);
    writer.write(histograms.take(true));
    writer.close();
  }

  it('line by line, never whole: a log still being written gives its intervals as they come', async () => {
    // A night's log is 70–210 MB: read whole, a report's memory grew with the night. Here the writer holds the log
    // (a FIFO) open after its first intervals; a reader of the whole file would wait for it to end.
    const dir = tempDir('hlog-stream');
    const log = join(dir, 'log.hlog');
    writeLog(log, 3);
    const fifo = join(dir, 'fifo.hlog');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('bash', ['-c', 'exec 3>"$1"; cat "$2" >&3; sleep 60', 'writer', fifo, log], { stdio: 'ignore' });
    try {
      const seconds: number[] = [];
      for await (const i of readIntervalLog(fifo)) {
        seconds.push(i!.second);
        if (seconds.length === 3) break;
      }
      expect(seconds).toEqual([0, 1, 2]);
      expect(writer.exitCode).toBeNull();
    } finally {
      writer.kill('SIGKILL');
    }
  }, 60_000);

  it('a torn line (bad base64: a full disk, a kill) ends the reading: the log does not hold every call, and is not drawn from', async () => {
    const dir = tempDir('hlog-torn');
    const log = join(dir, intervalLogOf('records/r.rec'));
    execFileSync('mkdir', ['-p', join(dir, 'histograms')]);
    writeLog(log, 3);
    const lines = readFileSync(log, 'utf8').split('\n');
    const at = lines.findIndex((l) => l.startsWith('Tag='));
    lines[at + 1] = lines[at + 1]!.slice(0, -12);
    writeFileSync(log, lines.join('\n'));
    const read = [];
    for await (const i of readIntervalLog(log)) read.push(i);
    expect(read.map((i) => i?.second ?? null)).toEqual([0, null]);
  });
});
