import { latencyText } from '../core/latency-text.js';
import type { StartAtResult } from '../model/run-result.js';

/** A --start-at in words: the moment given and the one it named, when the first window really opened, and the clock's state as the OS said it. */
export function startAtText(s: StartAtResult): string {
  const opened = s.firstWindowAt === null ? 'no window opened' : `the first window opened at ${s.firstWindowAt} (${((Date.parse(s.firstWindowAt) - Date.parse(s.at)) / 1000).toFixed(3)} s after it)`;
  const error = s.clock.maxErrorUs === undefined ? '' : `, the kernel's maximum error ${latencyText(s.clock.maxErrorUs / 1000)} (estimated ${latencyText((s.clock.estErrorUs ?? 0) / 1000)})`;
  return `given ${s.given}, for ${s.at}; ${opened}; clock synchronized: ${s.clock.synchronized} (${s.clock.source}${error})`;
}
