import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { upgradeRunJson } from '../src/result/run-upgrade.js';
import { renderSummaryCsv, SUMMARY_COLUMNS } from '../src/report/summary-csv.js';

const example = (name: string) => upgradeRunJson(JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'frozen', name, 'run.json'), 'utf8'))) as RunResult;

/** The `all` rows of a summary, each as column → cell. */
const totals = (r: RunResult) =>
  renderSummaryCsv(r)
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','))
    .filter((row) => row[SUMMARY_COLUMNS.indexOf('token')] === 'all')
    .map((row) => Object.fromEntries(SUMMARY_COLUMNS.map((name, i) => [name, row[i]])));

describe('summary.csv says what each figure is', () => {
  it('names the service time as such, apart from the response time', () => {
    expect(SUMMARY_COLUMNS).toEqual(expect.arrayContaining(['serviceP50Ms', 'serviceP90Ms', 'serviceP99Ms', 'serviceMaxMs', 'responseP50Ms', 'responseP99Ms']));
    expect(SUMMARY_COLUMNS).not.toContain('p99Ms');
  });
  it('flags a response percentile that calls never started reach as a lower bound, and gives the pace, the backlog, held and the capacity', () => {
    const sizing = example('sizing-p256');
    // 1 token at 16,000/s: 14,139 calls never started; its p99 counts them with the wait they had reached.
    const behind = sizing.configurations.find((c) => c.tokens === 1 && c.openLoop?.targetRatePerS === 16000)!;
    behind.openLoop!.responseAtLeast = ['p99', 'max', 'mean'];
    const rows = totals(sizing).filter((row) => row.configurationTokens === '1');
    const at = (rate: number) => rows.find((row) => row.targetRatePerS === String(rate))!;
    expect(at(16000)).toMatchObject({
      responseP99Ms: '877.567',
      responseP99AtLeast: 'true',
      responseP50AtLeast: 'false',
      achievedRatePerS: '8930.3',
      notStarted: '14139',
      keptUp: 'false',
      held: 'false',
      capacityPerS: '2000',
    });
    expect(at(2000)).toMatchObject({ responseP99AtLeast: 'false', keptUp: 'true', held: 'true', capacityPerS: '2000' });
    expect(at(4000)).toMatchObject({ held: 'false' });
  });
  it('leaves the rate columns empty flat out', () => {
    const row = totals(example('scale-p256'))[0]!;
    for (const name of ['responseP99AtLeast', 'achievedRatePerS', 'notStarted', 'keptUp', 'held', 'capacityPerS']) expect(row[name]).toBe('');
  });
});
