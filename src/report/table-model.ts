import { rangeText } from '../core/range-text.js';
import { wordsOf } from '../operations/words.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import { basisLowMark, configurationName, fixed, mbPerSText, perTokenRange, shortfallMark, throughputText } from './describe-run.js';
import { efficiencyRange, shownEfficiency } from '../result/configuration-shortfall.js';
import { okInPercentiles, okInRate, percentileCell } from './latency-cells.js';

/** A table as data: the terminal (fitTable), Markdown (markdownTable) and so HTML render the same columns. */
export interface TableModel {
  head: string[];
  rows: (string | number)[][];
  /** Per column: a number, right-aligned in Markdown. */
  numeric: boolean[];
}

/** A mix's operations per configuration: their share of the calls, rate, checks and latency (terminal and Markdown). */
export function operationsTable(r: RunResult): TableModel | null {
  if (!r.configurations.some((c) => c.byOperation)) return null;
  // At target rates each operation's response time too: the service time alone hides the queue.
  const open = r.plan.targetRate !== undefined;
  const head = ['Configuration', 'Operation', 'OK', 'Failed', 'Checked on the host', 'Share (%)', 'Per second', 'Service p50', 'Service p99', ...(open ? ['Response p50', 'Response p99'] : [])];
  const rows = r.configurations.flatMap((c) =>
    (c.byOperation ?? []).map((o) => [
      configurationName(c),
      o.operation,
      o.operationsOk,
      o.operationsFailed,
      o.operationsVerified,
      fixed((100 * (o.operationsOk + o.operationsFailed)) / Math.max(1, c.operationsOk + c.operationsFailed), 1),
      fixed(o.throughputPerS, 1),
      percentileCell(o.latencyMs, 'p50', o.operationsOk),
      percentileCell(o.latencyMs, 'p99', o.operationsOk),
      ...(open ? [percentileCell(o.responseMs, 'p50', o.operationsOk), percentileCell(o.responseMs, 'p99', o.operationsOk)] : []),
    ]),
  );
  return { head, rows, numeric: head.map((_, i) => i > 1) };
}

/** A header of the operations' table in the terminal: units without brackets and shorter words keep it within 100 columns. */
export const terminalHead = (r: RunResult) => (h: string) =>
  h
    .replace(' (ms)', ' ms')
    .replace(' (%)', ' %')
    .replace('Checked on the host', 'Checked')
    .replace('Per second', wordsOf(r).rate)
    .replace('Service ', 'Svc ')
    .replace('Response ', 'Resp ')
    .replace('Configuration', 'Config');

/** A configuration's efficiency as tables show it: with --repeat, the range its repetitions allow beside it. */
function efficiencyText(r: RunResult, c: ConfigurationResult): string {
  const shown = shownEfficiency(r, c);
  const range = shown === null ? null : efficiencyRange(r, c);
  return `${fixed(shown, 2)}${basisLowMark(r, c)}${range === null ? '' : ` (${rangeText(range.min, range.max, (v) => fixed(v, 2))})`}`;
}

/**
 * The seed's table (Configuration | Signatures | Duration | Signatures/s) with the range over repetitions, the
 * spread over tokens, latency, failures, efficiency, and the reference beside the measured rate when one is given.
 */
export function scaleTable(r: RunResult, reference?: Map<number, number>): TableModel {
  const withReference = reference !== undefined && reference.size > 0;
  const w = wordsOf(r);
  const head = [
    'Configuration',
    w.Nouns,
    'Duration (s)',
    // "(range)" only where there is one: with --repeat.
    r.configurations.some((c) => c.spread?.throughputPerS) ? `${w.Nouns}/s (range)` : `${w.Nouns}/s`,
    // Where calls were handed a data size (--data-size): MB = 1,000,000 bytes.
    ...(r.plan.dataSizesBytes ? ['MB/s'] : []),
    ...(withReference ? [`Reference ${w.rate}`] : []),
    `Per token ${w.rate} (min–max)`,
    'Service p50',
    'Service p99',
    'Failures',
    'Efficiency',
  ];
  const rows = r.configurations.map((c) => [
    `${configurationName(c)} × ${w.title}${shortfallMark(r, c)}`,
    okInRate(c),
    fixed(c.durationS, 2),
    throughputText(c),
    ...(r.plan.dataSizesBytes ? [mbPerSText(c.mbPerS)] : []),
    ...(withReference ? [fixed(reference!.get(c.tokens), 1)] : []),
    perTokenRange(c),
    percentileCell(c.latencyMs, 'p50', okInPercentiles(c)),
    percentileCell(c.latencyMs, 'p99', okInPercentiles(c)),
    c.operationsFailed,
    // Not against, nor of, a configuration that is not whole (the conclusion says why); with --repeat, its range.
    efficiencyText(r, c),
  ]);
  return { head, rows, numeric: head.map((_, i) => i > 0) };
}
