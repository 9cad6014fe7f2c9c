/**
 * What per-call data costs on disk and for a report: the records CSV of earlier versions against the binary records
 * and the interval log, for the same calls, in one invocation.
 *  - bytes per call: the CSV as earlier versions wrote it (header and one line a call) vs records/*.rec;
 *  - report time per N calls: the charts' digest read from every CSV record (the old path), from every binary record,
 *    and from the interval log (the new path), with the ratios;
 *  - the report's memory: the peak RSS of a process that digests an interval log of a minute and of an hour of 8
 *    tokens (bench/digest-rss.ts), written by the real writer: flat when the log is read line by line.
 * Calls are made up as a run records them: S sessions, batches of 256 calls each, a few µs to a few ms per call
 * (a fast HSM's service times, with a tail), one failure in 1000. Also prints a real run's bytes per call when given
 * one: `hsm-bench records RUN_DIR`.
 *
 * usage: npm run build && node dist/bench/records-cost.js [--calls 10000000] [--sessions 8] [--log-hours 1]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, statSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallRecord } from '../src/model/record.js';
import { CSV_HEADER, csvLine } from '../src/result/records-csv.js';
import { RecordsFileWriter } from '../src/result/records-file.js';
import { intervalLogOf, IntervalLogWriter } from '../src/result/interval-log.js';
import { IntervalHistograms } from '../src/stats/interval-histograms.js';
import { digestConfiguration } from '../src/report/records-digest.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const calls = Number(flag('--calls', '10000000'));
const sessions = Number(flag('--sessions', '8'));
const logHours = Number(flag('--log-hours', '1'));
const BATCH = 256;

/** A small deterministic generator: the same calls every invocation. */
let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

/** The made-up calls, in the order a recorder gets them: a batch of one session, then one of another. */
function* madeUpCalls(): Generator<CallRecord> {
  const next = new Array<number>(sessions).fill(0);
  const clockUs = new Array<number>(sessions).fill(0);
  for (let made = 0; made < calls;) {
    const s = Math.floor(random() * sessions);
    for (let i = 0; i < BATCH && made < calls; i++, made++) {
      const latencyUs = Math.round(40 + random() * 60 + (random() < 0.01 ? random() * 5000 : 0));
      const failed = random() < 0.001;
      yield {
        configuration: `tokens-${sessions}`,
        token: s,
        thread: 0,
        sequence: next[s]!++,
        startOffsetUs: clockUs[s]!,
        latencyUs,
        status: failed ? 'CKR_DEVICE_ERROR' : 'CKR_OK',
        verified: null,
        operation: 'sign',
        startLagUs: null,
        late: null,
      };
      clockUs[s]! += latencyUs + 3;
    }
  }
}

const dir = mkdtempSync(join(tmpdir(), 'hsm-bench-records-cost-'));
mkdirSync(join(dir, 'records'));
const csvFile = 'records/old.csv';
const recFile = 'records/new.rec';

// Written in a pass each: the old CSV (as RecordsCsvWriter wrote it: the header, then a line a call, in 64 KiB writes),
// the binary records and the interval log.
const csvFd = openSync(join(dir, csvFile), 'w');
let csv = `${CSV_HEADER}\n`;
const rec = new RecordsFileWriter(join(dir, recFile));
const intervals = new IntervalHistograms();
const log = new IntervalLogWriter(join(dir, intervalLogOf(recFile)));
let ok = 0;
let failed = 0;
/** One pass over the same calls (the generator restarted), timed: `record` is what a recorder does per call. */
function pass(record: (r: CallRecord) => void): number {
  seed = 42;
  const t = performance.now();
  for (const r of madeUpCalls()) record(r);
  return performance.now() - t;
}
const generateMs = pass((r) => (r.status === 'CKR_OK' ? ok++ : failed++));
const csvWriteMs =
  pass((r) => {
    csv += `${csvLine(r)}\n`;
    if (csv.length >= 1 << 16) (writeSync(csvFd, csv), (csv = ''));
  }) - generateMs;
const recWriteMs = pass((r) => rec.write(r)) - generateMs;
let sinceTaken = 0;
const logWriteMs =
  pass((r) => {
    intervals.add(r.token, r.operation, r.status === 'CKR_OK', r.startOffsetUs + r.latencyUs, r.latencyUs);
    if (++sinceTaken === 100_000) (log.write(intervals.take()), (sinceTaken = 0));
  }) - generateMs;
writeSync(csvFd, csv);
closeSync(csvFd);
rec.close();
log.write(intervals.take(true));
log.close();

