/** Records hold whole µs: a time read from them (a percentile, a max) has no digit below 1 µs. */
export const RECORD_RESOLUTION_MS = 0.001;
/** A mean of whole-µs records carries one digit more than they do, and no more. */
export const MEAN_RESOLUTION_MS = RECORD_RESOLUTION_MS / 10;

/**
 * A time in ms as people read it: scaled to µs, ms or s, to 3 significant digits ("40.4 µs", "1.72 ms", "2.12 s"),
 * never `0.04` with its unit in a header. With `resolutionMs`, no digit finer than it: a percentile of whole-µs
 * records is "40 µs", not "40.0 µs". '–' where there is none.
 */
export function latencyText(ms: number | null | undefined, resolutionMs?: number): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms === 0) return '0 µs';
  const [value, unit, unitMs] = ms < 1 ? [ms * 1000, 'µs', 0.001] : ms < 1000 ? [ms, 'ms', 1] : [ms / 1000, 's', 1000];
  // Rounding can carry into the next unit (999.6 µs is 1.00 ms): the unit follows the rounded value.
  const rounded = Number(value.toPrecision(3));
  if (rounded >= 1000 && unit !== 's') return latencyText(unit === 'µs' ? rounded / 1000 : rounded, resolutionMs);
  const text = rounded >= 1000 ? String(Math.round(rounded)) : rounded.toPrecision(3);
  const decimals = resolutionMs === undefined ? Infinity : Math.max(0, Math.round(Math.log10(unitMs / resolutionMs)));
  return `${(text.split('.')[1]?.length ?? 0) > decimals ? rounded.toFixed(decimals) : text} ${unit}`;
}

/**
 * Whether a sample of `calls` tells percentile `p` (0–100) apart from its maximum: at least one call lies beyond
 * it. A p99.99 of 125 calls is the slowest call under another name.
 */
export const percentileSupported = (p: number, calls: number) => calls * (1 - p / 100) >= 1 - 1e-9;

/** A range of times with its unit once where both ends share it ("12.4–19.7 ms", else "800 µs–1.20 ms"). */
export function latencyRangeText(minMs: number, maxMs: number): string {
  const [low, high] = [latencyText(minMs), latencyText(maxMs)];
  const unit = (text: string) => text.split(' ')[1];
  return unit(low) === unit(high) ? `${low.split(' ')[0]}–${high}` : `${low}–${high}`;
}
