import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('formatting', () => {
  it('src, test and bench are as the formatter writes them: run `npm run format` after an edit', () => {
    const check = spawnSync(process.execPath, ['node_modules/prettier/bin/prettier.cjs', '--list-different', 'src', 'test', 'bench'], { cwd: root, encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.stdout.trim().split('\n').filter(Boolean)).toEqual([]);
    expect(check.status).toBe(0);
  }, 60_000);
});
