import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvField, CSV_HEADER, csvLine, parseCsvLine, parseRecordLine } from '../src/result/records-csv.js';
import { MAGIC, readRecords, RecordsFileWriter, type BadParts } from '../src/result/records-file.js';
import { recordsOnDisk, truncateToLastBlock } from '../src/result/replay.js';
import { type CallRecord } from '../src/model/record.js';
import { BIN, tempDir } from './helpers/cli.js';

const record = (i: number): CallRecord => ({
  configuration: i % 2 === 0 ? 'tokens-2-sessions-4-rate-99.5-rep-3' : 'tokens-2',
  token: i % 2,
  thread: 0,
  sequence: i,
  startOffsetUs: i * 10,
  latencyUs: 250 + (i % 7),
  status: i === 5 ? 'CKR_DEVICE_ERROR' : 'CKR_OK',
  verified: i === 5 ? null : i !== 6,
  operation: i % 3 === 0 ? 'decrypt' : 'sign',
  // An open-loop record every other one (a file has one kind; both must survive the round trip).
  startLagUs: i % 2 === 0 ? null : i * 3,
  late: i % 2 === 0 ? null : i % 4 === 1,
});

async function readAll(path: string, bad?: BadParts): Promise<CallRecord[]> {
  const read: CallRecord[] = [];
  for await (const r of readRecords(path, bad)) read.push(r);
  return read;
}

/** A session's calls as the recorder gives them: one (token, thread) stream, sequences 0, 1, 2 … */
const streamRecord = (i: number, token = 0, thread = 0): CallRecord => ({ ...record(i), configuration: 'tokens-2', token, thread, sequence: i, startOffsetUs: 1_000 + i * 137 + (i % 5) });

/** Writes `records` to a new binary records file. */
function writeFile(path: string, records: readonly CallRecord[]): void {
  const w = new RecordsFileWriter(path);
  records.forEach((r) => w.write(r));
  w.close();
}

