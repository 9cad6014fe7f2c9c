import { usageError } from '../core/errors.js';
import { durationMs, parseDurationNs } from '../core/duration.js';
import { quote } from '../core/quote.js';
import type { StartAt } from '../model/plan.js';

/** Further ahead than this is a typo (a wrong day or year), not a plan: the sessions would idle at the barrier for it. */
const MAX_AHEAD_MS = 7 * 24 * 3600_000;

/** RFC 3339 in UTC, to the second or finer (RFC 3339 allows lowercase t and z, and any number of fraction digits). */
const RFC3339_UTC = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?[Zz]$/;

/**
 * --start-at: a moment in UTC (RFC 3339), or `+30s` from now (when the command reads it). Every host given the same
 * moment opens its first measured window then; one already past is refused.
 */
export function parseStartAt(text: string, name: string, nowMs = Date.now()): StartAt {
  const hint = `give a moment in UTC such as ${new Date(nowMs + 120_000).toISOString().slice(0, 19)}Z, or a time from now such as +2m`;
  const trimmed = text.trim();
  let atMs: number;
  if (trimmed.startsWith('+')) {
    // "+ 5s" is a typo as likely as a plan: a time from now is +DURATION written together.
    if (!/^\+\d/.test(trimmed)) throw usageError(`${name} must be +DURATION written together (such as +30s), not ${quote(text)}`, hint);
    atMs = nowMs + relativeStartMs(trimmed, name);
  } else {
    const m = RFC3339_UTC.exec(trimmed);
    // Fractions beyond the millisecond are rounded to it: the clocks of hosts agree to milliseconds at best.
    const secondMs = m ? Date.parse(`${m[1]}T${m[2]}Z`) : Number.NaN;
    atMs = secondMs + Math.round(Number(`0${m?.[3] ?? ''}`) * 1000);
    // Date.parse takes 2026-02-30 as 2026-03-02: a day that does not exist is refused, not moved.
    if (!m || Number.isNaN(secondMs) || new Date(secondMs).toISOString().slice(0, 19) !== `${m[1]}T${m[2]}`) {
      const fromNow = /^\d+(\.\d+)?[a-z]+$/i.test(trimmed) ? `: a time from now is written with a +, as +${trimmed}` : '';
      throw usageError(`${name} must be a moment in UTC (RFC 3339, ending in Z) or +DURATION, not ${quote(text)}${fromNow}`, fromNow ? `give +${trimmed}` : hint);
    }
  }
  if (atMs - nowMs > MAX_AHEAD_MS) throw usageError(`${name} ${quote(text)} is more than 7 days ahead`, hint);
  return { given: trimmed, givenAs: name, atMs };
}

/** The D of a `+D` start, in ms. */
const relativeStartMs = (given: string, name: string) => durationMs(parseDurationNs(given.slice(1), name, 1, '+'));

/** A lab run's start: a `+D` counts from the end of that run's own set-up, not from when the file was read. */
export const labRunStartAt = (startAt: StartAt): StartAt => (startAt.given.startsWith('+') ? { ...startAt, afterSetUpMs: relativeStartMs(startAt.given, startAt.givenAs) } : startAt);

/** The moment a run's window opens, once its set-up is done (at setUpDoneMs). */
export const startMoment = (startAt: StartAt, setUpDoneMs: number): StartAt => (startAt.afterSetUpMs === undefined ? startAt : { ...startAt, atMs: setUpDoneMs + startAt.afterSetUpMs });

/** The refusal of a start already past: before the run (as read) or after the set-up (tokens, keys, trial calls) took longer. */
export function startAtPassed(startAt: StartAt, nowMs: number, afterSetUp: boolean) {
  const agoS = ((nowMs - startAt.atMs) / 1000).toFixed(1);
  return usageError(
    `${startAt.givenAs} ${new Date(startAt.atMs).toISOString()} is already past${afterSetUp ? ' after the set-up (tokens, keys, trial calls)' : ''}: ${agoS} s ago`,
    'give a later moment to every host; leave time for the set-up, which says how long it took in run.json',
  );
}
