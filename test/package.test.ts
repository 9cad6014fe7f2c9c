import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { tempDir } from './helpers/cli.js';

const root = new URL('..', import.meta.url).pathname;

/**
 * The package as a user gets it: `npm pack`, then the tarball installed into an empty prefix (its dependencies from
 * the registry, its native parts built there), then the installed command run from an unrelated folder.
 */
describe('the npm package', () => {
  it('installs from its tarball and signs from there, with the native loop built at install', () => {
    const work = tempDir('package');
    // --ignore-scripts: `prepare` would compile dist/ again while other test files run the CLI from it (pretest built it).
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: root, stdio: 'pipe' });
    const tarball = join(
      work,
      readdirSync(work).find((f) => f.endsWith('.tgz'))!,
    );
    const prefix = join(work, 'prefix');
    execFileSync('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: work, stdio: 'pipe' });
    const bin = join(prefix, 'bin', 'hsm-bench');
    const env = { ...process.env, HSM_BENCH_WORKSPACE: join(work, 'ws') };
    const version = spawnSync(bin, ['--version'], { cwd: work, env, encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const r = spawnSync(bin, ['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '50', '--json', '--out', join(work, 'reports')], { cwd: work, env, encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Error:/);
    expect(r.status).toBe(0);
    const run = JSON.parse(r.stdout) as RunResult;
    expect(run.configurations[0]!.operationsOk).toBe(50);
    expect(run.harness.engine).toBe('native');
  }, 300_000);
});
