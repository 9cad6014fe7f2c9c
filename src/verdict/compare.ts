import { callsToJudge } from '../stats/rate-window.js';
import { rateNotEstablished } from './common-window-rate.js';
import { workloadOf } from '../model/workload.js';
import { percentileSupported } from '../core/latency-text.js';
import { usageError } from '../core/errors.js';
import { byteSizeName } from '../core/byte-size.js';
import { signedPercent } from '../core/signed-percent.js';
import { axesOf, configurationName, sameConfiguration, type ConfigurationAxes } from '../model/configuration.js';
import { notMeasured, type NotMeasured } from '../result/plan-coverage.js';
import type { ConfigurationResult, RunResult, TokenIdentity } from '../model/run-result.js';
import { failuresOf, operationsMadeOf } from '../stats/repetitions.js';
import { batchMeans, meanNoise, MIN_NOISE_SAMPLES, ratioInterval, type MeanNoise } from '../stats/ratio-noise.js';

/** The latency percentiles a comparison can gate on. */
export const GATED_PERCENTILES = ['p50', 'p90', 'p99'] as const;
export type GatedPercentile = (typeof GATED_PERCENTILES)[number];

/**
 * A figure of the candidate over the baseline's, with the 95 % interval of that ratio (`low` to `high`, not symmetric
 * about it) from the two runs' own noise: their repetitions where repeated, else their per-interval series. Null
 * bounds: a side had too few intervals or repetitions to tell its noise.
 */
export interface ChangeEstimate {
  ratio: number;
  low: number | null;
  high: number | null;
}

/** One configuration (tokens, sessions per token, target rate) of a baseline comparison. */
export interface ComparisonRow extends ConfigurationAxes {
  baselineThroughputPerS: number;
  candidateThroughputPerS: number;
  throughputChangePct: number;
  /** Candidate / baseline throughput, with its noise. */
  throughputRatio: ChangeEstimate;
  baselineP50Ms: number | null;
  candidateP50Ms: number | null;
  p50ChangePct: number | null;
  baselineP99Ms: number | null;
  candidateP99Ms: number | null;
  p99ChangePct: number | null;
  /** Candidate / baseline latency (response time at a target rate) by percentile, with its noise; gated or not. */
  latencyRatios: Partial<Record<GatedPercentile, ChangeEstimate>>;
  baselineFailures: number;
  candidateFailures: number;
  /** Worse beyond --max-regression, with the whole 95 % interval of the ratio beyond it too: these fail the gate. */
  regressions: string[];
  /** Worse beyond --max-regression, but within the noise (the interval reaches back), its noise unknown, or too few samples: neither pass nor fail. */
  inconclusive: string[];
}

/** A rate sweep's capacity, baseline vs candidate, for one token count and sessions per token. */
export interface CapacityChange {
  tokens: number;
  threadsPerToken: number;
  baselinePerS: number | null;
  candidatePerS: number | null;
  /** fail: a rate the baseline served within the objectives is no longer served; inconclusive: missed only by an objective, within --max-regression of it. */
  outcome: 'pass' | 'fail' | 'inconclusive';
  /** Why the candidate missed the baseline's capacity rate. */
  missed: string[];
}

export interface RunComparison {
  baselineRunId: string;
  maxRegressionPct: number;
  /** The latency percentiles that can fail the comparison (others are shown, not judged). */
  latencyPercentiles: GatedPercentile[];
  rows: ComparisonRow[];
  /** Configurations the candidate planned and did not measure whole (interrupted, killed): each one fails. */
  notMeasured: NotMeasured[];
  /** Rate sweeps: the capacities side by side (absent for runs flat out). */
  capacity?: CapacityChange[];
  regressed: boolean;
  /** Differences between the hosts that make the comparison weaker (CPU, load). */
  warnings: string[];
}

