import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChartConfiguration } from 'chart.js';
import { usageError } from '../errors.js';
import type { BadLines } from '../record/records-csv.js';
import { writeFileAtomic } from '../result/run-directory.js';
import type { RunResult } from '../result/run-result.js';
import { latencyCurve } from '../stats/latency-curve.js';
import { availabilityChart, chartRenderer, efficiencyChart, latencyChart, perTokenChart, saveChart, throughputChart, timeSeriesChart } from './charts.js';
import { renderHtmlReport, type HtmlChart } from './html.js';
import { renderMarkdownReport } from './markdown.js';
import { referenceThroughput, type Reference } from './reference.js';
import { renderSummaryCsv } from './summary-csv.js';

export const FORMATS = ['md', 'csv', 'png', 'html', 'json'] as const;
export type Format = (typeof FORMATS)[number];
/** What a run writes unless --format says otherwise (run.json is always written, by the engine). */
export const DEFAULT_FORMATS: readonly Format[] = ['md', 'csv', 'png', 'html'];

export interface WrittenReports {
  files: string[];
  warnings: string[];
}

/**
 * Writes a run's artifacts from its run.json and records alone: report.md, summary.csv, charts/*.png and
 * (for `report`) run.json itself. A chart failure never costs the other artifacts; it becomes a warning.
 */
export async function writeReports(dir: string, r: RunResult, formats: readonly Format[], given?: Reference, verdict?: string): Promise<WrittenReports> {
  // The reference given now, else the one the run was made with (run.json keeps it).
  const reference = given ?? r.reference;
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
  const refName = reference ? `${reference.tokenModel}, ${reference.source}` : '';
  // The charts as configurations first (they need the records, not canvas): PNG and SVG are drawn from them, and
  // report.html draws them live.
  const configs = formats.includes('png') || formats.includes('html') ? await chartConfigs(dir, r, reference, warnings) : [];
  const drawn: { file: string; title: string }[] = [];
  let chartsUnavailable: string | undefined;
  if (formats.includes('png') && configs.length > 0) {
    try {
      const renderer = await chartRenderer();
      mkdirSync(join(dir, 'charts'), { recursive: true });
      for (const c of configs) {
        const [png] = await saveChart(renderer, c.config, c.file.replace(/\.png$/, ''), write);
        drawn.push({ file: png!, title: c.title });
      }
    } catch (error) {
      chartsUnavailable = (error as Error).message;
      warnings.push(chartsUnavailable);
    }
  }
  const markdown = (charts: { file: string; title: string }[], unavailable?: string) =>
    renderMarkdownReport(r, { charts, chartsUnavailable: unavailable, verdict, reference: reference ? { name: refName, throughput: refThroughput } : undefined });
  if (formats.includes('md')) write('report.md', markdown(drawn, chartsUnavailable));
  if (formats.includes('html')) write('report.html', renderHtmlReport(r, markdown(configs), configs));
  return { files, warnings };
}

/** The run's charts: which ones depend on the command (a burn-in is one configuration over hours, not a scaling curve of one dot). */
async function chartConfigs(dir: string, r: RunResult, reference: Reference | undefined, warnings: string[]): Promise<HtmlChart[]> {
  if (r.configurations.length === 0) return [];
  const curves = await Promise.all(
    r.configurations.map(async (c) => {
      const bad: BadLines = { count: 0 };
      const curve = await latencyCurve(dir, c.recordsFile, bad);
      // Torn or foreign lines are never taken as signatures; the reader is told how many there were.
      if (bad.count > 0) warnings.push(`${join(dir, c.recordsFile)}: ${bad.count} line(s) are not records and were skipped (first: line ${bad.first!.lineNumber})`);
      return curve;
    }),
  );
  const charts: HtmlChart[] = [];
  const add = (name: string, title: string, config: ChartConfiguration) => charts.push({ file: `charts/${name}.png`, title, config });
  if (r.command === 'scale')
    add('throughput', 'Throughput vs number of tokens', throughputChart(r, referenceThroughput(reference, r.algorithm.id), reference ? `${reference.tokenModel} (reference)` : ''));
  if (r.command === 'scale' && r.configurations.length > 1 && r.configurations.some((c) => c.efficiency !== null)) add('efficiency', 'Scaling efficiency vs number of tokens', efficiencyChart(r));
  add('per-token', r.command === 'burn-in' ? 'Per-token throughput' : 'Per-token throughput at the largest configuration', perTokenChart(r));
  add('latency', 'Latency by percentile', latencyChart(r, curves));
  add('throughput-over-time', r.command === 'burn-in' ? 'Throughput and failures over the burn-in' : 'Throughput over time', timeSeriesChart(r));
  if (r.command === 'burn-in') add('availability', 'Per-token availability', availabilityChart(r));
  return charts;
}

/** --format: a comma-separated list of FORMATS; `json` only where run.json is not the engine's own (report). */
export function parseFormats(value: string, allowed: readonly Format[] = FORMATS): Format[] {
  const parts = value.split(',').map((f) => f.trim());
  const bad = parts.filter((f) => !(allowed as readonly string[]).includes(f));
  if (bad.length > 0) throw usageError(`unknown report format ${bad.join(', ')}`, `use a comma-separated list of ${allowed.join(', ')}`);
  return parts as Format[];
}
