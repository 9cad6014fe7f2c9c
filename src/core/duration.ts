import { usageError } from './errors.js';
import { quote } from './quote.js';

const NS_PER_UNIT: Record<string, bigint> = { ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };
const NS_PER_MS = 1_000_000n;
/** Longer than any burn-in should be, short enough that every duration is a safe integer of nanoseconds' milliseconds. */
const MAX_DURATION_NS = 31n * 24n * NS_PER_UNIT.h!;

/**
 * A duration such as 30s, 1.1h or 250ms, parsed exactly into integer nanoseconds (decimal digits, never binary
 * floating point, so 1.1h is 3,960,000,000,000 ns and not a fraction that a BigInt refuses), at least `minMs`.
 */
export function parseDurationNs(value: string, flag = '--duration', minMs = 1, prefix = ''): bigint {
  // `prefix`: what the value was written after, as the + of a start from now: messages quote what was typed.
  const p = prefix;
  const hint = `for example ${flag} ${p}30s, ${p}5m, ${p}1.5h or ${p}250ms (at least ${minMs} ms, at most 31 days)`;
  const match = /^(\d{1,12})(?:\.(\d{1,12}))?(ms|s|m|h)$/.exec(value.trim());
  if (!match) throw usageError(`${flag} must be ${p ? `${p}DURATION, ` : ''}a number with a unit (ms, s, m, h), not ${quote(p + value)}`, hint);
  const [, whole, fraction = '', unit] = match;
  const perUnit = NS_PER_UNIT[unit!]!;
  const scale = 10n ** BigInt(fraction.length);
  const scaled = BigInt(whole!) * scale + BigInt(fraction || '0');
  if ((scaled * perUnit) % scale !== 0n) throw usageError(`${flag} ${quote(p + value)} is finer than a nanosecond`, hint);
  const ns = (scaled * perUnit) / scale;
  if (ns < BigInt(minMs) * NS_PER_MS || ns > MAX_DURATION_NS) throw usageError(`${flag} ${quote(p + value)} is out of range`, hint);
  return ns;
}

/** Milliseconds of a parsed duration, for timers and messages (exact for every duration parseDurationNs accepts). */
export const durationMs = (ns: bigint) => Number(ns / NS_PER_MS) + Number(ns % NS_PER_MS) / 1e6;
