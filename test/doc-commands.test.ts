import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLAG_REFERENCE_PATH } from '../src/cli/flag-reference.js';
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
      // Files of the repository a page names (fixtures/…) resolve as they do in a checkout.
      symlinkSync(join(root, 'fixtures'), join(job, 'fixtures'));
      writeFileSync(join(job, 'commands.sh'), `set -euo pipefail\n${block.script}`);
      const r = spawnSync('bash', ['commands.sh'], { cwd: job, env: { ...process.env, HSM_BENCH_WORKSPACE: join(job, 'ws'), CI: 'true' }, encoding: 'utf8', timeout: 600_000 });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(block.exitCode);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }, 600_000);
  }
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchorOf = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

/** The text of a page outside its fenced code blocks, line by line (code keeps its place as empty lines). */
function proseLines(text: string): string[] {
  let fenced = false;
  return text.split('\n').map((line) => {
    if (line.startsWith('```')) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

const pageTexts = pages().map((page) => ({ page, name: relative(root, page), text: readFileSync(page, 'utf8') }));

describe('README.md and docs/ as pages', () => {
  it('README.md leads in at most 200 lines; the rest is in docs/', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(200);
  });

  it('every relative link points to a file that exists, and to a heading of it where it names one', () => {
    const broken: string[] = [];
    for (const { page, name, text } of pageTexts) {
      const prose = proseLines(text)
        .join('\n')
        .replace(/`[^`\n]*`/g, '');
      for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const file = path === '' ? page : join(dirname(page), path);
        if (!existsSync(file)) {
          broken.push(`${name}: ${target} (no such file)`);
          continue;
        }
        if (anchor === undefined || !file.endsWith('.md') || statSync(file).isDirectory()) continue;
        const headings = proseLines(readFileSync(file, 'utf8'))
          .filter((line) => /^#+ /.test(line))
          .map((line) => anchorOf(line.replace(/^#+ /, '')));
        if (!headings.includes(anchor)) broken.push(`${name}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
    expect(anchorOf('Repeats and spread (`--repeat R`, lab key `repeat`)')).toBe('repeats-and-spread---repeat-r-lab-key-repeat');
  });

  it('keeps prose to 120 columns (tables, code and images may be wider; the flag reference is --help as it prints)', () => {
    const long = pageTexts
      .filter(({ name }) => name !== FLAG_REFERENCE_PATH)
      .flatMap(({ name, text }) =>
        proseLines(text)
          .map((line, i) => ({ line, at: `${name}:${i + 1}` }))
          .filter(({ line }) => [...line].length > 120 && !/^\s*(\||!\[)/.test(line))
          .map(({ at }) => at),
      );
    expect(long).toEqual([]);
  });

  it("quotes the examples' command and output as fixtures/examples holds them (copy them again after regenerating)", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const commands = [...readme.matchAll(/<!-- example-command: (\S+) -->\n```sh\n([\s\S]*?)\n```/g)];
    const outputs = [...readme.matchAll(/<!-- example-output: (\S+) -->\n```text\n([\s\S]*?)\n```/g)];
    expect(commands.length).toBeGreaterThan(0);
    expect(outputs.length).toBeGreaterThan(0);
    for (const [, dir, command] of commands) {
      const run = JSON.parse(readFileSync(join(root, dir!, 'run.json'), 'utf8')) as { commandLine: string };
      expect(command, dir).toBe(run.commandLine);
    }
    for (const [, file, output] of outputs) expect(readFileSync(join(root, file!), 'utf8'), file).toContain(output);
  });

  it('quotes sizing answers only as an example report states them', () => {
    const examples = join(root, 'fixtures', 'examples');
    const reports = readdirSync(examples)
      .filter((dir) => existsSync(join(examples, dir, 'report.md')))
      .map((dir) => readFileSync(join(examples, dir, 'report.md'), 'utf8'));
    const quoted = pageTexts.flatMap(({ name, text }) => [...text.matchAll(/`(Capacity within [^`]+)`/g)].map((m) => ({ name, answer: m[1]!.replace(/\s+/g, ' ') })));
    expect(quoted.length).toBeGreaterThan(0);
    expect(quoted.filter(({ answer }) => !reports.some((report) => report.includes(answer)))).toEqual([]);
  });

  it('names in docs/reference/environment.md every environment variable the code reads', () => {
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    const read = new Set<string>();
    for (const file of sources(join(root, 'src'))) {
      const code = readFileSync(file, 'utf8');
      for (const m of code.matchAll(/process\.env\.([A-Z][A-Z0-9_]*)|\.env\('([A-Z][A-Z0-9_]*)'\)|'(HSM_BENCH_[A-Z0-9_]+)'/g)) read.add((m[1] ?? m[2] ?? m[3])!);
    }
    expect(read.size).toBeGreaterThan(5);
    const page = readFileSync(join(root, 'docs', 'reference', 'environment.md'), 'utf8');
    expect([...read].filter((name) => !page.includes(`\`${name}\``))).toEqual([]);
  });
});
