import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FLAG_REFERENCE_PATH, flagReference } from '../src/cli/flag-reference.js';
import { runCli } from './helpers/cli.js';

const committed = readFileSync(new URL(`../${FLAG_REFERENCE_PATH}`, import.meta.url), 'utf8');

describe('the flag reference (docs/reference/flags.md)', () => {
  it('is what the CLI definitions generate now: run `npm run docs:flags` after changing a flag', () => {
    expect(committed).toBe(flagReference());
  });

  it("lists every flag that each command's --help prints, under that command", () => {
    const sections = new Map(
      committed
        .split(/^## /m)
        .slice(1)
        .map((s) => [/^`hsm-bench ([a-z -]+?) \[/.exec(s)?.[1] ?? '', s]),
    );
    for (const command of ['scale', 'burn-in', 'list', 'keys create', 'keys delete', 'keys clone', 'keys kek create', 'keys kek import', 'report', 'compare', 'trend', 'run']) {
      const help = runCli([...command.split(' '), '--help']);
      expect(help.status, command).toBe(0);
      const flags = [...help.stdout.matchAll(/^ {2}((?:-\w, )?--[\w-]+)/gm)].map((m) => m[1]!);
      expect(flags.length, command).toBeGreaterThan(0);
      const section = sections.get(command) ?? '';
      expect(
        flags.filter((flag) => !section.includes(`\`${flag} `) && !section.includes(`\`${flag}\``)),
        command,
      ).toEqual([]);
    }
  });
});
