import { operationsTable } from './table-model.js';
import { wordsOf } from '../operations/words.js';
import type { BurnInRestart, ConfigurationResult, ProcessDeath, RunResult } from '../model/run-result.js';
import { ExitCode } from '../core/errors.js';
import { exitCodeFor, moduleCrashes, type JudgedRun } from '../verdict/verdict.js';
import { backendLine, configurationName, fixed, planLine, scheduleMissMark, tokenLine, verifyText } from './describe-run.js';
import { fitTable } from './fit-table.js';
import { plural } from '../core/plural.js';
import { failureList } from './status-meaning.js';
import { shown } from '../core/quote.js';
import { stallLines } from './stalls-text.js';
import { cpuLine } from './cpu-text.js';

/** The time of day of an ISO time, for a line that names when something happened in the night. */
const timeOfDay = (iso: string) => `${iso.slice(11, 19)} UTC`;

/** How the process died: the signal, or the exit code it was left with. */
export const deathName = (x: ProcessDeath) => x.signal ?? `exit code ${x.exitCode}`;

/** Crashes named one by one in a line; a night of them is summed up after these. */
const CRASHES_NAMED = 5;

/** A death as a burn-in's restart records it, with what it cut from the records where that is known. */
type Death = ProcessDeath & Partial<Pick<BurnInRestart, 'callsNotRecorded' | 'signingLostS'>>;

/** The module's crashes of a command's process as the failed check they are, in words; null when there was none. */
export function crashesText(deaths: readonly Death[]): string | null {
  if (deaths.length === 0) return null;
  const named = deaths.slice(0, CRASHES_NAMED).map((x) => `${deathName(x)} at ${timeOfDay(x.at)}`);
  const cut = cutFromRecords(deaths, deaths.length === 1 ? 'the crash' : 'the crashes', deaths.length === 1 ? 'the restart' : 'the restarts');
  return `the module crashed the process ${plural(deaths.length, 'time')}: ${named.join(', ')}${deaths.length > CRASHES_NAMED ? ', …' : ''}${cut ? ` (${cut})` : ''}`;
}

/**
 * The module's crashes of the burn-in's process (verdict, JUnit, report), or null when it never crashed: the
 * records alone would show a clean run, since the calls of a crash are made again.
 */
export const moduleCrashText = (r: RunResult): string | null => crashesText(moduleCrashes(r));

/**
 * What deaths cut from the records: calls the process had made (a lower bound: it told its supervisor ten times a
 * second) and the signing time after the last record on disk, both made again after the restart. Null when nothing
 * was known cut.
 */
function cutFromRecords(deaths: readonly Death[], crash: string, restart: string): string | null {
  const calls = deaths.reduce((n, x) => n + (x.callsNotRecorded ?? 0), 0);
  const signingS = deaths.reduce((n, x) => n + (x.signingLostS ?? 0), 0);
  if (calls === 0 && signingS === 0) return null;
  const time = `the ${fixed(signingS, signingS < 1 ? 2 : 1)} s of signing before ${crash}`;
  return calls > 0
    ? `at least ${plural(calls, 'call')} made in ${time} ${calls === 1 ? 'was' : 'were'} not recorded, made again after ${restart}`
    : `${time} was not recorded, signed again after ${restart}`;
}

/**
 * The verdict is the run's exit code in words: one judgement, the same as the exit code and the JUnit file, naming
 * each failed check. Without a judgement (a report regenerated later), the records' own: failed signatures, lost
 * workers, a process the module crashed.
 */
