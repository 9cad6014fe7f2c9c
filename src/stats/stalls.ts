import type { StallEpisode, StallsResult } from '../model/run-result.js';
import type { Hole } from './success-gaps.js';

/** The shortest stall: as long as the host-stall monitor's (a loaded 2-core host keeps a thread waiting tens of ms). */
export const STALL_FLOOR_US = 100_000;
/** A stall is this many times what a success normally takes: the service time, or the schedule's interval per token. */
export const STALL_TYPICAL_MULTIPLE = 10;
/** Stalls kept in run.json, the longest: a run with more stalled throughout, and says how many. */
export const STALLS_KEPT = 20;

/**
 * How long a time without a success must be to be a stall: ten times the median service time (`p50Us`) and ten
 * times the interval between a token's calls at a target rate (`tokenIntervalUs`, 0 flat out), at least 100 ms.
 */
export const stallMinUs = (p50Us: number, tokenIntervalUs: number): number => Math.max(STALL_FLOOR_US, STALL_TYPICAL_MULTIPLE * p50Us, STALL_TYPICAL_MULTIPLE * tokenIntervalUs);

const overlapUs = (a: Hole, b: Hole) => Math.max(0, Math.min(a.endUs, b.endUs) - Math.max(a.startUs, b.startUs));
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The stalls of a configuration: each token's times without a success of at least `minUs` (`holesByToken`), those
 * that overlap taken as one stall with every token in it. `clusterHoles`: the times no token had a success, which
 * tell how long the tokens stalled all at once; `hostStalls`: the host's own stalls (hsm-bench's threads kept from
 * running), which tell a stall the harness may have made; `hostNotKnown`: where those are not known. Times are µs
 * from the window's start.
 */
export function stallsOf(holesByToken: readonly Hole[][], clusterHoles: readonly Hole[], minUs: number, hostStalls: readonly Hole[] | undefined, hostNotKnown: readonly Hole[] = []): StallsResult {
  const long = holesByToken.flatMap((holes, token) => holes.filter((h) => h.endUs - h.startUs >= minUs).map((h) => ({ ...h, token }))).sort((a, b) => a.startUs - b.startUs);
  const groups: { span: Hole; tokens: Set<number> }[] = [];
  for (const h of long) {
    const last = groups[groups.length - 1];
    if (last && h.startUs < last.span.endUs) {
      last.span.endUs = Math.max(last.span.endUs, h.endUs);
      last.tokens.add(h.token);
    } else groups.push({ span: { startUs: h.startUs, endUs: h.endUs }, tokens: new Set([h.token]) });
  }
  const episodes: StallEpisode[] = groups.map(({ span, tokens }) => {
    const together = clusterHoles.reduce((longest, h) => Math.max(longest, overlapUs(h, span)), 0);
    const notKnownUs = hostNotKnown.reduce((sum, h) => sum + overlapUs(h, span), 0);
    return {
      atS: round(span.startUs / 1e6, 3),
      durationS: round((span.endUs - span.startUs) / 1e6, 3),
      tokens: [...tokens].sort((a, b) => a - b),
      allTokensS: holesByToken.length > 1 && tokens.size === holesByToken.length && together >= minUs ? round(together / 1e6, 3) : null,
      hostStallS: round((hostStalls ?? []).reduce((sum, h) => sum + overlapUs(h, span), 0) / 1e6, 3),
      ...(notKnownUs > 0 ? { hostStallNotKnownS: round(notKnownUs / 1e6, 3) } : {}),
    };
  });
  const kept = [...episodes].sort((a, b) => b.durationS - a.durationS || a.atS - b.atS).slice(0, STALLS_KEPT);
  return {
    minMs: round(minUs / 1000, 1),
    clusterLongestGapMs: round(clusterHoles.reduce((longest, h) => Math.max(longest, h.endUs - h.startUs), 0) / 1000, 3),
    count: episodes.length,
    episodes: kept.sort((a, b) => a.atS - b.atS),
    ...(hostStalls === undefined
      ? {}
      : {
          host: {
            count: hostStalls.length,
            longestMs: round(hostStalls.reduce((longest, h) => Math.max(longest, h.endUs - h.startUs), 0) / 1000, 1),
            totalMs: round(hostStalls.reduce((sum, h) => sum + h.endUs - h.startUs, 0) / 1000, 1),
          },
        }),
  };
}
