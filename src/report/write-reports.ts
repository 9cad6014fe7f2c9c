import { writeOutputFile } from '../core/output-file.js';
import { join } from 'node:path';
import type { ChartConfiguration } from 'chart.js';
import { usageError } from '../core/errors.js';
import type { BadParts } from '../result/records-file.js';
import { writeFileAtomic } from '../result/run-directory.js';
import type { RunResult } from '../model/run-result.js';
import { digestConfiguration } from './records-digest.js';
import { availabilityChart, chartRenderer, configurationPanels, efficiencyChart, latencyChart, perTokenChart, saveChart, throughputChart, timeSeriesChart } from './charts.js';
import { renderHtmlReport, type HtmlChart } from './html.js';
import { rateCurveChart, sessionsChart } from './sizing-charts.js';
import { dataSizeChart } from './data-size-chart.js';
import { renderMarkdownReport } from './markdown.js';
import { referenceThroughput } from '../result/reference.js';
import { type Reference } from '../model/run-result.js';
import { renderSummaryCsv } from './summary-csv.js';
import { makeDirectory } from '../core/make-dir.js';
import { shownEfficiency } from '../result/configuration-shortfall.js';
import { quote, shown } from '../core/quote.js';

export const FORMATS = ['md', 'csv', 'png', 'html', 'json'] as const;
export type Format = (typeof FORMATS)[number];
/** What a run writes unless --format says otherwise (run.json is always written, by the engine). */
export const DEFAULT_FORMATS: readonly Format[] = ['md', 'csv', 'png', 'html'];

export interface WrittenReports {
  files: string[];
  warnings: string[];
}

/** What an exporter works from: the run, where it goes, and what earlier exporters made (the drawn charts). */
interface Export {
  dir: string;
  r: RunResult;
  reference: Reference | undefined;
  write(name: string, content: string | Buffer): void;
  warnings: string[];
  /** The charts as configurations (from run.json and the records; no canvas needed), computed once. */
  charts(): Promise<HtmlChart[]>;
  drawn: { file: string; title: string }[];
  chartsUnavailable?: string;
}

/** The Markdown report, with the charts given: those drawn (report.md), or all of them (report.html draws them itself). */
function markdownOf(x: Export, charts: { file: string; title: string }[], unavailable?: string): string {
  const reference = x.reference ? { name: `${x.reference.tokenModel}, ${x.reference.source}`, throughput: referenceThroughput(x.reference, x.r.algorithm.id) } : undefined;
  return renderMarkdownReport(x.r, { charts, chartsUnavailable: unavailable, reference });
}

/**
 * The renderers, one per format, in the order they run: the charts before the reports that show them. A chart
 * failure never costs the other artifacts; it becomes a warning.
 */
const EXPORTERS: [Format, (x: Export) => Promise<void> | void][] = [
  ['json', (x) => x.write('run.json', JSON.stringify(x.r, null, 2) + '\n')],
  ['csv', (x) => x.write('summary.csv', renderSummaryCsv(x.r))],
  [
    'png',
    async (x) => {
      const charts = await x.charts();
      if (charts.length === 0) return;
      try {
        const renderer = await chartRenderer();
        makeDirectory(join(x.dir, 'charts'));
        for (const c of charts) {
          const [png] = await saveChart(renderer, c.config, c.file.replace(/\.png$/, ''), x.write);
          x.drawn.push({ file: png!, title: c.title });
        }
      } catch (error) {
        x.chartsUnavailable = (error as Error).message;
        x.warnings.push(x.chartsUnavailable);
      }
    },
  ],
  ['md', (x) => x.write('report.md', markdownOf(x, x.drawn, x.chartsUnavailable))],
  ['html', async (x) => x.write('report.html', renderHtmlReport(x.r, markdownOf(x, await x.charts()), await x.charts()))],
];

