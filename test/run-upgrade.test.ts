import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type RunResult } from '../src/model/run-result.js';
import { burnInTokenTable } from '../src/report/burn-in-summary.js';
import { readRunJson } from '../src/result/run-directory.js';
import { upgradeRunJson } from '../src/result/run-upgrade.js';
import { schemaProblems } from '../src/result/schemas.js';
import { tempDir } from './helpers/cli.js';

/** A burn-in measured before stalls (version 4, no configurations[].stalls): token 1 failed every call and was lost. */
const FROZEN = new URL('../fixtures/frozen/burn-in-resumed/run.json', import.meta.url).pathname;
const frozen = () => JSON.parse(readFileSync(FROZEN, 'utf8')) as Record<string, unknown> & RunResult;

/** `doc` written as a run directory's run.json, read back as `report` reads it. */
function readBack(doc: unknown): RunResult {
  const dir = join(tempDir('upgrade'), 'run');
  mkdirSync(dir);
  writeFileSync(join(dir, 'run.json'), JSON.stringify(doc));
  return readRunJson(dir);
}

describe('run.json version 4 measured before stalls', () => {
  it('is read as the current version: a token lost for the whole run has its outage to the end, never "0 outages"', () => {
    const old = frozen();
    expect(old.schemaVersion).toBe(4);
    expect(old.configurations[0]!.stalls).toBeUndefined();
    expect(old.configurations[0]!.perToken[1]).toMatchObject({ outages: 0, outageS: 0, stillFailingS: 11.999 });
    const r = readBack(old);
    expect(r.schemaVersion).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(5);
    expect(schemaProblems('run', r)).toEqual([]);
    const [healthy, lost] = r.configurations[0]!.perToken;
    expect(lost).toMatchObject({ outages: 1, outageS: 11.999 });
    expect(healthy).toMatchObject({ outages: 0, outageS: 0 });
    // The burn-in's token table (terminal and report.md) says it.
    const table = burnInTokenTable(r, r.configurations[0]!);
    const outages = table.head.findIndex((h) => /outage/i.test(h));
    expect(table.rows.map((row) => row[outages])).toEqual(['0', '1 (12.0 s)']);
  });

  it('keeps a last failed call alone as no outage, and adds the open streak to outages that ended', () => {
    const old = frozen();
    const c = old.configurations[0]!;
    const variant = (t: object, lost: boolean) => ({ ...old, configurations: [{ ...c, workerIssues: lost ? c.workerIssues : [], perToken: [c.perToken[0], { ...c.perToken[1], ...t }] }] });
    // Not lost, one failure beyond its two ended outages: the last call failed, the token served to the end.
    expect(readBack(variant({ operationsFailed: 3, outages: 2, outageS: 1.5, stillFailingS: 0.004 }, false)).configurations[0]!.perToken[1]).toMatchObject({ outages: 2, outageS: 1.5 });
    // Not lost, failing at the end with more failures than its ended outages hold: a streak open to the end.
    expect(readBack(variant({ operationsFailed: 9, outages: 2, outageS: 1.5, stillFailingS: 2.25 }, false)).configurations[0]!.perToken[1]).toMatchObject({ outages: 3, outageS: 3.75 });
    // Lost: an outage to the end, even after one failed call.
    expect(readBack(variant({ operationsFailed: 1, outages: 0, outageS: 0, stillFailingS: 11.5 }, true)).configurations[0]!.perToken[1]).toMatchObject({ outages: 1, outageS: 11.5 });
  });

  it('measured with stalls already counted the open outage: read as it is', () => {
    const old = frozen();
    const c = old.configurations[0]!;
    const counted = { ...c, perToken: [c.perToken[0], { ...c.perToken[1], outages: 1, outageS: 11.999 }], stalls: { minMs: 100, clusterLongestGapMs: 0.6, count: 0, episodes: [] } };
    const up = upgradeRunJson({ ...old, configurations: [counted] });
    expect(up.schemaVersion).toBe(5);
    expect((up as unknown as RunResult).configurations[0]!.perToken[1]).toMatchObject({ outages: 1, outageS: 11.999 });
  });

  it('a version this build does not know is refused, naming the versions it reads', () => {
    expect(() => readBack({ ...frozen(), schemaVersion: 6 })).toThrow(/has schema version 6; this hsm-bench reads versions 2 to 5/);
  });
});