describe('binary records', () => {
  it('a process that exits at once (a third Ctrl-C) still writes every record it was given', async () => {
    const path = join(tempDir('rec-exit'), 'r.rec');
    const writer = new URL('../dist/src/result/records-file.js', import.meta.url).href;
    const script = `import(${JSON.stringify(writer)}).then(({ RecordsFileWriter }) => {
      const w = new RecordsFileWriter(${JSON.stringify(path)});
      for (let i = 0; i < 10; i++) w.write({ ...${JSON.stringify(record(0))}, sequence: i });
      process.exit(130);
    });`;
    expect(spawnSync(process.execPath, ['-e', script]).status).toBe(130);
    expect(await readAll(path)).toHaveLength(10);
  });

  it('reads back every record it wrote, whatever their streams, statuses, operations and schedules', async () => {
    const path = join(tempDir('rec'), 'r.rec');
    // Interleaved streams (as batches arrive), a stream's sequence jumping, and records of no stream order at all.
    const written = [
      ...Array.from({ length: 5000 }, (_, i) => streamRecord(i, i % 3, i % 2)),
      ...Array.from({ length: 3000 }, (_, i) => record(i)),
      { ...streamRecord(7), sequence: 2 ** 40, startOffsetUs: 9e12, latencyUs: 0, status: 'CKR_VENDOR_DEFINED', operation: '' },
    ];
    writeFile(path, written);
    expect(readFileSync(path).subarray(0, MAGIC.length)).toEqual(MAGIC);
    expect(await readAll(path)).toEqual(written);
  });

  it('costs at most 12 bytes per call (the calls of a steady token)', async () => {
    const path = join(tempDir('rec'), 'r.rec');
    const calls = 100_000;
    writeFile(
      path,
      Array.from({ length: calls }, (_, i) => ({ ...streamRecord(i), startLagUs: 40 + (i % 300), late: i % 9 === 0 })),
    );
    expect(statSync(path).size / calls).toBeLessThanOrEqual(12);
    // A slow token's: 8 sessions of a few calls a second, a batch of one call each, written every 2 s (80 calls).
    const slow = join(tempDir('rec'), 'slow.rec');
    const w = new RecordsFileWriter(slow);
    for (let i = 0; i < 8000; i++) {
      w.write({ ...streamRecord(Math.floor(i / 8), i % 8), startOffsetUs: i * 25_000, latencyUs: 190_000 + ((i * 7919) % 20_000) });
      if (i % 80 === 79) w.flush();
    }
    w.close();
    expect(statSync(slow).size / 8000).toBeLessThanOrEqual(12);
  });

  it('gives a file that a crash left empty its magic when a resume appends to it', async () => {
    const path = join(tempDir('rec'), 'r.rec');
    writeFileSync(path, '');
    const w = new RecordsFileWriter(path, true);
    w.write(streamRecord(0));
    w.close();
    const again = new RecordsFileWriter(path, true);
    again.write(streamRecord(1));
    again.close();
    expect(readFileSync(path).subarray(0, MAGIC.length)).toEqual(MAGIC);
    expect(await readAll(path)).toEqual([streamRecord(0), streamRecord(1)]);
  });

  it('counts a torn or changed block instead of taking it as calls; a resume cuts the torn end', async () => {
    const path = join(tempDir('rec'), 'r.rec');
    const w = new RecordsFileWriter(path);
    [0, 1, 2].forEach((i) => w.write(streamRecord(i)));
    w.flush();
    const firstBlockEnds = statSync(path).size;
    [3, 4].forEach((i) => w.write(streamRecord(i)));
    w.close();
    const whole = statSync(path).size;
    // A byte of the second block changed: its CRC no longer matches.
    const bytes = readFileSync(path);
    bytes[whole - 3]! ^= 0xff;
    writeFileSync(path, bytes);
    const bad: BadParts = { count: 0 };
    expect(await readAll(path, bad)).toEqual([0, 1, 2].map((i) => streamRecord(i)));
    expect(bad).toEqual({ count: 1, first: { unit: 'block', number: 2 } });
    // A block torn by a kill: read as far as it goes, and cut by a resume.
    bytes[whole - 3]! ^= 0xff;
    writeFileSync(path, bytes.subarray(0, whole - 4));
    expect(recordsOnDisk(path)).toEqual({ records: 3, endOffsetUs: streamRecord(2).startOffsetUs + streamRecord(2).latencyUs });
    expect(truncateToLastBlock(path)).toBe(whole - 4 - firstBlockEnds);
    expect(statSync(path).size).toBe(firstBlockEnds);
    truncateSync(path, 3);
    expect(truncateToLastBlock(path)).toBe(3);
    expect(await readAll(path)).toEqual([]);
  });

  it('`hsm-bench records FILE --csv` prints exactly the CSV that runs wrote before, for the same calls', async () => {
    // One records file of each example run as the version before the binary format wrote it in CSV (a burn-in
    // resumed, a mix, open loop, sweeps …: every kind of record), its first and last 1,500 lines: fixtures/frozen.
    const frozen = new URL('../fixtures/frozen/records-csv/', import.meta.url).pathname;
    const csvFiles = readdirSync(frozen).map((f) => join(frozen, f));
    expect(csvFiles.length).toBeGreaterThan(5);
    const dir = tempDir('rec-csv');
    let csvBytes = 0;
    let binaryBytes = 0;
    for (const [i, csv] of csvFiles.filter((f) => f.endsWith('.csv')).entries()) {
      const path = join(dir, `${i}.rec`);
      const w = new RecordsFileWriter(path);
      for await (const r of readRecords(csv)) w.write(r);
      w.close();
      const printed = spawnSync(BIN, ['records', path, '--csv'], { maxBuffer: 1 << 28 });
      expect(printed.status).toBe(0);
      expect(printed.stdout.equals(readFileSync(csv)), csv).toBe(true);
      csvBytes += statSync(csv).size;
      binaryBytes += statSync(path).size;
    }
    expect(binaryBytes).toBeLessThan(csvBytes / 3);
    // And the CSV of records given to the writer is the header and one line a record, as before.
    const path = join(dir, 'mixed.rec');
    const mixed = Array.from({ length: 50 }, (_, i) => record(i));
    writeFile(path, mixed);
    expect(spawnSync(BIN, ['records', path, '--csv']).stdout.toString()).toBe([CSV_HEADER, ...mixed.map(csvLine)].join('\n') + '\n');
  });
});

