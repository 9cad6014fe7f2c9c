import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import { percentileCell } from './latency-cells.js';
import { configurationName } from './describe-run.js';

/** A source run by its host's name, numbered where several runs came from one host (two processes standing in for two). */
function sourceName(sources: NonNullable<RunResult['sources']>, index: number): string {
  const name = sources[index]!.hostname;
  return sources.filter((s) => s.hostname === name).length > 1 ? `${name} #${index + 1}` : name;
}

/** A host's row or the total's, from its window on: when it opened, how long, calls, rate, service p50 and p99. */
type WindowFigures = Pick<ConfigurationResult, 'durationS' | 'operationsOk' | 'operationsFailed' | 'throughputPerS' | 'latencyMs'> & { windowStartedAt?: string };
const figures = (x: WindowFigures): (string | number)[] => [
  x.windowStartedAt ?? '',
  x.durationS.toFixed(3),
  x.operationsOk,
  x.operationsFailed,
  x.throughputPerS.toFixed(1),
  percentileCell(x.latencyMs, 'p50', x.operationsOk),
  percentileCell(x.latencyMs, 'p99', x.operationsOk),
];

/**
 * A merged run's hosts: each source run's own figures beside the merged total, configuration by configuration, and
 * when each host's window opened (the merged throughput counts the window they all measured in). Null: not merged.
 */
export function sourcesSection(r: RunResult, w: { nouns: string; Nouns: string }): { lines: string[]; head: string[]; rows: (string | number)[][]; numeric: boolean[] } | null {
  const sources = r.sources;
  if (!sources || sources.length === 0) return null;
  const head = ['Configuration', 'Host', 'Run', 'Window opened', 'Window (s)', `${w.Nouns} (successful)`, 'Failures', `${w.Nouns}/s`, 'Service p50', 'Service p99'];
  const rows = r.configurations.flatMap((c) => [
    ...(c.bySource ?? []).map((s) => {
      const source = sources[s.source]!;
      return [configurationName(c), sourceName(sources, s.source), source.runId, ...figures(s)];
    }),
    [configurationName(c), '**all**', '', ...figures(c)],
  ]);
  const clocks = sources.map(
    (s, i) =>
      `${sourceName(sources, i)} (${s.runId}): ${s.startAt ? `started at ${s.startAt.at} (given ${s.startAt.given}), clock synchronized: ${s.startAt.clock.synchronized} (${s.startAt.clock.source})` : 'started without --start-at'}`,
  );
  const lines = [
    `Merged from ${sources.length} runs, one per host: calls and failures added up, latency percentiles from their merged histograms; the total's window is the time every host measured in, and its throughput counts the ${w.nouns} that ended in it.`,
    '',
    ...clocks.map((l) => `- ${l}`),
  ];
  return { lines, head, rows, numeric: head.map((_, i) => i >= 4) };
}

/** The same in the terminal, within 100 columns: each host's window and rate beside the total's, configuration by configuration. */
export function terminalSourcesTable(r: RunResult): { head: string[]; rows: (string | number)[][] } | null {
  const sources = r.sources;
  if (!sources || sources.length === 0) return null;
  const opened = (iso: string | undefined) => iso?.slice(11, 23) ?? '';
  const head = ['Configuration', 'Host', 'Opened (UTC)', 'Window s', 'Calls ok', 'Per s', 'Svc p99'];
  const rows = r.configurations.flatMap((c) => [
    ...(c.bySource ?? []).map((s) => [
      configurationName(c),
      sourceName(sources, s.source),
      opened(s.windowStartedAt),
      s.durationS.toFixed(3),
      s.operationsOk,
      s.throughputPerS.toFixed(0),
      percentileCell(s.latencyMs, 'p99', s.operationsOk),
    ]),
    [configurationName(c), 'all', opened(c.windowStartedAt), c.durationS.toFixed(3), c.operationsOk, c.throughputPerS.toFixed(0), percentileCell(c.latencyMs, 'p99', c.operationsOk)],
  ]);
  return { head, rows };
}
