import { rangeText } from '../core/range-text.js';
import { wordsOf } from '../operations/words.js';
import { harnessShareText } from './harness-text.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import { fitTable, gridWidth, TERMINAL_COLUMNS } from './fit-table.js';
import {
  backendLine,
  busyHost,
  configurationName,
  fixed,
  mbPerSText,
  lowConfidenceLines,
  rateNotEstablishedLines,
  planLine,
  perTokenRange,
  rateCell,
  runEnd,
  runEndText,
  scheduleMissMark,
  shortfallMark,
  basisLowMark,
  basisLowNote,
  throughputCaption,
  timedCallText,
  tokenLine,
  workerIssueText,
} from './describe-run.js';
import { failureList } from './status-meaning.js';
import { operationsTable, terminalHead, type TableModel } from './table-model.js';
import { capacityRateMark, capacityTable, responseCell, responsePercentiles, saturationTable, sizingAnswer } from './sizing-tables.js';
import { percentileName } from '../model/plan.js';
import { efficiencyRange, shownEfficiency } from '../result/configuration-shortfall.js';
import { scaleStallLines } from './stalls-text.js';
import { cpuLines } from './cpu-text.js';
import { terminalSourcesTable } from './sources-table.js';
import { closedLoopNote, okInPercentiles, percentileCell } from './latency-cells.js';
import { byteSizeText } from '../core/byte-size.js';
import { rateNotEstablished } from '../verdict/common-window-rate.js';

/**
 * The configuration's cells of a terminal table: tokens, and sessions per token where they were swept; a
 * configuration that is not whole is starred, and said under the table (`shortfallNotes`).
 */
function axesCells(r: RunResult, c: ConfigurationResult): (string | number)[] {
  const star = shortfallMark(r, c) ? '*' : '';
  const data = r.plan.dataSizesBytes ? [`${byteSizeText(c.dataSizeBytes!)}${star}`] : [];
  if (data.length > 0) return r.plan.threadsPerToken.length > 1 ? [c.tokens, c.threadsPerToken, ...data] : [c.tokens, ...data];
  return r.plan.threadsPerToken.length > 1 ? [c.tokens, `${c.threadsPerToken}${star}`] : [`${c.tokens}${star}`];
}
/** An efficiency with the range its repetitions allow, where they were repeated: a figure alone would claim more. */
function efficiencyCell(r: RunResult, c: RunResult['configurations'][number]): string {
  const e = shownEfficiency(r, c);
  const range = e === null ? null : efficiencyRange(r, c);
  return `${fixed(e, 2)}${basisLowMark(r, c)}${range ? ` (${rangeText(range.min, range.max, (v) => fixed(v, 2))})` : ''}`;
}
const axesHead = (r: RunResult) => [...(r.plan.threadsPerToken.length > 1 ? ['Tokens', 'Sessions'] : ['Tokens']), ...(r.plan.dataSizesBytes ? ['Data'] : [])];
/** MB/s beside the rate where calls were handed a data size (--data-size). */
const mbHead = (r: RunResult) => (r.plan.dataSizesBytes ? ['MB/s'] : []);
const mbCells = (r: RunResult, c: ConfigurationResult) => (r.plan.dataSizesBytes ? [mbPerSText(c.mbPerS)] : []);
const shortfallNotes = (r: RunResult) => r.configurations.filter((c) => shortfallMark(r, c)).map((c) => `* ${configurationName(c)}:${shortfallMark(r, c).replace(/^ \((.*)\)$/, ' $1')}`);

/**
 * The flat-out table in the terminal: rate (with its range over repetitions), the spread over tokens, latency,
 * failures and efficiency, in under 100 columns. The counts and durations are in report.md's table.
 */
export function terminalScaleTable(r: RunResult): TableModel {
  const w = wordsOf(r);
  const withRange = r.configurations.some((c) => c.spread?.throughputPerS);
  const head = [...axesHead(r), withRange ? `${w.rate} (range)` : w.rate, ...mbHead(r), 'Per token', 'Svc p50', 'Svc p99', 'Failed', withRange ? 'Eff. (range)' : 'Eff.'];
  const rows = r.configurations.map((c) => {
    const s = c.spread?.throughputPerS;
    return [
      ...axesCells(r, c),
      rateNotEstablished(c) ? 'not est.' : `${rateCell(c.throughputPerS)}${s ? ` (${rangeText(s.min, s.max, rateCell)})` : ''}`,
      ...mbCells(r, c),
      perTokenRange(c, rateCell),
      percentileCell(c.latencyMs, 'p50', okInPercentiles(c)),
      percentileCell(c.latencyMs, 'p99', okInPercentiles(c)),
      c.operationsFailed,
      efficiencyCell(r, c),
    ];
  });
  return { head, rows, numeric: head.map(() => true) };
}

/**
 * The target-rate table in the terminal: asked, served, response time (from each call's intended start) and
 * service time (the call alone), and calls not started, in under 100 columns; late shares are in report.md.
 */