/**
 * The noise rule, on a ratio candidate / baseline with its 95 % interval. It passes when the whole interval is within
 * --max-regression of 1 (or better), and fails when the whole interval is worse than that. An interval across the
 * limit shows neither: inconclusive (reported, not failed), whichever side its middle is on, since a change within
 * the limit is not shown either when a worse one is as likely. Noise unknown (a side with too few intervals or
 * repetitions): the change alone passes, and a worse one is inconclusive. `strict` (--strict-latency) lets the
 * change alone decide.
 */
export function judgeRatio(e: ChangeEstimate, maxRegressionPct: number, higherIsBetter: boolean, strict: boolean): 'pass' | 'fail' | 'inconclusive' {
  const allowed = higherIsBetter ? 1 - maxRegressionPct / 100 : 1 + maxRegressionPct / 100;
  const worse = (ratio: number) => (higherIsBetter ? ratio < allowed : ratio > allowed);
  if (strict || e.low === null || e.high === null) return !worse(e.ratio) ? 'pass' : strict ? 'fail' : 'inconclusive';
  const [worstEnd, bestEnd] = higherIsBetter ? [e.low, e.high] : [e.high, e.low];
  return !worse(worstEnd) ? 'pass' : worse(bestEnd) ? 'fail' : 'inconclusive';
}

/** Contiguous batches the per-second series is averaged into: seconds next to each other are not independent. */
const MAX_THROUGHPUT_BATCHES = 20;

/** Repetitions measured whole: between-run noise, where there are enough of them (else the run's own intervals). */
const wholeRepetitions = (c: ConfigurationResult) => (c.repetitions ?? []).filter((r) => r.partial === undefined);

/**
 * A configuration's throughput noise: over its repetitions, else over its whole seconds (the last one, cut by the
 * window's end, left out) in batches.
 */
function throughputNoise(c: ConfigurationResult): MeanNoise | null {
  const reps = wholeRepetitions(c);
  if (reps.length >= MIN_NOISE_SAMPLES) return meanNoise(reps.map((r) => r.throughputPerS));
  return meanNoise(batchMeans(c.timeSeries.ok.slice(0, Math.floor(c.durationS)), MAX_THROUGHPUT_BATCHES));
}

/** A configuration's noise of a latency percentile: over its repetitions, else over the parts of its window. */
function latencyNoise(c: ConfigurationResult, p: GatedPercentile): MeanNoise | null {
  const reps = wholeRepetitions(c);
  const of = (x: Pick<ConfigurationResult, 'latencyMs' | 'openLoop'>) => (x.openLoop ? x.openLoop.responseMs : x.latencyMs)?.[p];
  if (reps.length >= MIN_NOISE_SAMPLES) return meanNoise(reps.map(of).filter((v): v is number => v !== undefined));
  const series = c.openLoop ? c.openLoop.responseByIntervalMs : c.latencyByIntervalMs;
  return series ? meanNoise(series[p]) : null;
}

const round3 = (v: number) => Number(v.toPrecision(3));
/** Rounded outward to 3 significant digits: the interval shown holds the one computed, and judgeRatio judges the one shown. */
const outward = (v: number, round: (x: number) => number) => {
  const scale = 10 ** (Math.floor(Math.log10(v)) - 2);
  const q = v / scale;
  // 0.29 / 0.001 is 290.00000000000006: a bound already at 3 digits stays where it is.
  return Number(((Math.abs(q - Math.round(q)) < 1e-9 ? Math.round(q) : round(q)) * scale).toPrecision(3));
};
const PERCENT: Record<GatedPercentile, number> = { p50: 50, p90: 90, p99: 99 };

/** Decimal places that give `ratio` 3 significant digits, as hyperfine's ratios have them. */
const placesOf = (ratio: number) => (ratio > 0 ? Math.max(0, 2 - Math.floor(Math.log10(ratio))) : 2);

/** How unequal the interval's arms may be and still be said as ± one width: 10 % (a log half-width up to ln 1.1). */
const SYMMETRIC_ENOUGH = 1.1;

/**
 * The ratio to 3 significant digits and its interval as it is shown and judged: ± the wider arm, rounded up at the
 * ratio's digits, where the arms differ by 10 % or less (a little wider than computed: never narrower); else its
 * own bounds, rounded outward.
 */
