import hdr, { type Histogram } from 'hdr-histogram-js';

/**
 * Whether the tokens kept up with a schedule (--rate): the one rule, judged over the whole schedule.
 *
 * Call k of a schedule is intended to start k intervals after the window opens. Tokens that serve the rate start
 * the calls about when intended, whatever their service time; tokens that serve less fall further behind with every
 * call, so their starts spread out in proportion. The achieved rate is the pace of the starts: j calls over the time
 * by which j of them had started, plus one interval (on schedule, the target exactly). j leaves out the latest 2 % of
 * the starts, and at least the latest one: a host that pauses on the last starts of a short window moves nothing,
 * while a steady shortfall delays the earlier starts too and shows in full. Calls of the schedule that never started
 * (every session hung, or the tokens too far behind at the deadline) are the latest of all: when they are more than
 * the 2 % left out, the achieved rate is at most the target times the share of the judged calls that started (a
 * session that hangs 0.4 s into a 2 s schedule started a fifth of it), while one or two that a pause of the host kept
 * from starting before the deadline move it by as little as a late start does. The tokens kept up when the achieved
 * rate is at least 98 % of the target.
 *
 * A stall of the host (the process paused, the scheduler late by a large margin) delays every start after it, so it
 * reads as a shortfall of the tokens when it comes near the end of a short window. The run's monitor sees it
 * (src/measure/host-stall-monitor.ts), and so does a session that was free for its call (not late) and woke for it
 * long after its intended start. When the tokens kept up once the longest stall is taken out of the time (and the
 * calls it kept from starting before the deadline out of those not started), the miss is the host's: not judged.
 *
 * A schedule too short to show falling behind is not judged either: under MIN_SCHEDULE_CALLS calls or MIN_SCHEDULE_S,
 * the 2 % of its time that the rule allows is shorter than a busy scheduler's slice (30 calls at 1,000/s allow 0.6 ms;
 * one preemption of a few ms reads as "achieved 893.5/s of 1000/s"), so a shortfall in it is the host's as likely as
 * the tokens'. At 100 calls over 1 s or more the allowance is 20 ms or more, past a scheduler's slice.
 *
 * Late calls (no session free at the intended start) do not decide it: near capacity a stable queue makes many
 * calls wait a little while the tokens keep pace; that wait is in the response time, which the objectives judge.
 */
export const KEPT_UP_SHARE = 0.98;

/** Start offsets of a schedule's calls, µs since the window opened: up to 51 days, 3 significant digits. */
export const startOffsetHistogram = (): Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 2 ** 42, numberOfSignificantValueDigits: 3, bitBucketSize: 64 });

/** How many of `started` calls the pace is judged on: all but the latest 2 % of starts, and at least the latest one. */
export const judgedStarts = (started: number): number => (started <= 1 ? started : started - Math.max(1, Math.floor((1 - KEPT_UP_SHARE) * started)));

/** The fewest calls, and the shortest schedule (s), on which falling behind is judged. */
export const MIN_SCHEDULE_CALLS = 100;
export const MIN_SCHEDULE_S = 1;

/** Whether a schedule of `calls` at `targetRatePerS` is too short to show its tokens falling behind. */
export const scheduleTooShort = (calls: number, targetRatePerS: number): boolean => calls < MIN_SCHEDULE_CALLS || calls / targetRatePerS < MIN_SCHEDULE_S;

/** The shortest schedule (s) at `targetRatePerS` that judges falling behind: MIN_SCHEDULE_S, and MIN_SCHEDULE_CALLS of calls. */
export const scheduleToJudgeS = (targetRatePerS: number): number => Math.ceil(Math.max(MIN_SCHEDULE_S, MIN_SCHEDULE_CALLS / targetRatePerS));

/** A free session that woke this late for its call was kept from it by the host, not by the tokens. */
export const HOST_STALL_MIN_US = 100_000;

/**
 * Calls per second at which a schedule's calls were started (0 when none was); `notStarted` of them never started.
 * `hostStallUs`: a stall of the host to take out (the calls it kept from starting before the deadline too).
 */
export function achievedRatePerS(startsUs: Histogram, targetRatePerS: number, notStarted = 0, hostStallUs = 0): number {
  const started = startsUs.totalCount;
  const pace = paceOfStarts(startsUs, targetRatePerS, hostStallUs);
  const missed = Math.max(0, notStarted - Math.floor((hostStallUs / 1e6) * targetRatePerS));
  const judgedOfAll = judgedStarts(started + missed);
  return judgedOfAll > started ? Math.min(pace, (started / judgedOfAll) * targetRatePerS) : pace;
}

/** The pace of the calls that started: the judged ones over the time by which they had started, plus one interval. */
function paceOfStarts(startsUs: Histogram, targetRatePerS: number, hostStallUs: number): number {
  const started = startsUs.totalCount;
  if (started === 0) return 0;
  const judged = judgedStarts(started);
  // HDR gives the top of the value's bucket (3 significant digits), never above the largest value recorded.
  const lastJudgedStartUs = Math.min(startsUs.getValueAtPercentile((100 * judged) / started), startsUs.maxValue);
  return judged / (Math.max(0, lastJudgedStartUs - hostStallUs) / 1e6 + 1 / targetRatePerS);
}

/**
 * Whether the tokens kept up, fell behind, or missed the schedule only by a stall of the host (`hostStallUs`, the
 * longest time a free session was kept from its intended start), or on a schedule too short to show falling behind
 * (`tooShort`): then the schedule does not say.
 */
export function keepingUp(
  startsUs: Histogram,
  targetRatePerS: number,
  notStarted: number,
  hostStallUs: number,
): { achievedRatePerS: number; keptUp: boolean; hostStalled: boolean; tooShort: boolean } {
  const achieved = achievedRatePerS(startsUs, targetRatePerS, notStarted);
  const kept = keptUp(achieved, targetRatePerS);
  const stalled = !kept && hostStallUs >= HOST_STALL_MIN_US && keptUp(achievedRatePerS(startsUs, targetRatePerS, notStarted, hostStallUs), targetRatePerS);
  const tooShort = !kept && !stalled && scheduleTooShort(startsUs.totalCount + notStarted, targetRatePerS);
  return { achievedRatePerS: achieved, keptUp: kept, hostStalled: stalled, tooShort };
}

export const keptUp = (achievedRatePerS: number, targetRatePerS: number): boolean => achievedRatePerS >= KEPT_UP_SHARE * targetRatePerS;
