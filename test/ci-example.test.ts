import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir } from './helpers/cli.js';

/** The CI job of docs/ci.md, taken from the page as written (the block after the ci-example marker). */
function ciExample(): string {
  const page = readFileSync(new URL('../docs/ci.md', import.meta.url), 'utf8');
  const block = /<!-- ci-example -->\n```sh\n([\s\S]*?)```/.exec(page);
  if (!block) throw new Error('docs/ci.md has no ci-example block');
  return block[1]!;
}

describe("docs/ci.md's CI job", () => {
  it('runs as written: the first night saves the baseline, the next is judged against it', () => {
    const job = tempDir('readme-ci');
    // `npx hsm-bench` finds the command in the job folder's node_modules/.bin, as in a project that depends on it.
    mkdirSync(join(job, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(BIN, join(job, 'node_modules', '.bin', 'hsm-bench'));
    writeFileSync(join(job, 'job.sh'), ciExample(), { mode: 0o755 });
    const env = { ...process.env, HSM_BENCH_WORKSPACE: join(job, 'ws'), CI: 'true' };
    const first = spawnSync('bash', ['job.sh'], { cwd: job, env, encoding: 'utf8' });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/does not exist yet/);
    expect(existsSync(join(job, 'baseline', 'run.json'))).toBe(true);
    expect(existsSync(join(job, 'hsm-bench-reports.tgz'))).toBe(true);
    const second = spawnSync('bash', ['job.sh'], { cwd: job, env, encoding: 'utf8' });
    // Judged against the first night: a pass, or on this shared machine a regression beyond the noise.
    expect([0, 5], second.stderr).toContain(second.status);
    expect(second.stdout).toMatch(/against the baseline/);
    const names = execFileSync('xmllint', ['--xpath', '//testcase/@name', join(job, 'junit.xml')], { encoding: 'utf8' });
    expect(names).toContain('p256.tokens-2.baseline.throughput');
  }, 180_000);
});