const bytes = (f: string) => statSync(join(dir, f)).size;
const perCall = (b: number) => (b / calls).toFixed(2);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}; node ${process.version}; ${calls.toLocaleString('en')} made-up calls over ${sessions} sessions`);
console.log(`\nbytes per call on disk:`);
console.log(`  records CSV (before)    ${perCall(bytes(csvFile))}`);
console.log(`  records .rec (now)      ${perCall(bytes(recFile))}   (${(bytes(csvFile) / bytes(recFile)).toFixed(1)} × smaller)`);
console.log(`  interval log .hlog      ${perCall(bytes(intervalLogOf(recFile)))}   (${bytes(intervalLogOf(recFile)).toLocaleString('en')} bytes in all)`);
console.log(
  `\nrecording (main thread, per million calls): CSV ${((csvWriteMs * 1e6) / calls).toFixed(0)} ms, .rec ${((recWriteMs * 1e6) / calls).toFixed(0)} ms, interval histograms ${((logWriteMs * 1e6) / calls).toFixed(0)} ms`,
);

// The charts' digest, as `report` makes it: the counts given are run.json's, which the log must hold to be used
// (counts it does not hold make the digest read the records instead).
const digestMs = async (recordsFile: string, withLog: boolean): Promise<number> => {
  const t = performance.now();
  const d = await digestConfiguration(dir, { recordsFile, operationsOk: withLog ? ok : -1, operationsFailed: failed });
  if (d.source !== (withLog ? 'interval-log' : 'records')) throw new Error(`digest of ${recordsFile} came from ${d.source}`);
  return performance.now() - t;
};
const fromCsv = await digestMs(csvFile, false);
const fromRec = await digestMs(recFile, false);
const fromLog = await digestMs(recFile, true);
const per10M = (ms: number) => ((ms / 1000) * (1e7 / calls)).toFixed(2);
console.log(`\nreport's digest (latency curve, per-token throughput over time), seconds per 10 M calls:`);
console.log(`  from every CSV record (before)    ${per10M(fromCsv)} s`);
console.log(`  from every binary record          ${per10M(fromRec)} s   (${(fromCsv / fromRec).toFixed(1)} × faster)`);
console.log(`  from the interval log (now)       ${per10M(fromLog)} s   (${(fromCsv / fromLog).toFixed(0)} × faster)`);

// The report's memory: a log of a minute and one of `logHours` hours of 8 tokens, each second of each token 1,000 calls
// of 0.1–2.2 ms around 0.5 ms with a 1 % tail to 20 ms (some 640 bytes a line, a night's log of 70–210 MB as real
// spreads make), written as a run writes it (taken every second); each digested in a process of its own.
const LOG_TOKENS = 8;
const CALLS_PER_TOKEN_SECOND = 1000;
function writeLog(recordsFile: string, seconds: number): { ok: number; bytes: number } {
  const histograms = new IntervalHistograms();
  const writer = new IntervalLogWriter(join(dir, intervalLogOf(recordsFile)));
  for (let second = 0; second < seconds; second++) {
    for (let token = 0; token < LOG_TOKENS; token++) {
      for (let i = 0; i < CALLS_PER_TOKEN_SECOND; i++) {
        const latencyUs = Math.round(500 * Math.exp(random() + random() + random() - 1.5) + (random() < 0.01 ? random() * 20000 : 0));
        histograms.add(token, 'sign', true, second * 1e6 + (i * 1e6) / CALLS_PER_TOKEN_SECOND, latencyUs);
      }
    }
    writer.write(histograms.take());
  }
  writer.write(histograms.take(true));
  writer.close();
  return { ok: seconds * LOG_TOKENS * CALLS_PER_TOKEN_SECOND, bytes: bytes(intervalLogOf(recordsFile)) };
}
console.log(`\nreport's memory: the digest of an interval log of ${LOG_TOKENS} tokens (${CALLS_PER_TOKEN_SECOND.toLocaleString('en')} calls per token and second), in a process of its own:`);
for (const [name, seconds] of [
  ['1 minute', 60],
  [`${logHours} hour${logHours === 1 ? '' : 's'}`, logHours * 3600],
] as const) {
  const recordsFile = `records/log-${seconds}s.rec`;
  const log = writeLog(recordsFile, seconds);
  const digest = JSON.parse(execFileSync(process.execPath, [new URL('./digest-rss.js', import.meta.url).pathname, dir, recordsFile, String(log.ok), '0'], { encoding: 'utf8' })) as {
    source: string;
    seconds: number;
    rssBeforeMB: number;
    peakRssMB: number;
  };
  if (digest.source !== 'interval-log') throw new Error(`digest of ${recordsFile} came from ${digest.source}`);
  console.log(
    `  ${name.padEnd(10)} ${(log.bytes / 1e6).toFixed(1).padStart(7)} MB of log, ${(log.ok / 1e6).toFixed(2)} M calls: peak RSS ${digest.peakRssMB.toFixed(0)} MB (${digest.rssBeforeMB.toFixed(0)} MB before the digest), ${digest.seconds.toFixed(2)} s`,
  );
}
