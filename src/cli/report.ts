import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { usageError } from '../errors.js';
import { chartRenderer, saveChart } from '../render/charts.js';
import { comparisonChart, renderComparisonMarkdown } from '../render/comparison.js';
import { readReference } from '../render/reference.js';
import { parseFormats, writeReports } from '../render/write-reports.js';
import { withRecordsOnDisk } from '../result/partial-run.js';
import { readRunJson } from '../result/run-directory.js';
import { sharesTokens } from '../verdict/compare.js';
import { Progress } from './terminal.js';

export function reportCommand(): Command {
  return new Command('report')
    .description('regenerate report.md, summary.csv and charts of runs from their run.json and records (no token needed)')
    .argument('<run-dirs...>', 'run directories; two runs of different algorithms on the same tokens are also compared')
    .option('--format <list>', 'what to write: md, csv, png, json', 'md,csv,png')
    .option('--reference <file>', 'published results to overlay, e.g. fixtures/smartcard-hsm-ea-2015.json')
    .option('--out <dir>', 'where the comparison of two runs goes (default: beside the first run)')
    .action(async (dirs: string[], options: { format: string; reference?: string; out?: string }) => {
      const formats = parseFormats(options.format);
      const reference = options.reference ? readReference(options.reference) : undefined;
      const ui = new Progress();
      const runs = await Promise.all(
        dirs.map(async (d) => {
          const dir = d.endsWith('.json') ? dirname(d) : d;
          return { dir, result: await withRecordsOnDisk(dir, readRunJson(d)) };
        }),
      );
      for (const run of runs) {
        if (run.result.interrupted) ui.log(`note: ${run.dir} is a partial run (interrupted or killed); its report counts the records on disk`);
        const written = await writeReports(run.dir, run.result, formats, reference);
        written.warnings.forEach((w) => ui.log(`warning: ${w}`));
        process.stdout.write(`${run.dir}: ${written.files.join(', ')}\n`);
      }
      if (runs.length === 2) {
        const [a, b] = runs as [(typeof runs)[0], (typeof runs)[0]];
        if (!sharesTokens(a.result, b.result)) {
          throw usageError('the two runs were made on different tokens, so their throughput is not comparable', 'compare runs made on the same tokens (same serials)');
        }
        // In a folder of its own beside the runs: a name ending like a run's (…-bp256) would match the same glob
        // that picked the runs (reports/*-bp256), and the next `report` would take it for a run.
        const out = options.out ?? join(dirname(a.dir), 'comparisons', `${a.result.runId}-vs-${b.result.runId}`);
        mkdirSync(out, { recursive: true });
        let chart: string | undefined;
        try {
          [chart] = await saveChart(await chartRenderer(), comparisonChart(a.result, b.result), 'comparison', (f, content) => writeFileSync(join(out, f), content));
        } catch (error) {
          ui.log(`warning: ${(error as Error).message}`);
        }
        writeFileSync(join(out, 'comparison.md'), renderComparisonMarkdown(a.result, b.result, chart));
        process.stdout.write(`${out}: comparison.md${chart ? ', comparison.png' : ''}\n`);
      } else if (runs.length > 2) {
        ui.log('note: comparisons are made between exactly two runs');
      }
    });
}
