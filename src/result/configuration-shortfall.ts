import type { ConfigurationResult, Range, RunResult } from '../model/run-result.js';
import { tokensShortOf } from '../stats/tokens-short.js';
import { aboveLinear, efficiencyBasisIn, efficiencyRangeOf } from '../stats/efficiency.js';

/**
 * What keeps a configuration's figures from being those of its whole plan: the run stopped in it, repetitions are
 * missing, or a token did not sign to the end (a session hung, a worker stopped). A reader is told so beside the
 * figures, and no scaling efficiency is drawn from such a configuration or against it.
 */
export interface Shortfall {
  /** The run was interrupted or killed in it (in any repetition). */
  partial?: 'interrupted' | 'killed';
  /** With --repeat: the repetitions measured whole, of those planned (absent when every one was). */
  repetitions?: { whole: number; planned: number };
  /** Tokens (indices in run.json's tokens) with a session whose call did not return, in any repetition. */
  hungTokens: number[];
  /** Tokens with a worker that stopped early for another reason (lost, PIN refused, failures in a row). */
  stoppedTokens: number[];
}

export function shortfallOf(r: Pick<RunResult, 'plan' | 'command'>, c: ConfigurationResult): Shortfall {
  const runs = c.repetitions ?? [c];
  const planned = r.command === 'scale' ? (r.plan.repeat ?? 1) : 1;
  const whole = runs.filter((x) => x.partial === undefined).length;
  const partial = c.partial ?? runs.find((x) => x.partial !== undefined)?.partial;
  return {
    ...(partial ? { partial } : {}),
    ...(planned > 1 && whole < planned ? { repetitions: { whole, planned } } : {}),
    ...tokensShortOf(c),
  };
}

/** Calls never checked, or lost, over a configuration's repetitions; the configuration's own where its repetitions do not carry them. */
export function uncountedOf(c: ConfigurationResult, key: 'operationsUnverified' | 'operationsLost'): number {
  const reps = c.repetitions?.filter((x) => x[key] !== undefined) ?? [];
  return reps.length > 0 ? reps.reduce((n, x) => n + x[key]!, 0) : (c[key] ?? 0);
}

export const isWhole = (s: Shortfall) => s.partial === undefined && s.repetitions === undefined && s.hungTokens.length === 0 && s.stoppedTokens.length === 0;

/** The 1-token configuration a configuration's efficiency is measured against (efficiencyBasisIn), or undefined. */
export const efficiencyBasisOf = (r: Pick<RunResult, 'configurations'>, c: ConfigurationResult) => efficiencyBasisIn(r.configurations, c);

/**
 * Why a configuration's scaling efficiency is withheld, or null when it stands: it and its 1-token basis must both
 * be whole, else the ratio compares a stopped token, a cut window or a missing repetition with a whole one.
 */
export function efficiencyWithheld(r: Pick<RunResult, 'plan' | 'command' | 'configurations'>, c: ConfigurationResult): { configuration: ConfigurationResult; shortfall: Shortfall } | null {
  if (c.efficiency === null) return null;
  const own = shortfallOf(r, c);
  if (!isWhole(own)) return { configuration: c, shortfall: own };
  const basis = efficiencyBasisOf(r, c);
  const theirs = basis && shortfallOf(r, basis);
  return basis && theirs && !isWhole(theirs) ? { configuration: basis, shortfall: theirs } : null;
}

/**
 * The efficiency a configuration's repetitions allow against its 1-token basis's, round by round (src/stats/efficiency.ts).
 * Null without repetitions on either side, or without an efficiency.
 */
export function efficiencyRange(r: Pick<RunResult, 'configurations'>, c: ConfigurationResult): Range | null {
  const basis = efficiencyBasisOf(r, c);
  // The basis itself is 1 by definition, however its repetitions spread.
  if (c.efficiency === null || basis === undefined || basis === c) return null;
  return efficiencyRangeOf(c, basis, c.efficiency);
}

/** A configuration's efficiency as reports show it: null where it is withheld. */
export const shownEfficiency = (r: Pick<RunResult, 'plan' | 'command' | 'configurations'>, c: ConfigurationResult) => (efficiencyWithheld(r, c) === null ? c.efficiency : null);

/** A shown efficiency above 1 beyond the noise (aboveLinear): its 1-token basis looks low, and the figure is not a finding. */
export function basisLooksLow(r: Pick<RunResult, 'plan' | 'command' | 'configurations'>, c: ConfigurationResult): boolean {
  const e = shownEfficiency(r, c);
  return e !== null && aboveLinear(e, efficiencyRange(r, c));
}
