import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPERATION_CALLS } from '../src/model/workload.js';
import { upgradeRunJson } from '../src/result/run-upgrade.js';
import { schemaProblems, type SchemaName } from '../src/result/schemas.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const SCHEMAS = new URL('../schemas/', import.meta.url).pathname;
const env = { HSM_BENCH_WORKSPACE: tempDir('schemas-ws') };

describe('JSON Schemas (schemas/)', () => {
  it("run.json's operation calls are the model's: a schema enum that cannot drift from the code", () => {
    const run = JSON.parse(readFileSync(join(SCHEMAS, 'run.schema.json'), 'utf8'));
    expect(run.properties.operation.properties.call.enum).toEqual([...OPERATION_CALLS, 'mix']);
  });

  it('each has a URL $id, and each document schema pins its schemaVersion', () => {
    for (const file of readdirSync(SCHEMAS)) {
      const schema = JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8'));
      expect(schema.$id).toBe(`https://raw.githubusercontent.com/hsm-bench/hsm-bench/main/schemas/${file}`);
      if (file !== 'lab.schema.json') expect(schema.properties.schemaVersion.const).toBeGreaterThanOrEqual(1);
    }
  });

  it('real outputs validate: run.json, checkpoint.json, list, compare and run --json', () => {
    const expectValid = (name: SchemaName, doc: unknown) => expect(schemaProblems(name, doc), name).toEqual([]);
    const out = tempDir('schemas');
    const scale = runCli(['scale', '--alg', 'p256', '--tokens', '1,2', '--repeat', '2', '--signatures-per-token', '60', '--json', '--out', out], env);
    expect(scale.status).toBe(0);
    expectValid('run', JSON.parse(scale.stdout));
    // A sizing run: sessions and rates swept, with an objective (capacity, knee-less: every configuration at a rate).
    const sizing = runCli(
      [
        'scale',
        '--alg',
        'p256',
        '--tokens',
        '1',
        '--threads-per-token',
        '1,2',
        '--rate',
        '100,200',
        '--slo-p99',
        '50ms',
        '--repeat',
        '2',
        '--duration',
        '500ms',
        '--max-window',
        '500ms',
        '--json',
        '--out',
        out,
      ],
      env,
    );
    expect(sizing.status, sizing.stderr).toBe(0);
    const sized = JSON.parse(sizing.stdout);
    expectValid('run', sized);
    expect(sized.capacity).toHaveLength(2);
    const sessions = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--threads-per-token', '1,2', '--signatures-per-token', '40', '--json', '--out', out], env);
    expect(sessions.status).toBe(0);
    expectValid('run', JSON.parse(sessions.stdout));
    expect(JSON.parse(sessions.stdout).saturation).toHaveLength(1);
    const sizingDir = runDirOf(sizing);
    const compareSizing = runCli(['compare', sizingDir, sizingDir, '--json', '--out', tempDir('schemas-cmp-sizing')]);
    expectValid('compare', JSON.parse(compareSizing.stdout));
    expect(JSON.parse(compareSizing.stdout).capacity).toHaveLength(2);
    const burnIn = runCli(['burn-in', '--alg', 'p256', '--tokens', '1', '--signatures', '100', '--out', out], env);
    expect(burnIn.status).toBe(0);
    const dir = runDirOf(burnIn);
    expectValid('run', JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')));
    expectValid('checkpoint', JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')));
    const list = runCli(['list', '--mechanisms', '--keys', '--json'], env);
    expect(list.status).toBe(0);
    expectValid('list', JSON.parse(list.stdout));
    const compare = runCli(['compare', join(FIXTURES, 'run-rsa2048'), join(FIXTURES, 'run-rsa2048'), '--json', '--out', tempDir('schemas-cmp')]);
    expectValid('compare', JSON.parse(compare.stdout));
    const lab = join(out, 'lab.json');
    writeFileSync(lab, JSON.stringify({ out, runs: [{ name: 'one', alg: 'p256', tokens: [1], signaturesPerToken: 20, thresholds: { maxFailures: 0 } }] }));
    const run = runCli(['run', '--config', lab, '--json'], env);
    expect(run.status).toBe(0);
    expectValid('lab-run', JSON.parse(run.stdout));
    expectValid('run', upgradeRunJson(JSON.parse(readFileSync(join(FIXTURES, 'run-rsa2048', 'run.json'), 'utf8'))));
    // A run of schema version 2 (before operations), as hsm-bench reads it: upgraded to the current version.
    const older = JSON.parse(readFileSync(join(FIXTURES, 'run-bp256', 'run.json'), 'utf8'));
    expect(older.schemaVersion).toBe(2);
    expectValid('run', upgradeRunJson(older));
    expectValid('lab', JSON.parse(readFileSync(join(FIXTURES, 'lab-example.json'), 'utf8')));
  }, 120_000);

  it('a malformed document is described path by path', () => {
    expect(schemaProblems('run', { schemaVersion: 2, runId: 7 })).toEqual(expect.arrayContaining(['$.runId: must be string, not 7', '$.tokens: required']));
  });
});
