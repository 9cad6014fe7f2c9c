import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import type { BadLines } from '../record/records-csv.js';
import { writeFileAtomic } from '../result/run-directory.js';
import type { RunResult } from '../result/run-result.js';
import { latencyCurve } from '../stats/latency-curve.js';
import { chartRenderer, latencyChart, perTokenChart, throughputChart, timeSeriesChart } from './charts.js';
import { renderMarkdownReport } from './markdown.js';
import { referenceThroughput, type Reference } from './reference.js';
import { renderSummaryCsv } from './summary-csv.js';

export const FORMATS = ['md', 'csv', 'png', 'json'] as const;
export type Format = (typeof FORMATS)[number];

export interface WrittenReports {
  files: string[];
  warnings: string[];
}

/**
 * Writes a run's artifacts from its run.json and records alone: report.md, summary.csv, charts/*.png and
 * (for `report`) run.json itself. A chart failure never costs the other artifacts; it becomes a warning.
 */
export async function writeReports(dir: string, r: RunResult, formats: readonly Format[], reference?: Reference): Promise<WrittenReports> {
  const files: string[] = [];
  const warnings: string[] = [];
  const write = (name: string, content: string | Buffer) => {
    if (typeof content === 'string') writeFileAtomic(join(dir, name), content);
    else writeFileSync(join(dir, name), content);
    files.push(name);
  };
  if (formats.includes('json')) write('run.json', JSON.stringify(r, null, 2) + '\n');
  if (formats.includes('csv')) write('summary.csv', renderSummaryCsv(r));

  const refThroughput = referenceThroughput(reference, r.algorithm.id);
  const refName = reference ? `${reference.source} (${reference.tokenModel})` : '';
  const charts: { file: string; title: string }[] = [];
  let chartsUnavailable: string | undefined;
  if (formats.includes('png') && r.configurations.length > 0) {
    try {
      const renderer = await chartRenderer();
      const curves = await Promise.all(
        r.configurations.map(async (c) => {
          const bad: BadLines = { count: 0 };
          const curve = await latencyCurve(dir, c.recordsFile, bad);
          // Torn or foreign lines are never taken as signatures; the reader is told how many there were.
          if (bad.count > 0) warnings.push(`${join(dir, c.recordsFile)}: ${bad.count} line(s) are not records and were skipped (first: line ${bad.first!.lineNumber})`);
          return curve;
        }),
      );
      mkdirSync(join(dir, 'charts'), { recursive: true });
      const drawn: [string, string, Parameters<typeof renderer.renderToBuffer>[0]][] = [
        ['charts/throughput.png', 'Throughput vs number of tokens', throughputChart(r, refThroughput, refName)],
        ['charts/per-token.png', 'Per-token throughput at the largest configuration', perTokenChart(r)],
        ['charts/latency.png', 'Latency distribution per configuration', latencyChart(r, curves)],
        ['charts/throughput-over-time.png', 'Throughput over time', timeSeriesChart(r)],
      ];
      for (const [file, title, config] of drawn) {
        write(file, await renderer.renderToBuffer(config));
        charts.push({ file, title });
      }
    } catch (error) {
      chartsUnavailable = (error as Error).message;
      warnings.push(chartsUnavailable);
    }
  }
  if (formats.includes('md')) {
    write('report.md', renderMarkdownReport(r, { charts, chartsUnavailable, reference: reference ? { name: refName, throughput: refThroughput } : undefined }));
  }
  return { files, warnings };
}

export function parseFormats(value: string): Format[] {
  const parts = value.split(',').map((f) => f.trim());
  const bad = parts.filter((f) => !(FORMATS as readonly string[]).includes(f));
  if (bad.length > 0) throw usageError(`unknown report format ${bad.join(', ')}`, `use a comma-separated list of ${FORMATS.join(', ')}`);
  return parts as Format[];
}
