import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { Command } from 'commander';
import { usageError } from '../core/errors.js';
import { shown } from '../core/quote.js';
import { CSV_HEADER, csvLine } from '../result/records-csv.js';
import { readRecords, type BadParts } from '../result/records-file.js';
import { readRunJson } from '../result/run-directory.js';
import { Progress } from './terminal.js';

/** Bytes of CSV gathered before a write to stdout. */
const CHUNK_CHARS = 1 << 16;

/**
 * The records files of a run directory: those run.json names, in its order (repetitions after their
 * configuration), then any other in records/ (a configuration a kill left out of run.json).
 */
function recordsFilesOf(dir: string): string[] {
  const named = readRunJson(dir).configurations.flatMap((c) => [c.recordsFile, ...(c.repetitions ?? []).map((r) => r.recordsFile)]);
  const folder = join(dir, 'records');
  const others = existsSync(folder) ? readdirSync(folder).map((f) => join('records', f)) : [];
  return [...new Set([...named, ...others.sort()])].map((f) => join(dir, f)).filter(existsSync);
}

async function print(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

export function recordsCommand(): Command {
  return new Command('records')
    .description("read a run's per-call records: how many and their bytes on disk, or (--csv) every call as CSV")
    .argument('<run-dir-or-file>', 'a run directory (all its records files), or one records file')
    .option('--csv', 'print the records as CSV with a header line (the columns docs/reference/outputs.md describes)')
    .action(async (target: string, options: { csv?: boolean }) => {
      if (!existsSync(target)) throw usageError(`${shown(target)} does not exist`, 'give a run directory made by hsm-bench, or a records file in its records/ folder');
      const files = statSync(target).isDirectory() ? recordsFilesOf(target) : [target];
      const ui = new Progress();
      if (options.csv) await print(`${CSV_HEADER}\n`);
      for (const file of files) {
        const bad: BadParts = { count: 0 };
        let records = 0;
        let chunk = '';
        for await (const r of readRecords(file, bad)) {
          records++;
          if (!options.csv) continue;
          chunk += `${csvLine(r)}\n`;
          if (chunk.length >= CHUNK_CHARS) (await print(chunk), (chunk = ''));
        }
        await print(chunk);
        if (bad.count > 0) ui.log(`warning: ${shown(file)}: ${bad.count} ${bad.first!.unit}(s) are not records and were skipped (first: ${bad.first!.unit} ${bad.first!.number})`);
        const bytes = statSync(file).size;
        if (!options.csv) await print(`${shown(file)}: ${records} records, ${bytes} bytes${records > 0 ? `, ${(bytes / records).toFixed(2)} bytes per call` : ''}\n`);
      }
    });
}
