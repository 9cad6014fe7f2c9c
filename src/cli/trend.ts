import { workloadOf } from '../model/workload.js';
import { writeOutputFile } from '../core/output-file.js';
import { join } from 'node:path';
import { Command } from 'commander';
import { usageError } from '../core/errors.js';
import { chartRenderer, saveChart } from '../report/charts.js';
import { renderTrendCsv, renderTrendTable, trendChart, trendPoints } from '../report/trend.js';
import { stamp } from '../result/run-directory.js';
import { readRunDirectory } from '../result/partial-run.js';
import { Progress } from './terminal.js';
import { makeDirectory } from '../core/make-dir.js';
import { shown } from '../core/quote.js';

export function trendCommand(): Command {
  return new Command('trend')
    .description('the history of many runs of one algorithm, by date: throughput and p99 per configuration (table, trend.csv, trend.png)')
    .argument('<run-dirs...>', 'run directories (or run.json files), in any order, e.g. reports/*-rsa2048')
    .option('--out <dir>', 'where trend.csv and trend.png go (default: reports/trends/trend-<date-time>)')
    .option('--json', 'print the points as JSON')
    .action(async (dirs: string[], o: { out?: string; json?: boolean }) => {
      // Read as `report` reads them: a killed run's calls on disk count here too.
      const read = await Promise.all(dirs.map(readRunDirectory));
      for (const run of new Map(read.map((x) => [x.result.runId, x])).values()) for (const n of run.notes) process.stderr.write(`note: ${run.result.runId}: ${n}\n`);
      const runs = read.map((run) => run.result);
      // One line of history: one workload (operation, algorithm, mix) and mechanism, one kind of run (a burn-in's
      // night is not a scaling point).
      for (const [what, of] of [
        ['workloads', workloadOf],
        ['mechanisms', (r: (typeof runs)[number]) => r.mechanism.name],
        ['commands', (r: (typeof runs)[number]) => r.command],
        // How each call is made: a session per call or in parts is another quantity, never a point of the same line.
        [
          'calls',
          (r: (typeof runs)[number]) =>
            [
              r.plan.perCall?.session ? 'a session per call' : '',
              r.plan.perCall?.findKey ? 'a key lookup per call' : '',
              r.plan.multipartChunkBytes ? `in parts of ${r.plan.multipartChunkBytes} bytes` : '',
            ]
              .filter(Boolean)
              .join(' and ') || 'pooled, in one call',
        ],
      ] as const) {
        const kinds = [...new Set(runs.map(of))];
        if (kinds.length > 1) throw usageError(`the runs differ in their ${what} (${kinds.join(', ')}); a trend follows one`, 'give the runs of one plan, e.g. reports/*-rsa2048');
      }
      const algorithms = [runs[0]!.algorithm.id];
      const points = trendPoints(runs);
      // Never under a folder a run glob picks up (reports/*-rsa2048): trends have a folder of their own.
      const out = o.out ?? join('reports', 'trends', `trend-${stamp(new Date())}`);
      makeDirectory(out);
      writeOutputFile(join(out, 'trend.csv'), renderTrendCsv(points));
      const written = ['trend.csv'];
      try {
        const title = `${runs[0]!.algorithm.displayName}: ${runs.length} runs, ${points[0]!.startedAt.slice(0, 10)} to ${points[points.length - 1]!.startedAt.slice(0, 10)}`;
        written.push(...(await saveChart(await chartRenderer(), trendChart(points, title), 'trend', (f, content) => writeOutputFile(join(out, f), content))));
      } catch (error) {
        new Progress().log(`warning: ${(error as Error).message}`);
      }
      if (o.json) {
        process.stdout.write(JSON.stringify({ schemaVersion: 4, algorithm: algorithms[0], points }, null, 2) + '\n');
      } else {
        process.stdout.write(renderTrendTable(points));
      }
      const partial = points.filter((p, i) => p.interrupted && points.findIndex((q) => q.runId === p.runId) === i);
      if (partial.length > 0)
        process.stderr.write(
          `note: ${partial.map((p) => p.runId).join(', ')} ${partial.length > 1 ? 'are partial runs' : 'is a partial run'} (interrupted or killed): configurations cut short are marked (partial), those never measured (not measured)\n`,
        );
      process.stderr.write(`${shown(out)}: ${written.join(', ')}\n`);
    });
}
