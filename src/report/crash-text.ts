import type { BurnInRestart, ProcessDeath, RunResult } from '../model/run-result.js';
import { moduleCrashes } from '../verdict/verdict.js';
import { fixed } from './describe-run.js';
import { plural } from '../core/plural.js';

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
export function cutFromRecords(deaths: readonly Death[], crash: string, restart: string): string | null {
  const calls = deaths.reduce((n, x) => n + (x.callsNotRecorded ?? 0), 0);
  const signingS = deaths.reduce((n, x) => n + (x.signingLostS ?? 0), 0);
  if (calls === 0 && signingS === 0) return null;
  const time = `the ${fixed(signingS, signingS < 1 ? 2 : 1)} s of the window before ${crash}`;
  return calls > 0
    ? `at least ${plural(calls, 'call')} made in ${time} ${calls === 1 ? 'was' : 'were'} not recorded, made again after ${restart}`
    : `${time} was not recorded, run again after ${restart}`;
}