export function burnInVerdict(r: RunResult, judged: JudgedRun | undefined): string {
  const c = r.configurations[0]!;
  const w = wordsOf(r);
  const code = exitCodeFor([judged ?? { name: '', result: r, thresholds: [] }]);
  if (code === ExitCode.interrupted) return 'INTERRUPTED: partial results (resume with --resume)';
  if (code === ExitCode.ok) return `PASSED: no ${w.noun} failed`;
  const crashed = moduleCrashText(r);
  const failed =
    c.operationsFailed > 0 || c.workerIssues.length > 0
      ? `${plural(c.operationsFailed, w.noun, w.nouns)} failed${c.workerIssues.length > 0 ? `, ${plural(c.workerIssues.length, 'session')} stopped (see the state of each token)` : ''}`
      : null;
  const checks = [...(code === ExitCode.thresholdFailed ? ['a threshold or the baseline check failed (see the checks)'] : []), ...(failed ? [failed] : []), ...(crashed ? [crashed] : [])];
  return `FAILED: ${checks.join('; ')}`;
}

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
  const head = ['Slot', 'Token', 'Serial', `${w.Nouns} (successful)`, 'Failed', `${w.Nouns}/s`, 'p50 (ms)', 'p99 (ms)', 'Longest gap (s)', 'Outages (count, s)', 'State at the end'];
  const rows = c.perToken.map((t) => {
    const issue = c.workerIssues.find((i) => i.token === t.token);
    const state = issue ? issue.message : t.stillFailingS !== null && t.stillFailingS !== undefined ? `failing for ${fixed(t.stillFailingS, 1)} s` : 'ok';
    return [
      t.slotId,
      t.label,
      t.serial,
      t.operationsOk,
      t.operationsFailed,
      fixed(t.throughputPerS, 2),
      fixed(t.latencyMs?.p50, 2),
      fixed(t.latencyMs?.p99, 2),
      fixed((t.longestGapMs ?? 0) / 1000, 3),
      `${t.outages ?? 0} (${fixed(t.outageS, 1)})`,
      state,
    ];
  });
  return { head, rows };
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

/** A response figure; "≥" where calls never started reach it (a lower bound, src/stats/backlog-response.ts). */
export const responseText = (o: NonNullable<ConfigurationResult['openLoop']>, f: 'p50' | 'p99' | 'p999' | 'max') => `${o.responseAtLeast?.includes(f) ? '≥ ' : ''}${fixed(o.responseMs?.[f], 2)}`;

/** At a target rate: the schedule kept or not, and what a client waited (from each call's intended start). */
export const openLoopLine = (o: NonNullable<ConfigurationResult['openLoop']>) =>
  `at ${o.targetRatePerS}/s (open loop): achieved ${fixed(o.achievedRatePerS, 1)}/s${scheduleMissMark(o)}; response (ms) p50 ${responseText(o, 'p50')}, p99 ${responseText(o, 'p99')}, max ${responseText(o, 'max')}; late ${fixed(o.late.sharePct, 1)} %${o.notStarted > 0 ? `; ${o.notStarted} not started` : ''}`;

/** The seed's burn-in summary (start, stop, elapsed, tests performed, tests failed) with what it lacked. */
export function renderBurnInSummary(r: RunResult, judged: JudgedRun, dir?: string): string {
  const c = r.configurations[0]!;
  const { head, rows } = burnInTokenTable(r, c);
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
      `${w.nouns} performed (successful): ${c.operationsOk}; failed: ${c.operationsFailed}; checked on the host: ${c.operationsVerified}; throughput ${fixed(c.throughputPerS, 2)}/s (successful, ${verifyText(r)})`,
      `latency (ms): p50 ${fixed(c.latencyMs?.p50, 2)}, p90 ${fixed(c.latencyMs?.p90, 2)}, p99 ${fixed(c.latencyMs?.p99, 2)}, max ${fixed(c.latencyMs?.max, 2)}`,
      ...(c.openLoop ? [openLoopLine(c.openLoop)] : []),
      ...(failures.length > 0 ? [`failures by status: ${failureList(r, c.failuresByCkr)}`] : []),
      ...burnInMishaps(r, dir),
      fitTable(head, rows),
      ...stallLines(r, c),
      ...(c.cpu ? [`cpu during the run: ${cpuLine(c.cpu)}`] : []),
      ...(byOperation ? ['per operation:', fitTable(byOperation.head, byOperation.rows)] : []),
      `verdict: ${burnInVerdict(r, judged)}`,
    ].join('\n') + '\n'
  );
}
