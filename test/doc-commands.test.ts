import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir } from './helpers/cli.js';

const root = new URL('..', import.meta.url).pathname;

/** README.md and every page under docs/. */
function pages(): string[] {
  const under = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? under(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : []));
  return [join(root, 'README.md'), ...under(join(root, 'docs'))];
}

interface DocCommand {
  page: string;
  /** The line of its first command. */
  line: number;
  script: string;
  exitCode: number;
}

/**
 * Every fenced `sh` block after a `<!-- runnable -->` marker (`<!-- runnable exit=5 -->` when the example shows a
 * command that fails on purpose): what a reader would copy.
 */
function runnableBlocks(page: string, text: string): DocCommand[] {
  return [...text.matchAll(/<!-- runnable(?: exit=(\d+))? -->\n```sh\n([\s\S]*?)```/g)].map((m) => ({
    page: relative(root, page),
    line: text.slice(0, m.index).split('\n').length + 2,
    script: m[2]!,
    exitCode: Number(m[1] ?? 0),
  }));
}

const blocks = pages().flatMap((page) => runnableBlocks(page, readFileSync(page, 'utf8')));

describe('the command lines of README.md and docs/, run as written', () => {
  it('finds the marked blocks', () => {
    expect(blocks.length).toBeGreaterThan(0);
    expect(runnableBlocks('x.md', 'a\n<!-- runnable exit=5 -->\n```sh\nnpx hsm-bench list\n```\n')).toEqual([{ page: 'x.md', line: 4, script: 'npx hsm-bench list\n', exitCode: 5 }]);
  });

  for (const block of blocks) {
    it(`${block.page}:${block.line}: ${block.script.split('\n')[0]}`, () => {
      // A job folder of its own: `npx hsm-bench` finds the command in its node_modules/.bin, as in a project
      // that depends on it; embedded tokens in a workspace of its own.
      const job = tempDir('doc-command');
      mkdirSync(join(job, 'node_modules', '.bin'), { recursive: true });
      symlinkSync(BIN, join(job, 'node_modules', '.bin', 'hsm-bench'));
      writeFileSync(join(job, 'commands.sh'), `set -euo pipefail\n${block.script}`);
      const r = spawnSync('bash', ['commands.sh'], { cwd: job, env: { ...process.env, HSM_BENCH_WORKSPACE: join(job, 'ws'), CI: 'true' }, encoding: 'utf8', timeout: 600_000 });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(block.exitCode);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }, 600_000);
  }
});