function estimate(from: number, to: number, a: MeanNoise | null, b: MeanNoise | null): ChangeEstimate {
  const ratio = round3(to / from);
  if (!a || !b) return { ratio, low: null, high: null };
  // Nothing left (no successful call): a ratio of 0 is no noise, and no logarithm.
  if (!(ratio > 0)) return { ratio, low: ratio, high: ratio };
  const i = ratioInterval(ratio, a, b);
  const [up, down] = [i.high - ratio, ratio - i.low];
  if (up <= down * SYMMETRIC_ENOUGH) {
    const unit = 10 ** -placesOf(ratio);
    const width = Math.ceil(up / unit - 1e-9) * unit;
    if (ratio - width > 0) return { ratio, low: Number((ratio - width).toFixed(placesOf(ratio))), high: Number((ratio + width).toFixed(placesOf(ratio))) };
  }
  return { ratio, low: outward(i.low, Math.floor), high: outward(i.high, Math.ceil) };
}

/**
 * "1.42 ± 0.05 ×" where the ratio ± one width at its digits is the interval judged (as hyperfine prints it), else the
 * interval's bounds to 3 significant digits: "1.42 × (1.30–1.61)"; "0.774 × (noise unknown)". Never a bound at or
 * below 0, and always the interval judged.
 */
export function ratioText(e: ChangeEstimate): string {
  const places = placesOf(e.ratio);
  const at = (v: number) => v.toFixed(places);
  if (e.low === null || e.high === null) return `${at(e.ratio)} × (noise unknown)`;
  const width = at(e.high - e.ratio);
  const exact = (shown: number, bound: number) => Math.abs(shown - bound) < 1e-9;
  const symmetric = exact(Number(at(e.ratio)) + Number(width), e.high) && exact(Number(at(e.ratio)) - Number(width), e.low);
  const bound = (v: number) => (v >= 1000 ? String(Math.round(v)) : v.toPrecision(3));
  return symmetric ? `${at(e.ratio)} ± ${width} ×` : `${at(e.ratio)} × (${bound(e.low)}–${bound(e.high)})`;
}

/**
 * A configuration's throughput in run B over run A's, with its 95 % interval from the two runs' own noise, as
 * compare judges it; `report A B` shows the same.
 */
export const throughputChange = (a: ConfigurationResult, b: ConfigurationResult): ChangeEstimate =>
  a.throughputPerS > 0 ? estimate(a.throughputPerS, b.throughputPerS, throughputNoise(a), throughputNoise(b)) : { ratio: 0, low: null, high: null };

const latencyOf = (c: ConfigurationResult) => (c.openLoop ? c.openLoop.responseMs : c.latencyMs);

const change = (from: number | null | undefined, to: number | null | undefined): number | null =>
  from === null || from === undefined || to === null || to === undefined || from === 0 ? null : Math.round(((to - from) / from) * 1000) / 10;

/**
 * Whether two runs signed on the same tokens, as far as the shorter token list goes (a 1,2-token run and a
 * 1,2,4,8-token run share their first two). Token by token, never as joined text: serials 12 and 123 differ.
 */
export function sharesTokens(a: RunResult, b: RunResult): boolean {
  const same = (x: TokenIdentity, y: TokenIdentity) => x.manufacturer === y.manufacturer && x.model === y.model && x.serial === y.serial && x.label === y.label;
  return a.tokens.slice(0, b.tokens.length).every((t, i) => same(t, b.tokens[i]!));
}

