import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { usageError } from '../core/errors.js';
import { writeComparison } from '../report/write-comparison.js';
import { renderComparisonText } from '../report/comparison.js';
import { readReference } from '../result/reference.js';
import { DEFAULT_FORMATS, FORMATS, parseFormats, writeReports } from '../report/write-reports.js';
import { readRunDirectory } from '../result/partial-run.js';
import { sharesTokens } from '../verdict/compare.js';
import { Progress } from './terminal.js';
import { makeDirectory } from '../core/make-dir.js';
import { shown } from '../core/quote.js';

export function reportCommand(): Command {
  return new Command('report')
    .description('regenerate report.md, summary.csv and charts of runs from their run.json and records (no token needed)')
    .argument('<run-dirs...>', 'run directories; two or more runs on the same tokens are also compared (comparison.md, comparison.png)')
    .option('--format <list>', `what to write: ${FORMATS.join(', ')} (png writes svg too)`, DEFAULT_FORMATS.join(','))
    .option('--reference <file>', 'published results to overlay, e.g. fixtures/smartcard-hsm-ea-2015.json')
    .option('--out <dir>', 'where the comparison of the runs goes (default: comparisons/<run ids> beside the first run)')
    .action(async (dirs: string[], options: { format: string; reference?: string; out?: string }) => {
      const formats = parseFormats(options.format);
      const reference = options.reference ? readReference(options.reference) : undefined;
      const ui = new Progress();
      const runs = await Promise.all(dirs.map(readRunDirectory));
      for (const run of runs) {
        if (run.result.interrupted) ui.log(`note: ${shown(run.dir)} is a partial run (interrupted or killed); its report counts the records on disk`);
        run.notes.forEach((n) => ui.log(`note: ${n}`));
        const written = await writeReports(run.dir, run.result, formats, reference);
        written.warnings.forEach((w) => ui.log(`warning: ${w}`));
        process.stdout.write(`${shown(run.dir)}: ${written.files.join(', ')}\n`);
      }
      if (runs.length >= 2) {
        const [first, ...others] = runs;
        const foreign = others.find((o) => !sharesTokens(first!.result, o.result));
        if (foreign) {
          throw usageError(`${shown(foreign.dir)} was made on other tokens than ${shown(first!.dir)}, so their throughput is not comparable`, 'compare runs made on the same tokens (same serials)');
        }
        const results = runs.map((x) => x.result);
        // In a folder of its own beside the runs: a name ending like a run's (…-bp256) would match the same glob
        // that picked the runs (reports/*-bp256), and the next `report` would take it for a run.
        const out = options.out ?? join(dirname(first!.dir), 'comparisons', results.map((r) => r.runId).join('-vs-'));
        makeDirectory(out);
        const comparedTo = reference ?? results.find((x) => x.reference)?.reference;
        const written = await writeComparison(out, results, comparedTo, [], ui);
        // The ratios themselves, not only where they were written.
        process.stdout.write(`\n${renderComparisonText(results, comparedTo, process.stdout.isTTY ? process.stdout.columns : undefined)}\n`);
        process.stdout.write(`${shown(out)}: ${written.join(', ')}\n`);
      }
    });
}
