/**
 * A time in ms as people read it: scaled to µs, ms or s, to 3 significant digits ("40.0 µs", "1.72 ms", "2.12 s"),
 * never `0.04` with its unit in a header. '–' where there is none.
 */
export function latencyText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms === 0) return '0 µs';
  const [value, unit] = ms < 1 ? [ms * 1000, 'µs'] : ms < 1000 ? [ms, 'ms'] : [ms / 1000, 's'];
  // Rounding can carry into the next unit (999.6 µs is 1.00 ms): the unit follows the rounded value.
  const rounded = Number(value.toPrecision(3));
  if (rounded >= 1000 && unit !== 's') return latencyText(unit === 'µs' ? rounded / 1000 : rounded);
  return `${rounded >= 1000 ? String(Math.round(rounded)) : rounded.toPrecision(3)} ${unit}`;
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