describe('records CSV (runs before the binary format)', () => {
  it('quotes only what needs quoting and parses it back', () => {
    expect(csvField('hsm-bench-01')).toBe('hsm-bench-01');
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    expect(parseCsvLine(`1,"a,""b""",,x`)).toEqual(['1', 'a,"b"', '', 'x']);
  });

  it('reads a CSV records file, counting torn and junk lines instead of taking them as signatures', async () => {
    const path = join(tempDir('csv'), 'r.csv');
    writeFileSync(path, [CSV_HEADER, ...[0, 1, 2].map((i) => csvLine(record(i)))].join('\n') + '\n');
    appendFileSync(path, '2,0,0,3,40,25\nhello world\n2,x,0,4,50,250,CKR_OK,true\n2,0,0,5,60,251,CKR_OK,maybe\n');
    const bad: BadParts = { count: 0 };
    expect(await readAll(path, bad)).toEqual([0, 1, 2].map((i) => record(i)));
    expect(bad.count).toBe(4);
    expect(bad.first).toEqual({ unit: 'line', number: 5 });
  });

  it('parses one line exactly, and refuses negative or fractional fields', () => {
    // A file of an older version holds the token count in the configuration column.
    expect(parseRecordLine('1,3,2,7,100,250,CKR_OK,,decrypt,1500,true')).toEqual({
      configuration: '1',
      token: 3,
      thread: 2,
      sequence: 7,
      startOffsetUs: 100,
      latencyUs: 250,
      status: 'CKR_OK',
      verified: null,
      operation: 'decrypt',
      startLagUs: 1500,
      late: true,
    });
    expect(parseRecordLine('1,3,2,7,100,250,CKR_OK,,decrypt,,')).toMatchObject({ startLagUs: null, late: null });
    // Written before operations (8 columns) or before open loop (9): as the file's header says.
    expect(parseRecordLine('1,3,2,7,100,250,CKR_OK,', 8)).toMatchObject({ sequence: 7, operation: '', startLagUs: null });
    expect(parseRecordLine('1,3,2,7,100,250,CKR_OK,,sign', 9)).toMatchObject({ operation: 'sign', late: null });
    expect(parseRecordLine('tokens-4-sessions-2-rate-0.5-rep-2,3,2,7,100,250,CKR_OK,,sign,,')).toMatchObject({ configuration: 'tokens-4-sessions-2-rate-0.5-rep-2' });
    expect(parseRecordLine('tokens-x,3,2,7,100,250,CKR_OK,,sign,,')).toBeUndefined();
    expect(parseRecordLine('1,3,2,7,100,250,CKR_OK,')).toBeUndefined();
    expect(parseRecordLine('1,3,2,7,100,250,CKR_OK,,Sign!,,')).toBeUndefined();
    expect(parseRecordLine('1,3,2,7,100,250,CKR_OK,,sign,1.5,true')).toBeUndefined();
    expect(parseRecordLine('1,3,2,7,100,250,CKR_OK,,sign,15,yes')).toBeUndefined();
    expect(parseRecordLine('1,-3,2,7,100,250,CKR_OK,')).toBeUndefined();
    expect(parseRecordLine('1,3,2,7,100,2.5,CKR_OK,')).toBeUndefined();
    expect(parseRecordLine('1,3,2,7,100,250,ok,')).toBeUndefined();
  });

  it('keeps a write error instead of throwing from a timer, and reports it with the path', () => {
    let reported = '';
    const w = new RecordsFileWriter('/dev/full', false, (e) => (reported = e.message));
    w.write(record(0));
    w.flush();
    expect(reported).toMatch(/^cannot write \/dev\/full: ENOSPC/);
    expect(w.failure?.exitCode).toBe(3);
    w.close();
  });
});
