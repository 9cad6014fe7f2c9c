import { closeSync, createReadStream, fsyncSync, openSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** One signature as stored on disk. `verified` is empty where the signature was not checked. */
export interface SignatureRecord {
  configuration: number;
  token: string;
  thread: number;
  sequence: number;
  startOffsetUs: number;
  latencyUs: number;
  status: string;
  verified: boolean | null;
}

export const RECORD_COLUMNS = ['configuration', 'token', 'thread', 'sequence', 'startOffsetUs', 'latencyUs', 'status', 'verified'] as const;

const FLUSH_BYTES = 1 << 16;

/** Quotes a field only when CSV needs it (token labels are free text). */
export function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Parses one CSV line (RFC 4180 quoting, no embedded newlines). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') (value += '"'), (i += 2);
        else if (line[i] === '"') break;
        else value += line[i++];
      }
      fields.push(value);
      i += 2;
    } else {
      const end = line.indexOf(',', i);
      fields.push(line.slice(i, end === -1 ? line.length : end));
      i = end === -1 ? line.length + 1 : end + 1;
    }
  }
  return fields;
}

/** Appends records to a CSV file with a header line, writing in 64 KiB blocks so the signing path never waits on disk. */
export class RecordsCsvWriter {
  private readonly fd: number;
  private pending = '';
  recordCount = 0;

  /** `append` continues an existing file (a resumed burn-in) without a second header line. */
  constructor(
    readonly path: string,
    append = false,
  ) {
    this.fd = openSync(path, append ? 'a' : 'w');
    this.pending = append ? '' : RECORD_COLUMNS.join(',') + '\n';
  }

  write(r: SignatureRecord): void {
    this.pending += `${r.configuration},${csvField(r.token)},${r.thread},${r.sequence},${Math.round(r.startOffsetUs)},${Math.round(r.latencyUs)},${r.status},${r.verified === null ? '' : r.verified}\n`;
    this.recordCount++;
    if (this.pending.length >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.pending.length > 0) writeSync(this.fd, this.pending);
    this.pending = '';
  }

  close(): void {
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

export async function* readRecords(path: string): AsyncGenerator<SignatureRecord> {
  let header = true;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (header || line === '') {
      header = false;
      continue;
    }
    const [configuration, token, thread, sequence, startOffsetUs, latencyUs, status, verified] = parseCsvLine(line);
    yield {
      configuration: Number(configuration),
      token: token!,
      thread: Number(thread),
      sequence: Number(sequence),
      startOffsetUs: Number(startOffsetUs),
      latencyUs: Number(latencyUs),
      status: status!,
      verified: verified === '' ? null : verified === 'true',
    };
  }
}
