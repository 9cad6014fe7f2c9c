import { join } from 'node:path';
import { usageError } from '../core/errors.js';
import { shown } from '../core/quote.js';
import { configurationAxes, configurationFiles, configurationName, configurationSlug, dataSizeOf, payloadFields } from '../model/configuration.js';
import type { ConfigurationResult, LatencyPercentilesMs, OpenLoopResult, RunResult, RunSource, SourceConfiguration } from '../model/run-result.js';
import { workloadOf } from '../model/workload.js';
import { achievedIntervalUs, correctedPercentilesMs, decodeHistogram, encodeHistogram, latencyHistogram, percentilesMs } from '../stats/latency-histogram.js';
import { lowConfidence } from '../stats/repetitions.js';
import { percentilesByInterval, runFigures } from '../stats/summarize.js';
import { readRecords, RecordsFileWriter } from '../result/records-file.js';
import { rateEstablishedOver, rateNotEstablished } from '../verdict/common-window-rate.js';
import { samePlan } from '../verdict/compare.js';
import { callsInWindow, type CallsInWindow, type PartInWindow } from './common-window.js';

/** A run to merge: its directory as given, and its run.json. */
export interface MergeSource {
  dir: string;
  result: RunResult;
}

/** A configuration of the merged run, with where each source's calls sit on its time axis (µs after the earliest window's start). */
interface MergedConfiguration {
  result: ConfigurationResult;
  /** Per source: its configuration's records file, and the µs its window opened after the earliest one. */
  parts: { dir: string; recordsFile: string; shiftUs: number; firstToken: number }[];
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** What one run of a merge must be: whole, of one repetition, and made by a version that keeps windows and histograms. */
function checkSource(s: MergeSource): void {
  const r = s.result;
  const name = shown(s.dir);
  if (r.interrupted) throw usageError(`${name} is a partial run (interrupted or killed): a merge adds up whole runs`, 'merge runs that ran their plan to the end');
  if ((r.plan.repeat ?? 1) > 1) throw usageError(`${name} repeats its configurations (--repeat): merge adds up runs of one repetition`, 'run each host with --repeat 1');
  if (r.operation?.mix) throw usageError(`${name} is a mix (--mix): merge adds up runs of one operation, so far`, 'merge runs of one --op');
  if ((r.burnIn?.segments.length ?? 1) > 1) throw usageError(`${name} is a burn-in that was resumed: its window is not one stretch of time`, 'merge burn-ins that ran in one go');
  // A restart or lost records would be dropped from the merged run without a word: refused instead.
  if ((r.burnIn?.restarts?.length ?? 0) > 0)
    throw usageError(
      `${name} is a burn-in whose process was restarted ${r.burnIn!.restarts!.length} time(s): its window is not one stretch of time`,
      'merge burn-ins that ran in one go; report each restarted one on its own',
    );
  if ((r.burnIn?.lostRecords?.length ?? 0) > 0)
    throw usageError(`${name} is a burn-in resumed without some of its records (--accept-lost-records): its calls cannot be counted in the common window`, 'report it on its own');
  if (r.burnIn?.endedEarly)
    throw usageError(
      `${name} is a burn-in that ended before its stop rule (its tokens were lost, refused the PIN or hung)`,
      'merge burn-ins that ran their plan to the end; report this one on its own',
    );
  if (r.sources) throw usageError(`${name} is a merged run already`, 'merge the runs of each host it was made of');
  for (const c of r.configurations) {
    const histogramMissing = (c.operationsOk > 0 && c.latencyHistogram === undefined) || (c.openLoop !== undefined && c.openLoop.responseMs !== null && c.openLoop.responseHistogram === undefined);
    if (c.windowStartedAt === undefined || histogramMissing) {
      throw usageError(`${name} was made by an hsm-bench that did not keep each window's start and latency histogram in run.json`, 'merge runs made by this version');
    }
    // A damaged field would drop the host's calls from the percentiles, or its window from the time axis, unseen.
    if (!Number.isFinite(Date.parse(c.windowStartedAt)))
      throw usageError(`${name}: ${configurationName(c)}'s windowStartedAt ${shown(c.windowStartedAt)} is not a time`, 'merge the run.json files as hsm-bench wrote them');
    for (const [what, encoded] of [
      ['latency', c.latencyHistogram],
      ['response', c.openLoop?.responseHistogram],
    ] as const) {
      if (encoded !== undefined && decodeHistogram(encoded) === undefined)
        throw usageError(`${name}: ${configurationName(c)}'s ${what} histogram cannot be read`, 'merge the run.json files as hsm-bench wrote them');
    }
  }
}

/**
 * The same run given twice (or a copy of it) would count its calls twice. Hosts started together share run ids and
 * window starts, and may share tokens (the partitions of one network HSM): a run is named by what it measured, each
 * configuration's counts and latency histogram, which two runs never share.
 */
function checkDistinct(sources: readonly MergeSource[]): void {
  const seen = new Map<string, string>();
  for (const s of sources) {
    const key = JSON.stringify(s.result.configurations.map((c) => [c.operationsOk, c.operationsFailed, c.latencyHistogram ?? null]));
    const earlier = seen.get(key);
    if (earlier !== undefined)
      throw usageError(`${shown(s.dir)} is the run ${shown(earlier)} again (host ${shown(s.result.host.hostname)}, run ${s.result.runId}): its calls would count twice`, 'give each host’s run once');
    seen.set(key, s.dir);
  }
}

/**
 * merge --same-tokens: every host drove the same tokens (the partitions of one network HSM). Refused where a host's
 * tokens are others, told by their serial and label: the token axis would count tokens that are not there.
 */
function checkSameTokens(sources: readonly MergeSource[]): void {
  const f = sources[0]!;
  for (const s of sources.slice(1))
    s.result.tokens.forEach((t, i) => {
      const o = f.result.tokens[i]!;
      if (t.serial !== o.serial || t.label !== o.label)
        throw usageError(
          `--same-tokens: token ${i} of ${shown(s.dir)} is ${shown(t.label)} (serial ${t.serial}), of ${shown(f.dir)} ${shown(o.label)} (serial ${o.serial}): not the same tokens`,
          'merge without --same-tokens: each host’s tokens are then counted apart',
        );
    });
}

/** Refused unless every run measured the same workload with the same plan on as many tokens. */
function checkSamePlan(sources: readonly MergeSource[]): void {
  const [first, ...others] = sources;
  const f = first!.result;
  for (const s of others) {
    const r = s.result;
    const differs = (what: string, a: string, b: string) =>
      usageError(`${shown(s.dir)} ran another plan than ${shown(first!.dir)}: ${what} ${a} and ${b}`, 'merge runs of one plan: the same command with the same flags on every host');
    if (r.command !== f.command) throw differs('the command', f.command, r.command);
    if (workloadOf(r) !== workloadOf(f)) throw differs('the workload', workloadOf(f), workloadOf(r));
    if (r.mechanism.name !== f.mechanism.name) throw differs('the mechanism', f.mechanism.name, r.mechanism.name);
    if (!samePlan(r.plan, f.plan) || r.plan.verify.mode !== f.plan.verify.mode) throw differs('the plan', JSON.stringify(f.plan), JSON.stringify(r.plan));
    if (r.tokens.length !== f.tokens.length) throw differs('the token count', String(f.tokens.length), String(r.tokens.length));
  }
}

/**
 * Successful calls of a window's per-second counts that ended within [fromS, toS) of it; a second cut by the bounds
 * counts in proportion to the part of it inside them (the window's last second lasts only to `windowS`).
 */
function okWithin(ok: readonly number[], windowS: number, fromS: number, toS: number): number {
  return ok.reduce((sum, n, second) => {
    const spanS = Math.min(second + 1, windowS) - second;
    return spanS <= 0 ? sum : sum + (n * Math.max(0, Math.min(second + 1, toS, windowS) - Math.max(second, fromS))) / spanS;
  }, 0);
}

/**
 * Percentiles of sources merged: from their histograms added up (as a run's own are), the max and mean exact from
 * the sources' own figures (the encoding keeps each value's bucket, not the value).
 */
function mergedPercentiles(parts: readonly { encoded: string | undefined; ms: LatencyPercentilesMs | null | undefined }[], withP999 = false) {
  const histogram = latencyHistogram();
  const counts = parts.map((p) => {
    const h = p.encoded === undefined ? undefined : decodeHistogram(p.encoded);
    if (h) histogram.add(h);
    return h?.totalCount ?? 0;
  });
  const fromHistogram = percentilesMs(histogram, withP999);
  const measured = parts.map((p, i) => ({ ms: p.ms, count: counts[i]! })).filter((x): x is { ms: LatencyPercentilesMs; count: number } => x.ms !== null && x.ms !== undefined && x.count > 0);
  if (fromHistogram === null || measured.length === 0) return { ms: fromHistogram, histogram };
  const maxMs = Math.max(...measured.map((x) => x.ms.max));
  const meanMs = measured.reduce((sum, x) => sum + x.ms.mean * x.count, 0) / measured.reduce((sum, x) => sum + x.count, 0);
  const atMost = (v: number) => Math.min(v, maxMs);
  return {
    ms: {
      p50: atMost(fromHistogram.p50),
      p90: atMost(fromHistogram.p90),
      p99: atMost(fromHistogram.p99),
      ...(fromHistogram.p999 === undefined ? {} : { p999: atMost(fromHistogram.p999) }),
      max: maxMs,
      mean: round(meanMs, 4),
    },
    histogram,
  };
}

const FIGURES = ['p50', 'p90', 'p99', 'p999', 'max', 'mean'] as const;

/**
 * At a target rate: the hosts' schedules side by side are one schedule at the sum of their rates. Its response
 * times are every host's calls (those never started at the wait they had reached, as each host counted them); it
 * kept up where every host did.
 */
function mergedOpenLoop(parts: readonly ConfigurationResult[]): OpenLoopResult {
  const loops = parts.map((c) => c.openLoop!);
  const sum = (pick: (o: OpenLoopResult) => number) => loops.reduce((total, o) => total + pick(o), 0);
  const keptUp = loops.every((o) => o.keptUp);
  const stalls = loops.map((o) => o.hostStallMs).filter((v): v is number => v !== undefined);
  const response = mergedPercentiles(
    loops.map((o) => ({ encoded: o.responseHistogram, ms: o.responseMs })),
    true,
  );
  const lag = mergedPercentiles(loops.map((o) => ({ encoded: o.late.lagHistogram, ms: o.late.lagMs })));
  const atLeast = FIGURES.filter((f) => loops.some((o) => o.responseAtLeast?.includes(f)));
  const made = parts.reduce((total, c) => total + c.operationsOk + c.operationsFailed, 0);
  return {
    targetRatePerS: sum((o) => o.targetRatePerS),
    achievedRatePerS: round(
      sum((o) => o.achievedRatePerS),
      2,
    ),
    keptUp,
    // A stall excuses what it delayed on its own host only: the merged calls are excused as far as the shortest stall
    // of hosts that all stalled (one host's stall must not excuse another host's judged miss).
    ...(stalls.length === loops.length && stalls.length > 0 ? { hostStallMs: Math.min(...stalls) } : {}),
    // Not kept up only where hosts stalled: not judged, as on each host.
    ...(!keptUp && loops.every((o) => o.keptUp || o.hostStalled === true) ? { hostStalled: true as const } : {}),
    responseMs: response.ms,
    ...(atLeast.length > 0 ? { responseAtLeast: atLeast } : {}),
    responseByIntervalMs: {
      p50: loops.flatMap((o) => o.responseByIntervalMs?.p50 ?? []),
      p90: loops.flatMap((o) => o.responseByIntervalMs?.p90 ?? []),
      p99: loops.flatMap((o) => o.responseByIntervalMs?.p99 ?? []),
    },
    notStarted: sum((o) => o.notStarted),
    late: {
      operations: sum((o) => o.late.operations),
      sharePct: made > 0 ? round((100 * sum((o) => o.late.operations)) / made, 2) : 0,
      lagMs: lag.ms,
      ...(lag.histogram.totalCount > 0 ? { lagHistogram: encodeHistogram(lag.histogram) } : {}),
    },
    ...(response.histogram.totalCount > 0 ? { responseHistogram: encodeHistogram(response.histogram) } : {}),
  };
}

/** A configuration's windows: each host's, and the common one (from the latest opening to the earliest end), ms since the epoch. */
function windowsOf(sources: readonly MergeSource[], index: number) {
  const parts = sources.map((s) => s.result.configurations[index]!);
  const startsMs = parts.map((c) => Date.parse(c.windowStartedAt!));
  const endsMs = parts.map((c, i) => startsMs[i]! + c.durationS * 1000);
  const commonStartMs = Math.max(...startsMs);
  const commonEndMs = Math.min(...endsMs);
  if (commonEndMs <= commonStartMs) {
    const windows = parts.map((c, i) => `${sources[i]!.result.host.hostname} ${c.windowStartedAt} for ${c.durationS.toFixed(3)} s`).join('; ');
    throw usageError(
      `the windows of ${configurationName(parts[0]!)} do not overlap (${windows}): the runs did not measure at the same time`,
      'start the runs of every host with the same --start-at (scripts/launch-ssh.sh does), on hosts whose clocks are synchronized',
    );
  }
  return { parts, startsMs, commonStartMs, commonEndMs };
}

/** Every host's calls in the window as one host's. */
const mergedInWindow = (w: CallsInWindow) => ({
  latencyUs: w.latencyUs,
  maxUs: Math.max(0, ...w.parts.map((p) => p.maxUs)),
  sumUs: w.parts.reduce((sum, p) => sum + p.sumUs, 0),
  ok: w.parts.reduce((sum, p) => sum + p.ok, 0),
});

/** A host whose window opened this share of the shortest window after another's cost the common window too much to pass in silence. */
const LATE_SHARE = 0.05;

/** Hosts that opened a configuration's window late against the earliest one (each source's lateness is in run.json). */
function lateOpenings(sources: readonly MergeSource[], w: ReturnType<typeof windowsOf>): string[] {
  const earliestMs = Math.min(...w.startsMs);
  const shortestMs = Math.min(...w.parts.map((c) => c.durationS * 1000));
  return w.startsMs.flatMap((ms, i) =>
    ms - earliestMs > LATE_SHARE * shortestMs
      ? [
          `${sources[i]!.result.host.hostname} (${shown(sources[i]!.dir)}) opened the window of ${configurationName(w.parts[0]!)} ${((ms - earliestMs) / 1000).toFixed(3)} s after the first host: the common window is ${((w.commonEndMs - w.commonStartMs) / 1000).toFixed(3)} s of ${(shortestMs / 1000).toFixed(3)} s`,
        ]
      : [],
  );
}

/**
 * Sources not started at one agreed moment: a start given from now (`+25s`) is counted by each host from its own
 * clock when it starts, so it names a different moment on each; absolute ones may differ too, or be missing.
 */
function startsApart(sources: readonly MergeSource[]): string[] {
  const starts = sources.map((s) => s.result.startAt);
  const relative = starts.some((a) => a?.given.startsWith('+'));
  const moments = new Set(starts.map((a) => a?.at));
  if (!relative && moments.size === 1 && starts[0] !== undefined) return [];
  const each = sources.map((s, i) => `${s.result.host.hostname} (${shown(s.dir)}) ${starts[i] ? `--start-at ${starts[i]!.given}, for ${starts[i]!.at}` : 'without --start-at'}`).join('; ');
  const why = relative ? 'a --start-at from now (+…) is counted by each host from its own clock when it starts, so it names a moment of its own on each' : 'they were not given one moment';
  return [`the hosts did not start at one agreed moment (${each}): ${why}; give every host the same absolute --start-at (scripts/launch-ssh.sh does)`];
}

/** The common window's length to the µs, as run.json says it (durationS) and as its calls are counted. */
const commonWindowUs = (w: { commonStartMs: number; commonEndMs: number }) => Math.round((w.commonEndMs - w.commonStartMs) * 1000);

/** Percentiles of calls counted one by one: the buckets' percentiles, the max and mean exact. */
function exactPercentiles(x: Pick<PartInWindow, 'latencyUs' | 'maxUs' | 'sumUs' | 'ok'>): LatencyPercentilesMs | null {
  const p = percentilesMs(x.latencyUs);
  if (p === null) return null;
  const maxMs = x.maxUs / 1000;
  return { p50: Math.min(p.p50, maxMs), p90: Math.min(p.p90, maxMs), p99: Math.min(p.p99, maxMs), max: maxMs, mean: round(x.sumUs / x.ok / 1000, 4) };
}

/**
 * One configuration of every source, added up: counts of every call exactly; throughput, latency and the per-second
 * series over the common window (the time every host measured in), from the calls that ended in it (`inWindow`,
 * counted from the records; without it, estimated from the per-second counts, the latency that of whole windows).
 */
function mergeConfiguration(
  command: RunResult['command'],
  sources: readonly MergeSource[],
  firstTokens: readonly number[],
  index: number,
  inWindow: CallsInWindow | undefined,
  sameTokens: boolean,
): MergedConfiguration {
  const { parts, startsMs, commonStartMs, commonEndMs } = windowsOf(sources, index);
  const first = parts[0]!;
  const openLoop = first.openLoop ? mergedOpenLoop(parts) : undefined;
  // The same tokens driven from every host: as many tokens as one host's, each with every host's sessions.
  const axes = sameTokens
    ? configurationAxes(first.tokens, first.threadsPerToken * parts.length, openLoop?.targetRatePerS ?? null, dataSizeOf(first))
    : configurationAxes(
        parts.reduce((sum, c) => sum + c.tokens, 0),
        first.threadsPerToken,
        openLoop?.targetRatePerS ?? null,
        dataSizeOf(first),
      );
  const earliestMs = Math.min(...startsMs);
  const commonS = commonWindowUs({ commonStartMs, commonEndMs }) / 1e6;
  const estimatedOk = parts.map((c, i) => okWithin(c.timeSeries.ok, c.durationS, (commonStartMs - startsMs[i]!) / 1000, (commonEndMs - startsMs[i]!) / 1000));
  const estimatedFailed = parts.map((c, i) => okWithin(c.timeSeries.failed, c.durationS, (commonStartMs - startsMs[i]!) / 1000, (commonEndMs - startsMs[i]!) / 1000));
  const okInCommon = inWindow ? inWindow.parts.reduce((sum, p) => sum + p.ok, 0) : Math.round(estimatedOk.reduce((a, b) => a + b, 0));
  const failedInCommon = inWindow ? inWindow.parts.reduce((sum, p) => sum + p.failed, 0) : Math.round(estimatedFailed.reduce((a, b) => a + b, 0));
  const shiftS = startsMs.map((ms) => Math.round((ms - earliestMs) / 1000));
  const series = (pick: (c: ConfigurationResult) => number[]) => {
    const sum: number[] = [];
    parts.forEach((c, i) =>
      pick(c).forEach((n, second) => {
        const at = second + shiftS[i]!;
        while (sum.length <= at) sum.push(0);
        sum[at]! += n;
      }),
    );
    return sum;
  };
  const whole = mergedPercentiles(parts.map((c) => ({ encoded: c.latencyHistogram, ms: c.latencyMs })));
  const histogram = inWindow ? inWindow.latencyUs : whole.histogram;
  const latencyMs = inWindow ? exactPercentiles(mergedInWindow(inWindow)) : whole.ms;
  // Flat out only, as on each host: at a target rate the response time counts the waits.
  // The interval a session's calls were apart, over every host's sessions (as each host assumed its own).
  const sessionUs = inWindow ? commonS * 1e6 * axes.tokens * axes.threadsPerToken : parts.reduce((sum, c) => sum + c.durationS * 1e6 * c.tokens * c.threadsPerToken, 0);
  const calls = inWindow ? okInCommon + failedInCommon : parts.reduce((sum, c) => sum + c.operationsOk + c.operationsFailed, 0);
  const corrected = openLoop ? null : correctedPercentilesMs(histogram, achievedIntervalUs(sessionUs, 1, calls));
  const failuresByCkr: Record<string, number> = {};
  for (const c of parts) for (const [ckr, n] of Object.entries(c.failuresByCkr)) failuresByCkr[ckr] = (failuresByCkr[ckr] ?? 0) + n;
  const offsetToken = <T extends { token: number }>(items: readonly T[] | undefined, i: number): T[] => (items ?? []).map((x) => ({ ...x, token: x.token + firstTokens[i]! }));
  const operationsOk = parts.reduce((sum, c) => sum + c.operationsOk, 0);
  const durationS = round(commonS, 6);
  const recordsFile = command === 'burn-in' ? first.recordsFile : configurationFiles(axes, 1, 1).recordsFile;
  const sum = (pick: (c: ConfigurationResult) => number | undefined) => parts.reduce((total, c) => total + (pick(c) ?? 0), 0);
  const largest = (pick: (c: ConfigurationResult) => number | undefined) => {
    const values = parts.map(pick).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : Math.max(...values);
  };
  const verificationLagS = largest((c) => c.verificationLagS);
  const setupS = largest((c) => c.setupS);
  const maxEventLoopStallMs = largest((c) => c.maxEventLoopStallMs);
  const hungSessions = parts.flatMap((c, i) => offsetToken(c.hungSessions, i));
  const bySource: SourceConfiguration[] = parts.map((c, i) => ({
    source: i,
    operationsOk: c.operationsOk,
    operationsFailed: c.operationsFailed,
    durationS: c.durationS,
    throughputPerS: c.throughputPerS,
    latencyMs: c.latencyMs,
    windowStartedAt: c.windowStartedAt!,
    openedAfterFirstS: round((startsMs[i]! - earliestMs) / 1000, 3),
    inCommonWindow: {
      operationsOk: inWindow ? inWindow.parts[i]!.ok : Math.round(estimatedOk[i]!),
      operationsFailed: inWindow ? inWindow.parts[i]!.failed : Math.round(estimatedFailed[i]!),
      throughputPerS: round((inWindow ? inWindow.parts[i]!.ok : estimatedOk[i]!) / commonS, 2),
      latencyMs: inWindow ? exactPercentiles(inWindow.parts[i]!) : null,
    },
    ...(c.cpu ? { cpu: c.cpu } : {}),
  }));
  const result: ConfigurationResult = {
    tokens: axes.tokens,
    threadsPerToken: axes.threadsPerToken,
    operationsOk,
    operationsFailed: sum((c) => c.operationsFailed),
    operationsVerified: sum((c) => c.operationsVerified),
    failuresByCkr: Object.fromEntries(Object.entries(failuresByCkr).sort(([, a], [, b]) => b - a)),
    durationS,
    // Counted over the window every host measured in: the calls that ended in it, per second of it.
    throughputPerS: round(okInCommon / commonS, 2),
    // Too few calls ended in a window shorter than a single run's to measure a rate of the tokens.
    commonWindow: {
      operationsOk: okInCommon,
      operationsFailed: failedInCommon,
      countedFrom: inWindow ? 'records' : 'per-second counts',
      rateEstablished: rateEstablishedOver(durationS, okInCommon + failedInCommon),
    },
    ...payloadFields(dataSizeOf(axes), first.multipartChunkBytes ?? null, round(okInCommon / commonS, 2)),
    efficiency: null,
    perToken: parts.flatMap((c, i) => offsetToken(c.perToken, i)),
    latencyMs,
    ...(corrected ? { correctedLatencyMs: corrected } : {}),
    // Second by second of the common window (compare's noise reads its whole seconds); without the records, each
    // host's seconds moved to the nearest whole second of the earliest window, and no latency noise.
    timeSeries: inWindow
      ? { intervalS: 1, ok: inWindow.okPerSecond, failed: inWindow.failedPerSecond }
      : { intervalS: 1, ok: series((c) => c.timeSeries.ok), failed: series((c) => c.timeSeries.failed) },
    ...(inWindow ? { latencyByIntervalMs: percentilesByInterval(inWindow.byInterval) } : {}),
    recordsFile,
    ...(verificationLagS === undefined ? {} : { verificationLagS }),
    operationsVerifiedLate: sum((c) => c.operationsVerifiedLate),
    ...(sum((c) => c.operationsUnverified) > 0 ? { operationsUnverified: sum((c) => c.operationsUnverified) } : {}),
    ...(maxEventLoopStallMs === undefined ? {} : { maxEventLoopStallMs }),
    ...(setupS === undefined ? {} : { setupS }),
    windowStartedAt: new Date(commonStartMs).toISOString(),
    ...(histogram.totalCount > 0 ? { latencyHistogram: encodeHistogram(histogram) } : {}),
    bySource,
    workerIssues: parts.flatMap((c, i) => offsetToken(c.workerIssues, i)),
    ...(hungSessions.length > 0 ? { hungSessions } : {}),
    lowConfidence: lowConfidence({ operationsOk, durationS }),
    ...(openLoop ? { openLoop } : {}),
  };
  return {
    result,
    parts: parts.map((c, i) => ({ dir: sources[i]!.dir, recordsFile: c.recordsFile, shiftUs: (startsMs[i]! - earliestMs) * 1000, firstToken: firstTokens[i]! })),
  };
}

/** A merged run: run.json's content, and what its records files are made of. */
export interface MergedRun {
  result: RunResult;
  configurations: MergedConfiguration[];
  /** What the merge could not do as well as it should, for the terminal (run.json records the facts). */
  warnings: string[];
}

/**
 * Several hosts' runs of one plan as one run: the tokens of each in turn, calls and failures added up exactly, the
 * latency histograms merged (HdrHistogram's encoding is lossless at its precision), the throughput over the window
 * every host measured in. Refused when the plans differ or a configuration's windows do not overlap.
 */
export async function mergeRuns(sources: readonly MergeSource[], identity: { runId: string; commandLine: string }, sameTokens = false): Promise<MergedRun> {
  if (sources.length < 2) throw usageError('merge needs the runs of two hosts or more', 'give every host’s run directory');
  sources.forEach(checkSource);
  checkDistinct(sources);
  checkSamePlan(sources);
  if (sameTokens) checkSameTokens(sources);
  const firstTokens = sources.map((_, i) => (sameTokens ? 0 : sources.slice(0, i).reduce((sum, s) => sum + s.result.tokens.length, 0)));
  const f = sources[0]!.result;
  const windows = f.configurations.map((c, index) => {
    sources.forEach((s) => {
      const other = s.result.configurations[index];
      if (other === undefined || other.tokens !== c.tokens || other.threadsPerToken !== c.threadsPerToken || dataSizeOf(other) !== dataSizeOf(c))
        throw usageError(`${shown(s.dir)} did not measure ${configurationName(c)} where ${shown(sources[0]!.dir)} did`, 'merge runs that measured the same configurations');
    });
    // Refused (windows that do not overlap) before any records file is read.
    return windowsOf(sources, index);
  });
  if (sources.some((s) => s.result.configurations.length !== f.configurations.length))
    throw usageError('the runs measured different numbers of configurations', 'merge runs that ran their whole plan');
  const warnings = [...startsApart(sources), ...windows.flatMap((w) => lateOpenings(sources, w))];
  // Records of every call (not --records failures or none) say which calls ended in the common window.
  const allRecorded = sources.every((s) => s.result.plan.records === undefined);
  const configurations: MergedConfiguration[] = [];
  for (const [index, w] of windows.entries()) {
    const parts = w.parts.map((c, i) => ({ dir: sources[i]!.dir, recordsFile: c.recordsFile, offsetUs: (w.startsMs[i]! - w.commonStartMs) * 1000 }));
    const inWindow = allRecorded ? await callsInWindow(parts, commonWindowUs(w)) : undefined;
    if (!inWindow)
      warnings.push(
        `${configurationName(w.parts[0]!)}: ${allRecorded ? 'a records file could not be read whole' : 'the runs kept the records of failures only (--records)'}: the calls in the common window are estimated from each host's per-second counts, and the latency percentiles cover the whole windows`,
      );
    const merged = mergeConfiguration(f.command, sources, firstTokens, index, inWindow, sameTokens);
    const unmeasured = rateNotEstablished(merged.result);
    if (unmeasured)
      warnings.push(
        `${configurationName(merged.result)}: ${unmeasured}: its ${merged.result.throughputPerS}/s is not judged, and gates on it are inconclusive; start every host at one absolute --start-at, on synchronized clocks`,
      );
    configurations.push(merged);
  }
  const hosts = sources.length;
  const plan: RunResult['plan'] = {
    ...f.plan,
    // The same tokens: as many as one host's, each with every host's sessions.
    ...(sameTokens ? { threadsPerToken: f.plan.threadsPerToken.map((n) => n * hosts) } : { tokenCounts: f.plan.tokenCounts.map((n) => n * hosts) }),
    totalOperations: f.plan.totalOperations === null ? null : f.plan.totalOperations * hosts,
    // A rate per configuration is each host's: the hosts together offer their sum; a rate per token too where every
    // host drove the same tokens (else each token is one host's, at its rate).
    ...(f.plan.targetRate && (f.plan.targetRate.per === 'configuration' || sameTokens) ? { targetRate: { ...f.plan.targetRate, perS: f.plan.targetRate.perS.map((r) => r * hosts) } } : {}),
  };
  const runSources: RunSource[] = sources.map((s, i) => ({
    runId: s.result.runId,
    hostname: s.result.host.hostname,
    dir: s.dir,
    firstToken: firstTokens[i]!,
    tokenCount: s.result.tokens.length,
    ...(s.result.startAt ? { startAt: s.result.startAt } : {}),
  }));
  const earliest = (dates: string[]) => dates.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b));
  const latest = (dates: string[]) => dates.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b));
  const { verdict: _verdict, burnIn, startAt: _startAt, ...common } = f;
  const result: RunResult = {
    ...common,
    runId: identity.runId,
    commandLine: identity.commandLine,
    startedAt: earliest(sources.map((s) => s.result.startedAt)),
    finishedAt: latest(sources.map((s) => s.result.finishedAt)),
    interrupted: false,
    host: { ...f.host, hostname: [...new Set(sources.map((s) => s.result.host.hostname))].join(', ') },
    tokens: sameTokens ? f.tokens : sources.flatMap((s) => s.result.tokens),
    plan,
    ...runFigures(
      f.command,
      plan,
      configurations.map((c) => c.result),
    ),
    ...(burnIn ? { burnIn: { giveUpAfterS: burnIn.giveUpAfterS, segments: [{ startedAt: configurations[0]?.result.windowStartedAt ?? f.startedAt, startOffsetS: 0 }] } } : {}),
    sources: runSources,
    ...(warnings.length > 0 ? { mergeWarnings: warnings } : {}),
  };
  return { result, configurations, warnings };
}

/**
 * The merged run's records files, for its charts: each source's records in turn, its tokens renumbered as in the
 * merged run's tokens and its times moved onto the merged time axis. Returns the files no source had.
 */
export async function writeMergedRecords(dir: string, merged: MergedRun): Promise<string[]> {
  const missing: string[] = [];
  for (const c of merged.configurations) {
    const name = configurationSlug(c.result);
    const writer = new RecordsFileWriter(join(dir, c.result.recordsFile));
    try {
      for (const part of c.parts) {
        try {
          for await (const r of readRecords(join(part.dir, part.recordsFile)))
            writer.write({ ...r, configuration: name, token: r.token + part.firstToken, startOffsetUs: r.startOffsetUs + part.shiftUs });
        } catch {
          missing.push(join(part.dir, part.recordsFile));
        }
      }
    } finally {
      writer.close();
    }
    if (writer.failure) throw writer.failure;
  }
  return missing;
}
