import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEVELS, importProblems, importSpecifiers, type SourceFile } from './helpers/layers.js';

const SRC = new URL('../src/', import.meta.url).pathname;

/** Every .ts file of src/ with the src/ files it imports (relative specifiers, as written). */
function sourceFiles(): SourceFile[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) files.push(path);
    }
  };
  walk(SRC);
  return files.map((path) => {
    const text = readFileSync(path, 'utf8');
    const imports = importSpecifiers(text).map((s) => relative(SRC, resolve(dirname(path), s)).replace(/\.js$/, '.ts'));
    return { path: relative(SRC, path), imports };
  });
}

describe('the layers of src/', () => {
  it('every import goes down a level, no files import each other round a circle, and every folder has a level', () => {
    expect(importProblems(sourceFiles())).toEqual([]);
  });

  it('every level named exists as a folder of src/', () => {
    const folders = readdirSync(SRC).filter((f) => statSync(join(SRC, f)).isDirectory());
    expect(Object.keys(LEVELS).sort()).toEqual(folders.sort());
  });
});

describe('the layer check itself', () => {
  const file = (path: string, ...imports: string[]): SourceFile => ({ path, imports });

  it('refuses an import against the levels, naming both files', () => {
    expect(importProblems([file('model/a.ts', 'cli/b.ts'), file('cli/b.ts')])).toEqual(['model/a.ts imports cli/b.ts: model (level 1) may import only from lower levels, not cli (level 9)']);
  });

  it('refuses an import between two folders of one level', () => {
    expect(importProblems([file('run/a.ts', 'report/b.ts'), file('report/b.ts')])).toEqual(['run/a.ts imports report/b.ts: run and report are of one level (8) and never import each other']);
  });

  it('refuses a circle of files inside a folder, and a file or folder without a level', () => {
    expect(importProblems([file('stats/a.ts', 'stats/b.ts'), file('stats/b.ts', 'stats/c.ts'), file('stats/c.ts', 'stats/a.ts')])).toEqual([
      'a circle of imports: stats/a.ts → stats/b.ts → stats/c.ts → stats/a.ts',
    ]);
    expect(importProblems([file('misc/a.ts'), file('top.ts')])).toEqual(['misc/a.ts: folder misc has no level (test/helpers/layers.ts)', 'top.ts: a file of src/ belongs in a folder with a level']);
  });

  it('sees every form of a relative import: from, a bare import, import(), require(), new URL()', () => {
    const text = [
      "import { a } from '../cli/a.js';",
      "export { b } from './b.js';",
      "import '../cli/c.js';",
      "const d = await import('../cli/d.js');",
      "const e = require('../cli/e.js');",
      "new URL('./f.js', import.meta.url);",
      "import { g } from 'node:fs';",
    ].join('\n');
    expect(importSpecifiers(text)).toEqual(['../cli/a.js', './b.js', '../cli/c.js', '../cli/d.js', '../cli/e.js', './f.js']);
  });

  it('takes imports that go down, and imports inside one folder', () => {
    expect(importProblems([file('cli/a.ts', 'run/b.ts', 'core/c.ts', 'cli/d.ts'), file('run/b.ts', 'model/e.ts'), file('core/c.ts'), file('cli/d.ts'), file('model/e.ts', 'core/c.ts')])).toEqual([]);
  });
});