/** Why two runs are not comparable; empty when they are (same tokens, operation, algorithm, mechanism and plan). */
export function incomparability(a: RunResult, b: RunResult): string[] {
  const reasons: string[] = [];
  const serials = (r: RunResult) => r.tokens.map((t) => t.serial).join(', ');
  if (a.tokens.length !== b.tokens.length || !sharesTokens(a, b)) reasons.push(`tokens differ (${serials(a)} vs ${serials(b)})`);
  if (workloadOf(a) !== workloadOf(b)) reasons.push(`workloads differ (${workloadOf(a)} vs ${workloadOf(b)})`);
  if (a.mechanism.name !== b.mechanism.name) reasons.push(`mechanisms differ (${a.mechanism.name} vs ${b.mechanism.name})`);
  // A mechanism as given is its parameter too: the same CKM_ with another --mechanism-params is another call.
  else if (a.mechanism.parameterHex !== b.mechanism.parameterHex)
    reasons.push(`the mechanism's parameters differ (--mechanism-params: ${a.mechanism.parameterHex ?? 'none'} vs ${b.mechanism.parameterHex ?? 'none'})`);
  const differ = planDifferences(a.plan, b.plan);
  if (differ.length > 0) reasons.push(`plans differ (${differ.join(', ')})`);
  return reasons;
}

/** What a plan's setting is called in a reason (a setting not named here: "other settings"). */
const PLAN_SETTINGS: Partial<Record<keyof RunResult['plan'], string>> = {
  tokenCounts: 'token counts',
  operationsPerToken: 'stop rule',
  totalOperations: 'stop rule',
  durationS: 'stop rule',
  warmupOperationsPerToken: 'warm-up',
  threadsPerToken: 'threads',
  verify: 'verification',
  targetRate: 'target rate',
  perCall: 'how sessions and keys are held per call',
  dataSizesBytes: 'data sizes',
};

const callParts = (p: RunResult['plan']) => (p.multipartChunkBytes === undefined ? 'in one call' : `in parts of ${byteSizeName(p.multipartChunkBytes)}`);

/**
 * What two plans differ in, as measured: how many verification threads did the checking does not matter, nor how
 * many times each configuration was repeated (medians of 3 and of 5 runs estimate the same figure), nor the call
 * timeout (it bounds a hang; it does not change what is measured).
 */
export function planDifferences(a: RunResult['plan'], b: RunResult['plan']): string[] {
  const measured = (p: RunResult['plan']): Record<string, unknown> => ({ ...p, repeat: undefined, verify: p.verify.mode, callTimeoutS: undefined });
  const [ma, mb] = [measured(a), measured(b)];
  const keys = [...new Set([...Object.keys(ma), ...Object.keys(mb)])].filter((k) => JSON.stringify(ma[k]) !== JSON.stringify(mb[k]));
  const named = keys.map((k) => (k === 'multipartChunkBytes' ? `multipart (${callParts(a)} vs ${callParts(b)})` : (PLAN_SETTINGS[k as keyof RunResult['plan']] ?? 'other settings')));
  return [...new Set(named)];
}

/** Whether two plans measure the same thing (planDifferences). */
export const samePlan = (a: RunResult['plan'], b: RunResult['plan']): boolean => planDifferences(a, b).length === 0;

/**
 * Baseline vs candidate, configuration by configuration. A regression is throughput falling, or a latency percentile
 * of `latencyPercentiles` rising, by more than `maxRegressionPct` beyond the noise (judgeRatio), or failures
 * appearing where the baseline had none.
 */
