import { plannedConfigurations } from '../model/plan.js';
import { axesOf, configurationAxes, sameConfiguration, type ConfigurationAxes } from '../model/configuration.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';

/**
 * A configuration of the plan that the run did not measure whole, and why: a run interrupted or killed is never
 * judged as if it had measured its plan (JUnit errors, comparison failures, reports say so).
 */
export interface NotMeasured extends ConfigurationAxes {
  /** Absent from the run, or measured only in part (cut short, or fewer repetitions than planned). */
  measured: 'none' | 'part';
  reason: string;
}

/** The configurations the run's plan holds, in the order they run: by token count, then sessions, then rising rate. */
export const plannedAxes = (plan: Pick<RunResult['plan'], 'tokenCounts' | 'threadsPerToken' | 'targetRate' | 'dataSizesBytes'>): ConfigurationAxes[] =>
  plannedConfigurations(plan.tokenCounts, plan.threadsPerToken, plan.targetRate ?? null, plan.dataSizesBytes ?? null).map((p) =>
    configurationAxes(p.tokens, p.threadsPerToken, p.targetRatePerS, p.dataSizeBytes),
  );

const made = (c: ConfigurationResult) => (c.repetitions ?? [c]).reduce((n, x) => n + x.operationsOk + x.operationsFailed, 0);

/** Why a measured configuration is not whole, or null when it is (`killedBy`: what killed the run, where known). */
function partOnly(r: RunResult, c: ConfigurationResult, killedBy: string | undefined): string | null {
  if (c.partial === 'killed') return `measured only in part: ${killedBy ?? 'the run was killed'} in it (${made(c)} calls counted from its records on disk)`;
  if (c.partial === 'interrupted') return `measured only in part: the run was interrupted in it after ${made(c)} calls`;
  // A burn-in is one configuration: interrupted, it stopped inside it (runs before the marker existed say so only here).
  if (r.command === 'burn-in' && r.interrupted) return `measured only in part: the burn-in was interrupted after ${made(c)} calls (resume it with --resume)`;
  const early = r.burnIn?.endedEarly;
  if (early) {
    const left = early.signingLeftS !== null ? `${early.signingLeftS} s` : `${early.operationsLeft} calls`;
    return `measured only in part: every token ended before the stop rule, ${left} of the plan not run (resume it with --resume)`;
  }
  const repeat = r.plan.repeat ?? 1;
  const repetitions = c.repetitions?.length ?? 1;
  if (repetitions < repeat) return `measured in ${repetitions} of ${repeat} repetitions: the run ${r.interrupted ? 'was interrupted' : 'ended'} before the others`;
  // Measured whole, but the host check of the calls spilled while it fell behind was skipped (a Ctrl-C) or cut (a
  // kill): their CKR_OK is all that is known of them, which a check that passes must not hide.
  const unchecked = uncheckedCalls(r, c);
  if (unchecked > 0)
    return `checked only in part: ${unchecked} of its ${made(c)} calls were never checked on the host (the run was ${r.interrupted ? 'interrupted' : 'killed'} before the check after its window ended)`;
  return null;
}

/** Calls of a configuration whose host check was planned and never ran (none where the host checks nothing by design). */
export function uncheckedCalls(r: Pick<RunResult, 'operation'>, c: ConfigurationResult): number {
  if (r.operation?.hostCheck === 'not-checked' || r.operation?.checkSkipped !== undefined) return 0;
  return (c.repetitions ?? [c]).reduce((n, x) => n + (x.operationsUnverified ?? 0), 0);
}

/** Every configuration of the plan that the run did not measure whole, in plan order; empty for a run that ran its plan. */
export const notMeasured = (r: RunResult): NotMeasured[] => notMeasuredAfter(r, undefined);

/** The same, for a run whose process was killed by what `killedBy` says (`the module crashed the process`), as its supervisor saw. */
export function notMeasuredAfter(r: RunResult, killedBy: string | undefined): NotMeasured[] {
  const planned = r.command === 'burn-in' ? r.configurations.slice(0, 1) : plannedAxes(r.plan);
  return planned.flatMap((axes): NotMeasured[] => {
    const c = r.configurations.find((x) => sameConfiguration(x, axes));
    // What killed the process may have come before it or in it, before any of its calls reached the disk.
    if (c === undefined) return [{ ...axesOf(axes), measured: 'none', reason: `not measured: ${killedBy ?? `the run ${r.interrupted ? 'was interrupted or killed' : 'ended'} before it`}` }];
    const reason = partOnly(r, c, killedBy);
    return reason === null ? [] : [{ ...axesOf(c), measured: 'part', reason }];
  });
}
