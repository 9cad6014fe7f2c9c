import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { writeReports } from '../src/report/write-reports.js';
import { readRunJson } from '../src/result/run-directory.js';
import { tempDir } from './helpers/cli.js';

// A machine whose native canvas cannot load: the fault a real install cannot produce on demand.
vi.mock('canvas', () => {
  throw new Error('canvas.node: cannot open shared object file: No such file or directory');
});

describe('reports on a machine without a working canvas', () => {
  it('write every other artifact and say how to enable charts', async () => {
    const dir = join(tempDir('nocharts'), 'run');
    cpSync(new URL('../fixtures/run-rsa2048', import.meta.url).pathname, dir, { recursive: true });
    const { files, warnings } = await writeReports(dir, readRunJson(dir), ['md', 'csv', 'png'], undefined);
    expect(files).toEqual(['summary.csv', 'report.md']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^charts are not available: .*To enable them, install libcairo2-dev .* then run 'npm rebuild canvas'$/);
    expect(existsSync(join(dir, 'charts'))).toBe(false);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/Charts were not drawn: charts are not available/);
  });
});