export function compareRuns(
  baseline: RunResult,
  candidate: RunResult,
  maxRegressionPct: number,
  force: boolean,
  strictLatency = false,
  latencyPercentiles: GatedPercentile[] = ['p99'],
): RunComparison {
  const reasons = incomparability(baseline, candidate);
  if (reasons.length > 0 && !force) throw usageError(`the runs are not comparable: ${reasons.join('; ')}`, 'compare runs of the same plan on the same tokens, or add --force');
  const busy = (
    [
      ['the baseline', baseline],
      ['the candidate', candidate],
    ] as const
  ).flatMap(([name, r]) => {
    const why = hostBusyWhy(r);
    return why === null ? [] : [`${name} (${why})`];
  });
  const busyNote = busy.length > 0 ? `the host was busy in ${busy.join(' and ')}: repeat with --repeat or on a quiet host` : null;
  // What either run did not measure whole is not compared figure by figure: the candidate's fails, the baseline's is said.
  const missing = notMeasured(candidate);
  const baselineMissing = notMeasured(baseline);
  const whole = (r: NotMeasured[], c: ConfigurationAxes) => !r.some((m) => sameConfiguration(m, c));
  const rows = baseline.configurations.flatMap((a): ComparisonRow[] => {
    const b = candidate.configurations.find((c) => sameConfiguration(c, a));
    if (!b || !whole(missing, b) || !whole(baselineMissing, a)) return [];
    // At a target rate the latency that matters is the response time (from the intended start), not the service time.
    const [la, lb] = [latencyOf(a), latencyOf(b)];
    const shown = GATED_PERCENTILES.filter((p) => p !== 'p90' || latencyPercentiles.includes(p));
    const row: ComparisonRow = {
      ...axesOf(a),
      baselineThroughputPerS: a.throughputPerS,
      candidateThroughputPerS: b.throughputPerS,
      throughputChangePct: change(a.throughputPerS, b.throughputPerS) ?? 0,
      throughputRatio: throughputChange(a, b),
      baselineP50Ms: la?.p50 ?? null,
      candidateP50Ms: lb?.p50 ?? null,
      p50ChangePct: change(la?.p50, lb?.p50),
      baselineP99Ms: la?.p99 ?? null,
      candidateP99Ms: lb?.p99 ?? null,
      p99ChangePct: change(la?.p99, lb?.p99),
      latencyRatios: Object.fromEntries(
        shown.flatMap((p) => {
          const [from, to] = [la?.[p], lb?.[p]];
          // A percentile with no call beyond it in either run is its slowest call: no ratio of it is shown or judged.
          const supported = [a, b].every((c) => percentileSupported(PERCENT[p], c.operationsOk));
          return from === undefined || to === undefined || from === 0 || !supported ? [] : [[p, estimate(from, to, latencyNoise(a, p), latencyNoise(b, p))]];
        }),
      ),
      baselineFailures: failuresOf(a),
      candidateFailures: failuresOf(b),
      regressions: [],
      inconclusive: [],
    };
    // A busy host moves a run's figures by more than its own seconds show: without repetitions on both sides to
    // measure the swings between runs, a figure worse beyond the limit is not judged a regression.
    const hostMayExplain = between(a, b) ? null : busyNote;
    const file = (outcome: 'pass' | 'fail' | 'inconclusive', text: string) => {
      if (outcome === 'fail' && hostMayExplain !== null) row.inconclusive.push(`${text}: ${hostMayExplain}`);
      else if (outcome === 'fail') row.regressions.push(text);
      if (outcome === 'inconclusive') row.inconclusive.push(text);
    };
    const t = row.throughputRatio;
    // A merged rate over too brief a common window is not established: said, never judged.
    const unmeasured = [a, b].map(rateNotEstablished).find((why) => why !== undefined);
    if (unmeasured !== undefined) row.inconclusive.push(`throughput ${signedPercent(row.throughputChangePct)}: ${unmeasured}`);
    else file(judgeRatio(t, maxRegressionPct, true, strictLatency), `throughput ${signedPercent(row.throughputChangePct)} (${ratioText(t)})`);
    // A percentile is judged on the calls it needs (ten beyond it: 20 for p50, 1,000 for p99), not on the run's p99 rule.
    const fewest = Math.min(a.operationsOk, b.operationsOk);
    const thin = (p: GatedPercentile) => !strictLatency && fewest < callsToJudge(p);
    // Only the percentiles asked for can fail: a p50 moves with the host's scheduling more than a token's speed.
    for (const p of latencyPercentiles) {
      const e = row.latencyRatios[p];
      if (e === undefined) {
        // Worse beyond the limit on its slowest calls alone: said, never failed.
        const [from, to] = [la?.[p], lb?.[p]];
        if (from !== undefined && to !== undefined && to > from * (1 + maxRegressionPct / 100))
          row.inconclusive.push(`${p} latency ${signedPercent(change(from, to)!)}: too few calls for it (${a.operationsOk} and ${b.operationsOk})`);
        continue;
      }
      const outcome = judgeRatio(e, maxRegressionPct, false, strictLatency);
      const changePct = Math.round((e.ratio - 1) * 1000) / 10;
      const few = thin(p) && outcome === 'fail' ? `, on ${fewest} calls, too few to judge ${p} (it needs ${callsToJudge(p)}; --strict-latency judges it)` : '';
      file(few ? 'inconclusive' : outcome, `${p} latency ${signedPercent(changePct)} (${ratioText(e)})${few}`);
    }
    // Failures: any where the baseline had none; else a failure rate worse by more than --max-regression.
    const rate = (c: ConfigurationResult) => failuresOf(c) / Math.max(1, operationsMadeOf(c));
    if (row.candidateFailures > 0 && row.baselineFailures === 0) row.regressions.push(`${row.candidateFailures} failures (baseline: none)`);
    else if (row.candidateFailures > 0 && rate(b) > rate(a) * (1 + maxRegressionPct / 100)) {
      row.regressions.push(`${row.candidateFailures} failures (failure rate ${(rate(b) * 100).toPrecision(2)} %, baseline ${(rate(a) * 100).toPrecision(2)} %)`);
    }
    return [row];
  });
  if (rows.length === 0 && missing.length === 0)
    throw usageError('the runs have no configuration in common', 'compare runs with at least one common configuration (tokens, sessions per token, target rate)');
  const capacity = compareCapacity(baseline, candidate, maxRegressionPct, busyNote);
  return {
    baselineRunId: baseline.runId,
    maxRegressionPct,
    latencyPercentiles,
    rows,
    notMeasured: missing,
    ...(capacity.length > 0 ? { capacity } : {}),
    regressed: rows.some((r) => r.regressions.length > 0) || capacity.some((c) => c.outcome === 'fail') || missing.length > 0,
    warnings: [...hostWarnings(baseline, candidate), ...baselineMissing.map((m) => `the baseline's ${configurationName(m)}: ${m.reason}; not compared`)],
  };
}

