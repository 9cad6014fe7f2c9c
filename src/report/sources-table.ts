import { latencyText } from '../core/latency-text.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import { hostBusyPct } from './cpu-text.js';
import { fixed } from './describe-run.js';
import { percentileCell } from './latency-cells.js';
import { configurationName } from './describe-run.js';
import { startAtText } from './start-at-text.js';
import { rateNotEstablished } from '../verdict/common-window-rate.js';

/** A source run by its host's name, numbered where several runs came from one host (two processes standing in for two). */
export function sourceName(sources: NonNullable<RunResult['sources']>, index: number): string {
  const name = sources[index]!.hostname;
  return sources.filter((s) => s.hostname === name).length > 1 ? `${name} #${index + 1}` : name;
}

/** The hosts of a merged run in a line: "2 hosts: a, b". */
export const hostsLine = (sources: NonNullable<RunResult['sources']>) => `${sources.length} hosts: ${sources.map((_, i) => sourceName(sources, i)).join(', ')}`;

/** A rate over the common window, or why there is none (the hosts overlapped too briefly to count one). */
const commonRate = (c: ConfigurationResult, perS: number, digits: number) => (rateNotEstablished(c) ? 'not established' : perS.toFixed(digits));

/** The common window's figures: calls in it, their rate over it, service p50 and p99. */
const commonFigures = (merged: ConfigurationResult, c: { operationsOk: number; throughputPerS: number; latencyMs: ConfigurationResult['latencyMs'] }): (string | number)[] => [
  c.operationsOk,
  commonRate(merged, c.throughputPerS, 1),
  percentileCell(c.latencyMs, 'p50', c.operationsOk),
  percentileCell(c.latencyMs, 'p99', c.operationsOk),
];

/**
 * A merged run's hosts: each source run's figures over its own window and over the common window, beside the total,
 * configuration by configuration. Null: not merged.
 */
export function sourcesSection(r: RunResult, w: { nouns: string; Nouns: string }): { lines: string[]; head: string[]; rows: (string | number)[][]; numeric: boolean[] } | null {
  const sources = r.sources;
  if (!sources || sources.length === 0) return null;
  const head = [
    'Configuration',
    'Host',
    'Run',
    'Window opened',
    'Own window (s)',
    `${w.Nouns} in own window`,
    'Failures in own window',
    `${w.Nouns}/s over own window`,
    `${w.Nouns} in common window`,
    `${w.Nouns}/s over common window`,
    'Service p50 (common window)',
    'Service p99 (common window)',
    'Host CPU busy (%)',
  ];
  const rows = r.configurations.flatMap((c) => [
    ...(c.bySource ?? []).map((s) => [
      configurationName(c),
      sourceName(sources, s.source),
      sources[s.source]!.runId,
      s.windowStartedAt,
      s.durationS.toFixed(3),
      s.operationsOk,
      s.operationsFailed,
      s.throughputPerS.toFixed(1),
      ...(s.inCommonWindow ? commonFigures(c, s.inCommonWindow) : ['', '', '', '']),
      s.cpu ? fixed(hostBusyPct(s.cpu), 0) : '',
    ]),
    [
      configurationName(c),
      '**all**',
      '',
      c.windowStartedAt ?? '',
      `${c.durationS.toFixed(3)} (common)`,
      c.operationsOk,
      c.operationsFailed,
      '',
      ...commonFigures(c, { operationsOk: c.commonWindow?.operationsOk ?? c.operationsOk, throughputPerS: c.throughputPerS, latencyMs: c.latencyMs }),
      '',
    ],
  ]);
  const estimated = r.configurations.some((c) => c.commonWindow?.countedFrom === 'per-second counts');
  const worst = Math.max(...sources.map((s) => s.startAt?.clock.maxErrorUs ?? -1));
  const lines = [
    `Merged from ${sources.length} runs (${hostsLine(sources)}): calls and failures of every host's whole window added up. The common window opens when the last host's window opened and closes when the first one's closed; the merged throughput, latency percentiles and per-second series count the ${w.nouns} that ended in it${estimated ? " (where the records were not all kept, estimated from each host's per-second counts, and the percentiles cover the whole windows)" : ', each from its record'}. Each host's figures are shown over its own window and over the common window. ${
      sources.every((s) => s.firstToken === 0)
        ? `Every host drove the same ${sources[0]!.tokenCount === 1 ? 'token' : 'tokens'} (--same-tokens): a configuration's tokens are one host's, its sessions per token every host's, and each token's row per host is that host's view of it.`
        : `Each host's tokens are counted apart (tokens: the hosts' added up); where the hosts drove the same tokens, merge with --same-tokens.`
    }`,
    '',
    ...sources.map((s, i) => `- ${sourceName(sources, i)} (${s.runId}): ${s.startAt ? `--start-at ${startAtText(s.startAt)}` : 'started without --start-at'}`),
    ...(worst >= 0 ? ['', `The worst host's clock error bound (kernel maxerror): ${latencyText(worst / 1000)}.`] : []),
    ...((r.mergeWarnings ?? []).length > 0 ? ['', 'Merge warned:', '', ...r.mergeWarnings!.map((w) => `- **warning:** ${w}`)] : []),
  ];
  return { lines, head, rows, numeric: head.map((_, i) => i >= 4) };
}

/** The same in the terminal, within 100 columns: each host's rate over its own window and over the common window, beside the total. */
export function terminalSourcesTable(r: RunResult): { head: string[]; rows: (string | number)[][] } | null {
  const sources = r.sources;
  if (!sources || sources.length === 0) return null;
  const opened = (iso: string | undefined) => iso?.slice(11, 23) ?? '';
  const head = ['Configuration', 'Host', 'Opened (UTC)', 'Own s', 'Own /s', 'Common /s', 'p99 common'];
  const rows = r.configurations.flatMap((c) => [
    ...(c.bySource ?? []).map((s) => [
      configurationName(c),
      sourceName(sources, s.source),
      opened(s.windowStartedAt),
      s.durationS.toFixed(3),
      s.throughputPerS.toFixed(0),
      s.inCommonWindow ? commonRate(c, s.inCommonWindow.throughputPerS, 0) : '',
      s.inCommonWindow ? percentileCell(s.inCommonWindow.latencyMs, 'p99', s.inCommonWindow.operationsOk) : '',
    ]),
    [
      configurationName(c),
      'all',
      opened(c.windowStartedAt),
      `${c.durationS.toFixed(3)}`,
      '',
      commonRate(c, c.throughputPerS, 0),
      percentileCell(c.latencyMs, 'p99', c.commonWindow?.operationsOk ?? c.operationsOk),
    ],
  ]);
  return { head, rows };
}