export function terminalRateTable(r: RunResult): TableModel {
  // Each percentile an objective judges, p99, and p50 where that leaves 2 columns of response time.
  const shown = responsePercentiles(r, 2);
  const dropped = r.configurations.some((c) => (c.openLoop?.notStarted ?? 0) > 0);
  const full = (service: boolean, notStarted: boolean): TableModel => {
    const head = [...axesHead(r), 'Target/s', 'Served/s', ...shown.map((p) => `Resp ${percentileName(p)}`), ...(service ? ['Svc p99'] : []), ...(notStarted ? ['Not started'] : []), 'Failed'];
    const rows = r.configurations.map((c) => {
      const o = c.openLoop;
      return [
        ...axesCells(r, c),
        o ? rateCell(o.targetRatePerS) : 'flat out',
        o ? `${rateCell(o.achievedRatePerS)}${scheduleMissMark(o, true).replace(/^ \((.*)\)$/, ' $1')}` : rateCell(c.throughputPerS),
        // Scaled, only as far as the calls go, and "≥" where calls never started bound it (a lower bound).
        ...shown.map((p) => responseCell(o, p, c.operationsOk)),
        ...(service ? [percentileCell(c.latencyMs, 'p99', c.operationsOk)] : []),
        ...(notStarted ? [o?.notStarted ?? '–'] : []),
        c.operationsFailed,
      ];
    });
    return { head, rows, numeric: head.map(() => true) };
  };
  // Within 100 columns: with more percentiles asked for, the service time's p99 goes first, then the count of calls
  // not started (their "≥" stays); report.md has them all.
  const tables = [full(true, dropped), full(false, dropped), full(false, false)];
  return tables.find((t) => gridWidth(t.head, t.rows) <= TERMINAL_COLUMNS) ?? tables[tables.length - 1]!;
}

/** The capacity sweep in the terminal: a mark per rate; why each rate missed is in the answer above and in report.md. */
export function terminalCapacityTable(r: RunResult): TableModel | null {
  const full = capacityTable(r);
  if (!full || !r.capacity) return null;
  const head = ['Configuration', 'Capacity', 'Fell behind at', 'Rates/s'];
  const rows = r.capacity.map((c, i) => [...full.rows[i]!.slice(0, 3), c.rates.map((x) => `${rateCell(x.targetRatePerS)} ${capacityRateMark(x)}`).join('  ')]);
  return { head, rows, numeric: full.numeric };
}

/** The seed's table (Configuration | Signatures/s) with latency, failures and scaling efficiency, fitted to a terminal. */
export function renderScaleTable(r: RunResult): string {
  // At target rates the figures are the response and service times and the schedule kept, not a flat-out rate.
  const table = r.plan.targetRate ? terminalRateTable(r) : terminalScaleTable(r);
  const capacity = terminalCapacityTable(r);
  const lines = [
    `hsm-bench ${r.tool.version} scale: ${wordsOf(r).title} with ${r.mechanism.name}${runEnd(r) ? ` (${runEndText(runEnd(r)!).toUpperCase()}: partial results)` : ''}`,
    `backend: ${backendLine(r)}`,
    `tokens:  ${tokenLine(r)}`,
    `plan:    ${planLine(r)}`,
    // The answer a sizing run was for, before the detail it rests on.
    ...sizingAnswer(r),
    fitTable(table.head, table.rows),
    ...shortfallNotes(r),
    ...(basisLowNote(r) ? [basisLowNote(r)!] : []),
    r.plan.targetRate
      ? `Resp: response time from each call’s intended start${table.head.includes('Svc p99') ? `; Svc: service time of each ${timedCallText(r)}` : ' (≥: calls never started bound it)'}`
      : `Svc: service time of each ${timedCallText(r)}, flat out (a closed loop: its tail is understated, see below)`,
    throughputCaption(r),
  ];
  const hosts = terminalSourcesTable(r);
  if (hosts)
    lines.push(
      fitTable(hosts.head, hosts.rows),
      "A merged run: each host beside the total, whose window is the time every host measured in (report.md: Per host); Per token: each over its own host's window",
    );
  if (capacity) lines.push(fitTable(capacity.head, capacity.rows), '✓ held, ✗ missed, ? not judged, – not measured (why, rate by rate: report.md)');
  const saturation = saturationTable(r);
  if (saturation) lines.push(fitTable(saturation.head, saturation.rows));
  const byOperation = operationsTable(r);
  if (byOperation) lines.push('per operation:', fitTable(byOperation.head.map(terminalHead(r)), byOperation.rows));
  const issues = r.configurations.flatMap((c) => c.workerIssues.map((i) => `${configurationName(c)}: ${workerIssueText(r, i)}`));
  for (const c of r.configurations) {
    if (Object.keys(c.failuresByCkr).length > 0) lines.push(`failures with ${configurationName(c)}: ${failureList(r, c.failuresByCkr)}`);
  }
  if (issues.length > 0) lines.push(...issues.map((i) => `worker issue: ${i}`));
  const stalls = scaleStallLines(r);
  if (stalls.length > 0) lines.push('stalls:', ...stalls.map((l) => `  ${l}`));
  const cpu = cpuLines(r);
  if (cpu.length > 0) lines.push('cpu during the window:', ...cpu.map((l) => `  ${l}`));
  const busy = busyHost(r);
  if (busy) lines.push(`note: ${busy}`);
  const harnessShare = harnessShareText(r);
  if (harnessShare) lines.push(`note: ${harnessShare}`);
  lines.push(...rateNotEstablishedLines(r).map((l) => `note: ${l}`));
  lines.push(...lowConfidenceLines(r).map((l) => `note: ${l}`));
  // Flat out, the service time's tail is understated: said once, of the largest configuration, with its correction.
  const loop = r.configurations.length > 0 ? closedLoopNote(r.configurations[r.configurations.length - 1]!) : null;
  if (loop) lines.push(`note: ${configurationName(r.configurations[r.configurations.length - 1]!)}: ${loop}`);
  return lines.join('\n') + '\n';
}