/**
 * The capacity regresses when the candidate no longer holds the rate the baseline's capacity was: it failed calls,
 * fell behind, or missed an objective by more than --max-regression. Missing an objective by less is inconclusive:
 * a tail percentile near its bound flips with noise.
 */
function compareCapacity(baseline: RunResult, candidate: RunResult, maxRegressionPct: number, busyNote: string | null): CapacityChange[] {
  const objectives = candidate.plan.objectives ?? [];
  return (baseline.capacity ?? []).flatMap((a): CapacityChange[] => {
    const b = candidate.capacity?.find((x) => x.tokens === a.tokens && x.threadsPerToken === a.threadsPerToken);
    const base = { tokens: a.tokens, threadsPerToken: a.threadsPerToken, baselinePerS: a.capacityPerS, candidatePerS: b?.capacityPerS ?? null };
    if (a.capacityPerS === null) return [{ ...base, outcome: 'pass', missed: [] }];
    // A rate planned and not measured is no capacity held; where the candidate was interrupted before it, none missed.
    const unmeasured = candidate.interrupted ? 'inconclusive' : 'fail';
    if (!b) return [{ ...base, outcome: unmeasured, missed: ['not measured'] }];
    if (b.capacityPerS !== null && b.capacityPerS >= a.capacityPerS) return [{ ...base, outcome: 'pass', missed: [] }];
    // The candidate's first rate up to the baseline's capacity that did not hold: why the capacity fell.
    const first = b.rates.find((r) => r.targetRatePerS <= a.capacityPerS! && !r.held);
    // Missed only while the host stalled, or only on fewer calls than a percentile needs: the rate is not judged.
    if (first?.hostStalled || first?.thin) return [{ ...base, outcome: 'inconclusive', missed: [...first.missed, ...(first.notJudged ?? [])].map((m) => `at ${first.targetRatePerS}/s: ${m}`) }];
    if (first === undefined || first.interrupted)
      return [{ ...base, outcome: unmeasured, missed: [first ? `${first.targetRatePerS}/s not measured (interrupted)` : `${a.capacityPerS}/s not measured`] }];
    const at = candidate.configurations.find((c) => c.tokens === a.tokens && c.threadsPerToken === a.threadsPerToken && c.openLoop?.targetRatePerS === first.targetRatePerS);
    const nearBound =
      at?.openLoop !== undefined &&
      at.openLoop.keptUp &&
      failuresOf(at) === 0 &&
      objectives.every((o) => (at.openLoop!.responseMs?.[o.percentile] ?? Number.POSITIVE_INFINITY) <= o.ms * (1 + maxRegressionPct / 100));
    const missed = first.missed.map((m) => `at ${first.targetRatePerS}/s: ${m}`);
    // Behind schedule or over an objective on a busy host may be the host's; failed calls are the tokens' own.
    const hostMayExplain = busyNote !== null && at !== undefined && failuresOf(at) === 0 && wholeRepetitions(at).length < MIN_NOISE_SAMPLES;
    if (!nearBound && hostMayExplain) return [{ ...base, outcome: 'inconclusive', missed: [...missed, busyNote] }];
    return [{ ...base, outcome: nearBound ? 'inconclusive' : 'fail', missed }];
  });
}

