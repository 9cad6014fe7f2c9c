import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { writeReports } from '../src/report/write-reports.js';
import { readRunJson } from '../src/result/run-directory.js';
import { tempDir } from './helpers/cli.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

describe('tokens without a serial (sc-hsm-embedded gives its SmartCard-HSMs none)', () => {
  it('reports say serial (none), never an empty word ("serial ,")', async () => {
    const dir = join(tempDir('no-serial'), 'run');
    cpSync(join(FIXTURES, 'run-rsa2048'), dir, { recursive: true });
    const run: RunResult = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    for (const t of run.tokens) t.serial = '';
    for (const c of run.configurations) for (const t of c.perToken) t.serial = '';
    writeFileSync(join(dir, 'run.json'), JSON.stringify(run));
    await writeReports(dir, readRunJson(dir), ['md']);
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(report).not.toMatch(/serial [,)]|serial $/m);
    // The tokens table and the per-token table: a cell that says none, not an empty one.
    expect(report).toMatch(/^\| [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ \| \(none\) \|/m);
    expect(report).toMatch(/^\| \d+ tokens? [^|]*\| [^|]+ \| [^|]+ \| \(none\) \|/m);
  });
});
