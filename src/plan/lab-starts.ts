import { usageError } from '../core/errors.js';
import { durationMs } from '../core/duration.js';
import { plannedConfigurations, START_SETTLE_MS, type RunPlan } from '../model/plan.js';
import type { LabRun } from './lab-file.js';

/** The least time a run's windows take: its planned windows and, started together, the settles between them (none known where a call count stops it). */
function plannedWindowsMs(plan: RunPlan): number {
  if (plan.stop.kind !== 'duration') return 0;
  const windows = plannedConfigurations(plan.tokenCounts, plan.threadsPerToken, plan.targetRate, plan.dataSizesBytes).length * plan.repeat;
  return windows * durationMs(plan.stop.durationNs) + (plan.startAt ? (windows - 1) * (plan.startAt.settleMs ?? START_SETTLE_MS) : 0);
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The runs of a lab go one after another: a later run's absolute startAt that the runs before it cannot have ended by
 * is refused now (exit 2), not after they spent their time. Returns what the lab says at its start of each later
 * absolute start it can meet only if the runs before it end in time.
 */
export function checkLabStarts(runs: readonly LabRun[], nowMs: number): string[] {
  const problems: string[] = [];
  const notes: string[] = [];
  // The earliest the runs so far can have ended, and how long their planned windows take.
  let endMs = nowMs;
  let windowsMs = 0;
  for (const [i, run] of runs.entries()) {
    const startAt = run.plan.startAt;
    let opensMs = endMs;
    if (startAt?.afterSetUpMs !== undefined) opensMs = endMs + startAt.afterSetUpMs;
    else if (startAt && i > 0) {
      const what = `${startAt.givenAs} ${startAt.given}`;
      const before = `their planned windows take ${windowsMs / 1000} s at least`;
      if (startAt.atMs < endMs) problems.push(`${what} is before the runs before it can have ended: ${before}, until ${iso(endMs)}`);
      else
        notes.push(
          `${run.name} opens at ${iso(startAt.atMs)} (${startAt.givenAs}): the runs before it must have ended by then (${before} of the ${((startAt.atMs - nowMs) / 1000).toFixed(0)} s until it)`,
        );
      opensMs = Math.max(endMs, startAt.atMs);
    } else if (startAt) opensMs = startAt.atMs;
    const ownMs = plannedWindowsMs(run.plan);
    endMs = opensMs + ownMs;
    windowsMs += ownMs;
  }
  if (problems.length > 0)
    throw usageError(
      `the lab's runs go one after another, and ${problems.length > 1 ? 'these starts come' : 'this start comes'} too early:\n  ${problems.join('\n  ')}`,
      'give a later moment (the same to every host), or a +DURATION, which counts from the end of the run’s own set-up; nothing was run',
    );
  return notes;
}
