import { operationsTable, terminalHead } from './table-model.js';
import { wordsOf } from '../operations/words.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import { moduleCrashes, verdictOf, type JudgedRun } from '../verdict/verdict.js';
import { verdictText } from './verdict-section.js';
import { cutFromRecords } from './crash-text.js';
import { closedLoopNote, failedReturned, latencyLine, percentileCell } from './latency-cells.js';
import { backendLine, configurationName, fixed, mbPerSSuffix, planLine, rateCell, scheduleMissMark, tokenLine, tokenTitle, verifyText } from './describe-run.js';
import { latencyText } from '../core/latency-text.js';
import { fitTable } from './fit-table.js';
import { plural } from '../core/plural.js';
import { failureList } from './status-meaning.js';
import { shown } from '../core/quote.js';
import { harnessNotKnownText, stallLines } from './stalls-text.js';
import { cpuLine } from './cpu-text.js';
import { serialShown } from '../model/serial.js';

/** Why a burn-in has several segments, for report.md: a module that crashed its process says so. */
export function resumedText(r: RunResult): string {
  const crashes = moduleCrashes(r).length;
  const continuations = (r.burnIn?.segments.length ?? 1) - 1;
  if (crashes === 0) return 'Resumed: the run was stopped and continued from its checkpoint and records.';
  return `Resumed: the module crashed the process ${plural(crashes, 'time')}, and the run was continued from its checkpoint and records${continuations > crashes ? '; it was also stopped and resumed' : ''}.`;
}

/** Each token over a burn-in (terminal summary and report.md alike): its counts, latency, gaps, outages and state at the end. */
export function burnInTokenTable(r: RunResult, c: ConfigurationResult): { head: string[]; rows: (string | number)[][] } {
  const w = wordsOf(r);
  const head = [
    'Slot',
    'Token',
    'Serial',
    `${w.Nouns} (successful)`,
    'Failed',
    `${w.Nouns}/s`,
    'Service p50',
    'Service p99',
    'Longest gap',
    'Stalls (count, time)',
    'Outages (count, time)',
    'State at the end',
  ];
  const rows = c.perToken.map((t) => {
    const issue = c.workerIssues.find((i) => i.token === t.token);
    const state = issue ? issue.message : t.stillFailingS !== null && t.stillFailingS !== undefined ? `failing for ${latencyText(t.stillFailingS * 1000)}` : 'ok';
    return [
      t.slotId,
      t.label,
      serialShown(t.serial),
      t.operationsOk,
      t.operationsFailed,
      fixed(t.throughputPerS, 2),
      percentileCell(t.latencyMs, 'p50', t.operationsOk),
      percentileCell(t.latencyMs, 'p99', t.operationsOk),
      latencyText(t.longestGapMs ?? 0),
      stallsCell(t),
      (t.outages ?? 0) === 0 ? '0' : `${t.outages} (${latencyText(t.outageS * 1000)})`,
      state,
    ];
  });
  return { head, rows };
}

/** A token's own stalls, how many and their time ('–' in older runs, which did not count them). */
const stallsCell = (t: ConfigurationResult['perToken'][number]) => (t.stalls === undefined ? '–' : t.stalls === 0 ? '0' : `${t.stalls} (${latencyText((t.stalledS ?? 0) * 1000)})`);

/** report.md's "Longest gap" by its name, on two lines: one more column of width and the table passes 100. */
const LONGEST_GAP_HEAD = 'Longest\ngap';

/** The longest label a terminal cell names a token by; a longer one (up to PKCS#11's 32) is named by its serial (16 at most). */
const SHORT_LABEL = 16;

/**
 * How the terminal's table names a token: by its label where every token's label is its own and short, else by its
 * serial; the tokens' line above the table gives both, with the slot.
 */
