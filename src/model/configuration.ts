import { byteSizeName, byteSizeText } from '../core/byte-size.js';
import { plural } from '../core/plural.js';
import type { ConfigurationResult } from './run-result.js';

/**
 * A configuration is not its token count alone: a sweep runs the same tokens with several sessions per token and at
 * several target rates. These name it, for matching (baselines, comparisons, thresholds), for people and for files.
 */
export type ConfigurationAxes = Pick<ConfigurationResult, 'tokens' | 'threadsPerToken' | 'dataSizeBytes'> & { openLoop?: { targetRatePerS: number } };

export const targetRateOf = (c: ConfigurationAxes): number | null => c.openLoop?.targetRatePerS ?? null;

/** The bytes each call handed the token (--data-size); null: the operation's own message. */
export const dataSizeOf = (c: ConfigurationAxes): number | null => c.dataSizeBytes ?? null;

/** A configuration's data fields in run.json (none without --data-size): MB/s counted as calls/s × bytes (1 MB = 10⁶ bytes). */
export const payloadFields = (
  dataSizeBytes: number | null,
  multipartChunkBytes: number | null,
  throughputPerS: number,
): Pick<ConfigurationResult, 'dataSizeBytes' | 'multipartChunkBytes' | 'mbPerS'> =>
  dataSizeBytes === null ? {} : { dataSizeBytes, multipartChunkBytes, mbPerS: mbRounded((throughputPerS * dataSizeBytes) / 1e6) };

/** MB/s to the thousandth, and below 1 MB/s to 3 significant digits: 32 bytes 10 times a second is 0.00032, not 0. */
const mbRounded = (mbPerS: number) => (mbPerS >= 1 ? Math.round(mbPerS * 1e3) / 1e3 : Number(mbPerS.toPrecision(3)));

/** A configuration's axes from its parts (a null rate: flat out; a null data size: no --data-size). */
export const configurationAxes = (tokens: number, threadsPerToken: number, targetRatePerS: number | null, dataSizeBytes: number | null = null): ConfigurationAxes => ({
  tokens,
  threadsPerToken,
  ...(targetRatePerS === null ? {} : { openLoop: { targetRatePerS } }),
  ...(dataSizeBytes === null ? {} : { dataSizeBytes }),
});

/** Only the axes of a configuration (a result carries much more). */
export const axesOf = (c: ConfigurationAxes) => configurationAxes(c.tokens, c.threadsPerToken, targetRateOf(c), dataSizeOf(c));

/** The same configuration in two runs: tokens, sessions per token, target rate and data size alike. */
export const sameConfiguration = (a: ConfigurationAxes, b: ConfigurationAxes) =>
  a.tokens === b.tokens && a.threadsPerToken === b.threadsPerToken && targetRateOf(a) === targetRateOf(b) && dataSizeOf(a) === dataSizeOf(b);

/** A key for maps of configurations. */
export const configurationKey = (c: ConfigurationAxes) => `${c.tokens}x${c.threadsPerToken}@${targetRateOf(c) ?? 'max'}${dataSizeOf(c) === null ? '' : `/${dataSizeOf(c)}B`}`;

const rateText = (r: number) => (Number.isInteger(r) ? String(r) : String(Number(r.toFixed(3))));

/** "2 tokens", "2 tokens × 4 sessions", "2 tokens at 400/s", "2 tokens, 64 KiB": one session, flat out and no data size go without saying. */
export function configurationName(c: ConfigurationAxes): string {
  const rate = targetRateOf(c);
  const size = dataSizeOf(c);
  return `${plural(c.tokens, 'token')}${c.threadsPerToken > 1 ? ` × ${c.threadsPerToken} sessions` : ''}${rate === null ? '' : ` at ${rateText(rate)}/s`}${size === null ? '' : `, ${byteSizeName(size)}`}`;
}

/** For file and test names: tokens-2, tokens-2-sessions-4, tokens-2-rate-400, tokens-2-data-64k. */
export function configurationSlug(c: ConfigurationAxes): string {
  const rate = targetRateOf(c);
  const size = dataSizeOf(c);
  return `tokens-${c.tokens}${c.threadsPerToken > 1 ? `-sessions-${c.threadsPerToken}` : ''}${rate === null ? '' : `-rate-${rateText(rate)}`}${size === null ? '' : `-data-${byteSizeText(size)}`}`;
}

/** How a run makes each call, where not pooled and in one call (--session-per-call, --find-key-per-call, --multipart). */
export interface CallPattern {
  perCall?: { session: boolean; findKey: boolean };
  multipartChunkBytes?: number | null;
}

/**
 * For names that must tell runs apart (JUnit cases): -session-per-call, -find-key-per-call, -multipart-4k; empty for
 * pooled calls made whole. Two runs that differ only there measure different things and keep different histories.
 */
export function callPatternSlug(p: CallPattern): string {
  const chunk = p.multipartChunkBytes ?? null;
  return `${p.perCall?.session ? '-session-per-call' : ''}${p.perCall?.findKey ? '-find-key-per-call' : ''}${chunk === null ? '' : `-multipart-${byteSizeText(chunk)}`}`;
}

/** For the name of what is judged of a run as a whole: run, or run-data-1k-64k with --data-size. */
export const runSlug = (dataSizesBytes: readonly number[] | null | undefined): string => `run${dataSizesBytes ? `-data-${dataSizesBytes.map(byteSizeText).join('-')}` : ''}`;

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

/** Each configuration once, in plan order: by token count, then sessions per token, then rate (flat out last), then data size. */
export function distinctConfigurations(all: readonly ConfigurationAxes[]): ConfigurationAxes[] {
  const byKey = new Map(all.map((c) => [configurationKey(c), axesOf(c)]));
  const rank = (c: ConfigurationAxes) => targetRateOf(c) ?? Number.POSITIVE_INFINITY;
  return [...byKey.values()].sort((a, b) => a.tokens - b.tokens || a.threadsPerToken - b.threadsPerToken || rank(a) - rank(b) || (dataSizeOf(a) ?? 0) - (dataSizeOf(b) ?? 0));
}
