import { spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvField, parseCsvLine, parseRecordLine, readRecords, RecordsCsvWriter, type BadLines } from '../src/result/records-csv.js';
import { type CallRecord } from '../src/model/record.js';
import { tempDir } from './helpers/cli.js';

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

async function readAll(path: string, bad?: BadLines): Promise<CallRecord[]> {
  const read: CallRecord[] = [];
  for await (const r of readRecords(path, bad)) read.push(r);
  return read;
}

describe('records CSV', () => {
  it('a process that exits at once (a third Ctrl-C) still writes every record it was given', async () => {
    const path = join(tempDir('csv-exit'), 'r.csv');
    const writer = new URL('../dist/src/result/records-csv.js', import.meta.url).href;
    const script = `import(${JSON.stringify(writer)}).then(({ RecordsCsvWriter }) => {
      const w = new RecordsCsvWriter(${JSON.stringify(path)});
      for (let i = 0; i < 10; i++) w.write(${JSON.stringify(record(0))});
      process.exit(130);
    });`;
    expect(spawnSync(process.execPath, ['-e', script]).status).toBe(130);
    expect(await readAll(path)).toHaveLength(10);
  });

  it('quotes only what needs quoting and parses it back', () => {
    expect(csvField('hsm-bench-01')).toBe('hsm-bench-01');
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    expect(parseCsvLine(`1,"a,""b""",,x`)).toEqual(['1', 'a,"b"', '', 'x']);
  });

  it('writes a header line and reads back every record it wrote', async () => {
    const path = join(tempDir('csv'), 'r.csv');
    const w = new RecordsCsvWriter(path);
    const written = Array.from({ length: 3000 }, (_, i) => record(i));
    written.forEach((r) => w.write(r));
    w.close();
    expect(await readAll(path)).toEqual(written);
  });

  it('gives a file that a crash left empty its header when a resume appends to it', async () => {
    const path = join(tempDir('csv'), 'r.csv');
    writeFileSync(path, '');
    const w = new RecordsCsvWriter(path, true);
    w.write(record(0));
    w.close();
    const again = new RecordsCsvWriter(path, true);
    again.write(record(1));
    again.close();
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('configuration,token,thread,sequence,startOffsetUs,latencyUs,status,verified,operation,startLagUs,late');
    expect(lines).toHaveLength(3);
  });

  it('counts torn and junk lines instead of taking them as signatures', async () => {
    const path = join(tempDir('csv'), 'r.csv');
    const w = new RecordsCsvWriter(path);
    [0, 1, 2].forEach((i) => w.write(record(i)));
    w.close();
    appendFileSync(path, '2,0,0,3,40,25\nhello world\n2,x,0,4,50,250,CKR_OK,true\n2,0,0,5,60,251,CKR_OK,maybe\n');
    const bad: BadLines = { count: 0 };
    expect(await readAll(path, bad)).toHaveLength(3);
    expect(bad.count).toBe(4);
    expect(bad.first).toEqual({ lineNumber: 5 });
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
    const w = new RecordsCsvWriter('/dev/full', false, (e) => (reported = e.message));
    w.write(record(0));
    w.flush();
    expect(reported).toMatch(/^cannot write \/dev\/full: ENOSPC/);
    expect(w.failure?.exitCode).toBe(3);
    w.close();
  });
});