function tokenCell(c: ConfigurationResult): (t: ConfigurationResult['perToken'][number]) => string {
  const labels = c.perToken.map((t) => t.label);
  const byLabel = new Set(labels).size === labels.length && labels.every((l) => l.length > 0 && l.length <= SHORT_LABEL);
  return (t) => (byLabel || !t.serial ? t.label : t.serial);
}

/**
 * Each token over a burn-in in the terminal, within 100 columns: short headers said once under the table, times
 * scaled, the tail and not the median (report.md has both), and a token that did not end well numbered in its State
 * cell, why under the table (a sentence in a cell made the grid 214 columns wide).
 */
export function terminalTokenTable(r: RunResult, c: ConfigurationResult): { head: string[]; rows: string[][]; notes: string[] } {
  const w = wordsOf(r);
  const name = tokenCell(c);
  const notes: string[] = [];
  const rows = c.perToken.map((t) => {
    const issue = c.workerIssues.find((i) => i.token === t.token);
    const failing = t.stillFailingS !== null && t.stillFailingS !== undefined;
    let state = 'ok';
    if (issue || failing) {
      notes.push(`[${notes.length + 1}] ${tokenTitle(t)}: ${issue ? issue.message : `failing for ${latencyText(t.stillFailingS! * 1000)} at the end`}`);
      state = `${issue ? 'stopped' : 'failing'} [${notes.length}]`;
    }
    const outages = t.outages ?? 0;
    return [
      name(t),
      String(t.operationsOk),
      String(t.operationsFailed),
      rateCell(t.throughputPerS),
      percentileCell(t.latencyMs, 'p99', t.operationsOk),
      latencyText(t.longestGapMs ?? 0),
      outages === 0 ? '0' : `${outages} (${latencyText(t.outageS * 1000)})`,
      state,
    ];
  });
  const legend = `OK: successful ${w.nouns}; Svc: service time; Longest gap: the longest time with no success`;
  // A token's own stalls under the table (a column would pass 100): silent while the others signed, which its outages miss.
  const stalled = c.perToken
    .filter((t) => (t.stalls ?? 0) > 0)
    .map(
      (t) => `${name(t)} stalled ${plural(t.stalls!, 'time')}, silent ${latencyText(t.stalledS! * 1000)}${c.durationS > 0 ? ` (${fixed((100 * t.stalledS!) / c.durationS, 1)} % of the window)` : ''}`,
    );
  return { head: ['Token', 'OK', 'Failed', 'OK/s', 'Svc p99', LONGEST_GAP_HEAD, 'Outages', 'State'], rows, notes: [legend, ...stalled, ...notes] };
}

/**
 * A burn-in whose tokens all ended before its stop rule: what of the plan was not run and how to go on (`dir`: the run
 * directory, where known).
 */
function endedEarlyText(r: RunResult, dir: string | undefined): string | null {
  const early = r.burnIn?.endedEarly;
  if (!early) return null;
  const w = wordsOf(r);
  const left = early.signingLeftS !== null ? `${fixed(early.signingLeftS, 1)} s of the plan` : `${plural(early.operationsLeft ?? 0, w.noun, w.nouns)} of the plan`;
  const resume = `hsm-bench burn-in --resume ${dir === undefined ? "with this run's directory" : shown(dir)}`;
  return `ended early: ${left} not run (every token ended before it); resume with ${resume}${early.pinRefusedTokens.length > 0 ? ' (--pin-corrected once the PIN is fixed)' : ''}`;
}

/**
 * How the burn-in's process died and was continued, records a resume accepted as lost, and an end before the stop
 * rule: in words, for the summary and report.md (`dir`: the run directory, where known).
 */
