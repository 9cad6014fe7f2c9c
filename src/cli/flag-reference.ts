import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Command, Help } from 'commander';
import { hsmBenchProgram } from './program.js';

/** Where the generated reference lives, from the repository's root. */
export const FLAG_REFERENCE_PATH = 'docs/reference/flags.md';

const cell = (text: string) => text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();

/** One command's section: usage, what it does, its arguments, its options by help group, as `--help` shows them. */
function commandSection(command: Command, help: Help): string[] {
  const lines = [`## \`${help.commandUsage(command)}\``, '', help.commandDescription(command), ''];
  const args = help.visibleArguments(command);
  if (args.length > 0) lines.push('| argument | meaning |', '|---|---|', ...args.map((a) => `| \`${cell(help.argumentTerm(a))}\` | ${cell(help.argumentDescription(a))} |`), '');
  const groups = new Map<string, string[]>();
  for (const option of help.visibleOptions(command)) {
    const heading = (option.helpGroupHeading ?? 'Options:').replace(/:$/, '');
    groups.set(heading, [...(groups.get(heading) ?? []), `| \`${cell(help.optionTerm(option))}\` | ${cell(help.optionDescription(option))} |`]);
  }
  for (const [heading, rows] of groups) lines.push(`**${heading}**`, '', '| flag | meaning |', '|---|---|', ...rows, '');
  const subcommands = help.visibleCommands(command).filter((c) => c.name() !== 'help');
  return [...lines, ...subcommands.flatMap((c) => commandSection(c, help))];
}

/** docs/reference/flags.md: every command and flag, from the same definitions the CLI parses with. */
export function flagReference(): string {
  const program = hsmBenchProgram();
  const help = program.createHelp();
  const commands = help.visibleCommands(program).filter((c) => c.name() !== 'help');
  return [
    '# Every command and flag',
    '',
    "Generated from the CLI's own definitions by `npm run docs:flags`; the test suite fails when this file and",
    '`hsm-bench COMMAND --help` disagree. What the flags do together is in the guides; this is the list.',
    '',
    ...commands.flatMap((c) => commandSection(c, help)),
  ].join('\n');
}

// `node dist/src/cli/flag-reference.js` (npm run docs:flags) rewrites the file.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) writeFileSync(FLAG_REFERENCE_PATH, flagReference());
