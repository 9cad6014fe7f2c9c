/**
 * A range as shown, each end by `shownAs` (one decimal by default): one number where both ends show alike, as a
 * range of one value ("823–823") reads as two values that differ.
 */
export function rangeText(low: number, high: number, shownAs: (value: number) => string = (v) => v.toFixed(1)): string {
  const [from, to] = [shownAs(low), shownAs(high)];
  return from === to ? from : `${from}–${to}`;
}