export function burnInMishaps(r: RunResult, dir?: string): string[] {
  const restarts = (r.burnIn?.restarts ?? []).map((x, i) => {
    const cut = cutFromRecords([x], 'the death', 'the restart');
    const how = x.signal !== null ? `was killed by ${x.signal} (a PKCS#11 module crashed it)` : `ended with exit code ${x.exitCode}`;
    return `restart ${i + 1}: at ${x.at} the process ${how}, with ${x.recordsOnDisk} records on disk${cut ? ` (${cut})` : ''}; the burn-in went on from them`;
  });
  const lost = (r.burnIn?.lostRecords ?? []).map(
    (l) =>
      `records lost: at ${l.at} a resume found ${l.recordsOnDisk} records where the checkpoint had counted ${l.checkpointRecords} on disk; ${
        // None left: what the segments before had signed is gone, and the plan ran again whole.
        l.recordsOnDisk === 0 ? 'continued from 0 records: the run restarted from zero' : `the ${l.checkpointRecords - l.recordsOnDisk} lost were made again`
      } (--accept-lost-records)`,
  );
  const early = endedEarlyText(r, dir);
  return [...restarts, ...lost, ...(early ? [early] : [])];
}

/** At a target rate: the schedule kept or not, and what a client waited (from each call's intended start). */
export const openLoopLine = (o: NonNullable<ConfigurationResult['openLoop']>, calls: number) =>
  `at ${o.targetRatePerS}/s (open loop): achieved ${fixed(o.achievedRatePerS, 1)}/s${scheduleMissMark(o)}; response time ${latencyLine(o.responseMs, calls)}${o.responseAtLeast?.length ? ' (at least: calls never started reach them)' : ''}; late ${fixed(o.late.sharePct, 1)} %${o.notStarted > 0 ? `; ${o.notStarted} not started` : ''}`;

/** The seed's burn-in summary (start, stop, elapsed, tests performed, tests failed) with what it lacked. */
export function renderBurnInSummary(r: RunResult, judged: JudgedRun, dir?: string): string {
  const c = r.configurations[0]!;
  const table = terminalTokenTable(r, c);
  const byOperation = operationsTable(r);
  const w = wordsOf(r);
  const failures = Object.entries(c.failuresByCkr);
  return (
    [
      `hsm-bench ${r.tool.version} burn-in: ${w.title} with ${r.mechanism.name} on ${configurationName(c)}`,
      `backend: ${backendLine(r)}`,
      `tokens:  ${tokenLine(r)}`,
      `plan:    ${planLine(r)}`,
      `started ${r.startedAt}, stopped ${r.finishedAt}; measured time ${fixed(c.durationS, 1)} s${(r.burnIn?.segments.length ?? 1) > 1 ? ` over ${r.burnIn!.segments.length} segments (resumed)` : ''}`,
      // Performed counts successes, as every other count of signatures does; failures are counted apart.
      `${w.nouns} performed (successful): ${c.operationsOk}; failed: ${c.operationsFailed}; checked on the host: ${c.operationsVerified}; throughput ${fixed(c.throughputPerS, 2)}/s${mbPerSSuffix(c)} (successful, ${verifyText(r)})`,
      `service time: ${latencyLine(c.latencyMs, c.operationsOk)}`,
      ...[closedLoopNote(c)].filter((x) => x !== null),
      ...(c.failedLatencyMs ? [`failed calls (apart, not in the service time): ${latencyLine(c.failedLatencyMs, failedReturned(c))}`] : []),
      ...(c.openLoop ? [openLoopLine(c.openLoop, c.operationsOk)] : []),
      ...(failures.length > 0 ? [`failures by status: ${failureList(r, c.failuresByCkr)}`] : []),
      ...burnInMishaps(r, dir),
      fitTable(table.head, table.rows),
      ...table.notes,
      ...stallLines(r, c),
      ...(c.cpu ? [`cpu during the run: ${cpuLine(c.cpu)}${harnessNotKnownText(c) ? `; it covers ${harnessNotKnownText(c)}` : ''}`] : []),
      ...(byOperation ? ['per operation:', fitTable(byOperation.head.map(terminalHead(r)), byOperation.rows)] : []),
      `verdict: ${verdictText({ ...r, verdict: verdictOf(judged) })}`,
    ].join('\n') + '\n'
  );
}
