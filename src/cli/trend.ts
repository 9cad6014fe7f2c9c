import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Table from 'cli-table3';
import { Command } from 'commander';
import { usageError } from '../errors.js';
import { chartRenderer, saveChart } from '../render/charts.js';
import { fixed } from '../render/describe-run.js';
import { renderTrendCsv, trendChart, trendPoints } from '../render/trend.js';
import { readRunJson, stamp } from '../result/run-directory.js';
import { Progress } from './terminal.js';

export function trendCommand(): Command {
  return new Command('trend')
    .description('the history of many runs of one algorithm, by date: throughput and p99 per configuration (table, trend.csv, trend.png)')
    .argument('<run-dirs...>', 'run directories (or run.json files), in any order, e.g. reports/*-rsa2048')
    .option('--out <dir>', 'where trend.csv and trend.png go (default: reports/trends/trend-<date-time>)')
    .option('--json', 'print the points as JSON')
    .action(async (dirs: string[], o: { out?: string; json?: boolean }) => {
      const runs = dirs.map((d) => readRunJson(d));
      const algorithms = [...new Set(runs.map((r) => r.algorithm.id))];
      if (algorithms.length > 1) throw usageError(`the runs measured ${algorithms.join(', ')}; a trend follows one`, 'give the runs of one algorithm, e.g. reports/*-rsa2048');
      const points = trendPoints(runs);
      // Never under a folder a run glob picks up (reports/*-rsa2048): trends have a folder of their own.
      const out = o.out ?? join('reports', 'trends', `trend-${stamp(new Date())}`);
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'trend.csv'), renderTrendCsv(points));
      const written = ['trend.csv'];
      try {
        const title = `${runs[0]!.algorithm.displayName}: ${runs.length} runs, ${points[0]!.startedAt.slice(0, 10)} to ${points[points.length - 1]!.startedAt.slice(0, 10)}`;
        written.push(...(await saveChart(await chartRenderer(), trendChart(points, title), 'trend', (f, content) => writeFileSync(join(out, f), content))));
      } catch (error) {
        new Progress().log(`warning: ${(error as Error).message}`);
      }
      if (o.json) {
        process.stdout.write(JSON.stringify({ schemaVersion: 1, algorithm: algorithms[0], points }, null, 2) + '\n');
      } else {
        const table = new Table({ head: ['Date', 'Run', 'Tokens', 'Sig/s (range)', 'p99 (ms)', 'Failed', 'Module', 'Firmware'], style: { head: [], border: [] } });
        for (const p of points) {
          const range = p.throughputMin !== p.throughputMax ? ` (${fixed(p.throughputMin, 1)}–${fixed(p.throughputMax, 1)})` : '';
          table.push([p.startedAt.slice(0, 16).replace('T', ' '), p.runId, p.tokens, `${fixed(p.throughputPerS, 1)}${range}`, fixed(p.p99Ms, 2), p.signaturesFailed, p.module, p.firmware]);
        }
        process.stdout.write(table.toString() + '\n');
      }
      process.stderr.write(`${out}: ${written.join(', ')}\n`);
    });
}
