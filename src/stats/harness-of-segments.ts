import type { CpuUse } from '../model/run-result.js';
import type { Measured } from './summarize.js';

/**
 * What the harness saw of itself during a window: the host's stalls (µs on the run's time axis) and the longest of
 * them, the main thread's longest event-loop wait, how long verification went on after the window, the CPUs' use. A
 * resumed burn-in measures them anew in each segment, so its checkpoint keeps those of the segments before.
 */
export type HarnessFacts = Pick<Measured, 'hostStalls' | 'hostStallUs' | 'maxEventLoopStallMs' | 'verificationLagS' | 'cpu' | 'harnessNotKnown' | 'harnessUntilUs'>;

/** Host stalls kept over a run's segments, the longest: the monitor keeps 256 a segment, and a host stalling so often is stalled throughout. */
export const HOST_STALLS_KEPT = 1024;

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Two windows' CPU use as one: times add up, the shares are weighted by the host's CPU time, the load is the later one's. */
function cpuOfBoth(a: CpuUse, b: CpuUse): CpuUse {
  const hostCpuS = a.hostCpuS + b.hostCpuS;
  const share = (x: number, y: number) => (hostCpuS > 0 ? round((x * a.hostCpuS + y * b.hostCpuS) / hostCpuS, 1) : 0);
  return {
    processUserS: round(a.processUserS + b.processUserS, 3),
    processSystemS: round(a.processSystemS + b.processSystemS, 3),
    hostCpuS: round(hostCpuS, 3),
    hostUserPct: share(a.hostUserPct, b.hostUserPct),
    hostSystemPct: share(a.hostSystemPct, b.hostSystemPct),
    loadAverage1m: b.loadAverage1m,
  };
}

/**
 * The facts of the segments before (`earlier`, from the checkpoint) and of the one now (`current`), as the run's.
 * The current segment's time axis goes on from `startOffsetUs`, where the records of the earlier ones end: an earlier
 * stall past it (noted by a segment that died after its last records reached the disk) is cut there. A segment killed
 * saved its facts at its last checkpoint while its records reached the disk later: the stretch between is not known.
 */
export function harnessOfSegments(earlierOrNone: HarnessFacts | undefined, current: HarnessFacts, startOffsetUs: number): HarnessFacts {
  const earlier = earlierOrNone ?? {};
  // What an earlier segment noted past the end of its records is cut there.
  const cut = (holes: HarnessFacts['hostStalls']) => (holes ?? []).filter((h) => h.startUs < startOffsetUs).map((h) => ({ startUs: h.startUs, endUs: Math.min(h.endUs, startOffsetUs) }));
  const before = cut(earlier.hostStalls);
  const hostStalls =
    earlier.hostStalls === undefined && current.hostStalls === undefined
      ? undefined
      : [...before, ...(current.hostStalls ?? [])]
          .sort((x, y) => y.endUs - y.startUs - (x.endUs - x.startUs))
          .slice(0, HOST_STALLS_KEPT)
          .sort((x, y) => x.startUs - y.startUs);
  const earlierLongestUs = earlier.hostStalls === undefined ? (earlier.hostStallUs ?? 0) : before.reduce((longest, h) => Math.max(longest, h.endUs - h.startUs), 0);
  const longestUs = Math.max(earlierLongestUs, current.hostStallUs ?? 0);
  // The longest of any segment: what could have bent a number of the run.
  const longest = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
  const eventLoopMs = longest(earlier.maxEventLoopStallMs, current.maxEventLoopStallMs);
  const lagS = longest(earlier.verificationLagS, current.verificationLagS);
  const lost = earlier.harnessUntilUs !== undefined && earlier.harnessUntilUs < startOffsetUs ? [{ startUs: earlier.harnessUntilUs, endUs: startOffsetUs }] : [];
  const notKnown = [...cut(earlier.harnessNotKnown), ...lost, ...(current.harnessNotKnown ?? [])];
  const cpu = earlier.cpu && current.cpu ? cpuOfBoth(earlier.cpu, current.cpu) : (current.cpu ?? earlier.cpu);
  return {
    ...(hostStalls ? { hostStalls } : {}),
    ...(longestUs > 0 ? { hostStallUs: longestUs } : {}),
    ...(eventLoopMs === undefined ? {} : { maxEventLoopStallMs: eventLoopMs }),
    ...(lagS === undefined ? {} : { verificationLagS: lagS }),
    ...(cpu ? { cpu } : {}),
    ...(notKnown.length > 0 ? { harnessNotKnown: notKnown } : {}),
    harnessUntilUs: current.harnessUntilUs ?? startOffsetUs,
  };
}
