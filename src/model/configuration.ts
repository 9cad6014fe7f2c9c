import { plural } from '../core/plural.js';
import type { ConfigurationResult } from './run-result.js';

/**
 * A configuration is not its token count alone: a sweep runs the same tokens with several sessions per token and at
 * several target rates. These name it, for matching (baselines, comparisons, thresholds), for people and for files.
 */
export type ConfigurationAxes = Pick<ConfigurationResult, 'tokens' | 'threadsPerToken'> & { openLoop?: { targetRatePerS: number } };

export const targetRateOf = (c: ConfigurationAxes): number | null => c.openLoop?.targetRatePerS ?? null;

/** A configuration's axes from its parts (a null rate: flat out). */
export const configurationAxes = (tokens: number, threadsPerToken: number, targetRatePerS: number | null): ConfigurationAxes => ({
  tokens,
  threadsPerToken,
  ...(targetRatePerS === null ? {} : { openLoop: { targetRatePerS } }),
});

/** Only the axes of a configuration (a result carries much more). */
export const axesOf = (c: ConfigurationAxes) => configurationAxes(c.tokens, c.threadsPerToken, targetRateOf(c));

/** The same configuration in two runs: tokens, sessions per token and target rate alike. */
export const sameConfiguration = (a: ConfigurationAxes, b: ConfigurationAxes) => a.tokens === b.tokens && a.threadsPerToken === b.threadsPerToken && targetRateOf(a) === targetRateOf(b);

/** A key for maps of configurations. */
export const configurationKey = (c: ConfigurationAxes) => `${c.tokens}x${c.threadsPerToken}@${targetRateOf(c) ?? 'max'}`;

const rateText = (r: number) => (Number.isInteger(r) ? String(r) : String(Number(r.toFixed(3))));

/** "2 tokens", "2 tokens × 4 sessions", "2 tokens at 400/s": one session and flat out go without saying. */
export function configurationName(c: ConfigurationAxes): string {
  const rate = targetRateOf(c);
  return `${plural(c.tokens, 'token')}${c.threadsPerToken > 1 ? ` × ${c.threadsPerToken} sessions` : ''}${rate === null ? '' : ` at ${rateText(rate)}/s`}`;
}

/** For file and test names: tokens-2, tokens-2-sessions-4, tokens-2-rate-400. */
export function configurationSlug(c: ConfigurationAxes): string {
  const rate = targetRateOf(c);
  return `tokens-${c.tokens}${c.threadsPerToken > 1 ? `-sessions-${c.threadsPerToken}` : ''}${rate === null ? '' : `-rate-${rateText(rate)}`}`;
}

/**
 * Where one measurement of a configuration keeps its calls in the run directory: its records, and the calls spilled
 * while verification fell behind (`repetition` counts from 1, of `repeat`). `report` finds them again by these names.
 * `configurationName` is what the records' configuration column holds: the records of a run's files put together still say
 * which configuration and repetition made each call.
 */
export function configurationFiles(c: ConfigurationAxes, repetition: number, repeat: number): { configurationName: string; recordsFile: string; spillFile: string } {
  const name = `${configurationSlug(c)}${repeat > 1 ? `-rep-${repetition}` : ''}`;
  return { configurationName: name, recordsFile: `records/${name}.rec`, spillFile: `unverified-${name}.bin` };
}

/** Each configuration once, in plan order: by token count, then sessions per token, then rate (flat out last). */
export function distinctConfigurations(all: readonly ConfigurationAxes[]): ConfigurationAxes[] {
  const byKey = new Map(all.map((c) => [configurationKey(c), axesOf(c)]));
  const rank = (c: ConfigurationAxes) => targetRateOf(c) ?? Number.POSITIVE_INFINITY;
  return [...byKey.values()].sort((a, b) => a.tokens - b.tokens || a.threadsPerToken - b.threadsPerToken || rank(a) - rank(b));
}