/** A host above this load (1-minute average per core) before signing was busy with something else. */
const BUSY_LOAD_PER_CORE = 0.5;

/** A host whose other processes took this share of its CPU time during a window (%) was busy with something else. */
const BUSY_OTHERS_PCT = 50;

/**
 * Why a run's host was busy with other work, or null: loaded before signing, or its other processes taking half its
 * CPU time or more during a measured window (run.json's cpu).
 */
export function hostBusyWhy(r: RunResult): string | null {
  const load = r.host.loadAverage?.[0];
  if (load !== undefined && load > BUSY_LOAD_PER_CORE * r.host.cpuCount) return `load average ${load} on ${r.host.cpuCount} cores before the run`;
  const others = Math.max(
    0,
    ...r.configurations.map((c) => (c.cpu && c.cpu.hostCpuS > 0 ? c.cpu.hostUserPct + c.cpu.hostSystemPct - (100 * (c.cpu.processUserS + c.cpu.processSystemS)) / c.cpu.hostCpuS : 0)),
  );
  return others >= BUSY_OTHERS_PCT ? `other processes took ${Math.round(others)} % of its CPU time in a window` : null;
}

/** Whether both sides of a row were repeated enough to measure the swings between runs, not only within one. */
const between = (a: ConfigurationResult, b: ConfigurationResult) => wholeRepetitions(a).length >= MIN_NOISE_SAMPLES && wholeRepetitions(b).length >= MIN_NOISE_SAMPLES;

/** What differs between the hosts of two runs, in a way that moves their figures. */
/** Whose load a run measured: one host's, or a merge of several hosts' runs. */
const loadOf = (r: RunResult) => (r.sources ? `a merge of ${r.sources.length} hosts' runs (${r.sources.map((s) => s.hostname).join(', ')})` : `one host's run (${r.host.hostname})`);

export function hostWarnings(baseline: RunResult, candidate: RunResult): string[] {
  const warnings: string[] = [];
  const [a, b] = [baseline.host, candidate.host];
  if (a.cpuModel !== b.cpuModel || a.cpuCount !== b.cpuCount) warnings.push(`the hosts differ: ${a.cpuCount} × ${a.cpuModel} (baseline) vs ${b.cpuCount} × ${b.cpuModel}`);
  // A merged run's figures are several hosts' load together: beside one host's (or another number of hosts'), not alike.
  if ((baseline.sources?.length ?? 1) !== (candidate.sources?.length ?? 1))
    warnings.push(`the baseline is ${loadOf(baseline)}, the candidate ${loadOf(candidate)}: a merged run's rate is every host's load together, over their common window`);
  for (const [name, r] of [
    ['baseline', baseline],
    ['candidate', candidate],
  ] as const) {
    const why = hostBusyWhy(r);
    if (why !== null) warnings.push(`the ${name}'s host was busy (${why})`);
  }
  return warnings;
}
