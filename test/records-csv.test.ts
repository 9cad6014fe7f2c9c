import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvField, parseCsvLine, readRecords, RecordsCsvWriter, type SignatureRecord } from '../src/record/records-csv.js';
import { tempDir } from './helpers/cli.js';

describe('records CSV', () => {
  it('quotes only what needs quoting and parses it back', () => {
    expect(csvField('hsm-bench-01')).toBe('hsm-bench-01');
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    expect(parseCsvLine(`1,"a,""b""",,x`)).toEqual(['1', 'a,"b"', '', 'x']);
  });

  it('writes a header line and reads back every record it wrote', async () => {
    const path = join(tempDir('csv'), 'r.csv');
    const w = new RecordsCsvWriter(path);
    const written: SignatureRecord[] = Array.from({ length: 3000 }, (_, i) => ({
      configuration: 2,
      token: i % 2 ? 'card, "two"' : 'card one',
      thread: 0,
      sequence: i,
      startOffsetUs: i * 10,
      latencyUs: 250 + (i % 7),
      status: i === 5 ? 'CKR_DEVICE_ERROR' : 'CKR_OK',
      verified: i === 5 ? null : i !== 6,
    }));
    written.forEach((r) => w.write(r));
    w.close();
    const read: SignatureRecord[] = [];
    for await (const r of readRecords(path)) read.push(r);
    expect(read).toEqual(written);
  });
});