/** Writes a run's artifacts in `formats` from its run.json, interval histograms (or records) alone. */
export async function writeReports(dir: string, r: RunResult, formats: readonly Format[], given?: Reference): Promise<WrittenReports> {
  const files: string[] = [];
  const warnings: string[] = [];
  let charts: Promise<HtmlChart[]> | undefined;
  const x: Export = {
    dir,
    r,
    // The reference given now, else the one the run was made with (run.json keeps it).
    reference: given ?? r.reference,
    warnings,
    drawn: [],
    write: (name, content) => {
      if (typeof content === 'string') writeFileAtomic(join(dir, name), content);
      else writeOutputFile(join(dir, name), content);
      files.push(name);
    },
    charts: () => (charts ??= chartConfigs(dir, r, given ?? r.reference, warnings)),
  };
  for (const [format, exporter] of EXPORTERS) if (formats.includes(format)) await exporter(x);
  return { files, warnings };
}

/** The run's charts: which ones depend on the command (a burn-in is one configuration over hours, not a scaling curve of one dot). */
async function chartConfigs(dir: string, r: RunResult, reference: Reference | undefined, warnings: string[]): Promise<HtmlChart[]> {
  if (r.configurations.length === 0) return [];
  const digests = await Promise.all(
    r.configurations.map(async (c) => {
      const bad: BadParts = { count: 0 };
      const digest = await digestConfiguration(dir, c, bad);
      // Torn or foreign lines are never taken as signatures; the reader is told how many there were.
      if (bad.count > 0) warnings.push(`${shown(join(dir, c.recordsFile))}: ${bad.count} ${bad.first!.unit}(s) are not records and were skipped (first: ${bad.first!.unit} ${bad.first!.number})`);
      return digest;
    }),
  );
  const charts: HtmlChart[] = [];
  const add = (name: string, title: string, config: ChartConfiguration) => charts.push({ file: `charts/${name}.png`, title, config });
  // At target rates the throughput is the rate asked for: the answer is the response time at each rate served.
  if (r.plan.targetRate) add('response-vs-rate', 'Response time vs offered rate', rateCurveChart(r));
  else if (r.command === 'scale')
    add('throughput', 'Throughput vs number of tokens', throughputChart(r, referenceThroughput(reference, r.algorithm.id), reference ? `${reference.tokenModel} (reference)` : ''));
  if ((r.saturation ?? []).length > 0) add('sessions', 'Throughput vs sessions per token', sessionsChart(r));
  if ((r.plan.dataSizesBytes?.length ?? 0) > 1) add('data-size', 'Throughput (MB/s) and latency vs data size', dataSizeChart(r));
  if (r.command === 'scale' && r.configurations.length > 1 && r.configurations.some((c) => shownEfficiency(r, c) !== null))
    add('efficiency', 'Scaling efficiency vs number of tokens', efficiencyChart(r));
  add('per-token', r.command === 'burn-in' ? 'Per-token throughput' : 'Per-token throughput at the largest configuration', perTokenChart(r));
  // More configurations than colours: a chart per token count (small multiples), each with its own file.
  const panels = configurationPanels(r);
  const panelName = (base: string, p: (typeof panels)[number]) => (p.slug ? `${base}-${p.slug}` : base);
  const panelTitle = (base: string, p: (typeof panels)[number]) => (p.title ? `${base}, ${p.title}` : base);
  for (const p of panels)
    add(
      panelName('latency', p),
      panelTitle('Service time by percentile (successful calls)', p),
      latencyChart(
        r,
        digests.map((d) => d.curve),
        p.indexes,
      ),
    );
  for (const p of panels)
    add(
      panelName('throughput-over-time', p),
      panelTitle(r.command === 'burn-in' ? 'Throughput and failures over the burn-in' : 'Throughput over time', p),
      timeSeriesChart(
        r,
        digests.map((d) => d.okPerSecondByToken),
        p.indexes,
      ),
    );
  if (r.command === 'burn-in') add('availability', 'Per-token availability', availabilityChart(r));
  return charts;
}

/** --format: a comma-separated list of FORMATS; `json` only where run.json is not the engine's own (report). */
export function parseFormats(value: string, allowed: readonly Format[] = FORMATS): Format[] {
  const parts = value.split(',').map((f) => f.trim());
  const bad = parts.filter((f) => !(allowed as readonly string[]).includes(f));
  if (bad.length > 0) throw usageError(`unknown report format ${bad.map(quote).join(', ')}`, `use a comma-separated list of ${allowed.join(', ')}`);
  return parts as Format[];
}
