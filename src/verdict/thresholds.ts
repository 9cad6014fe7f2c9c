import { rangeText } from '../core/range-text.js';
import { latencyRangeText, latencyText, percentileSupported } from '../core/latency-text.js';
import { parseLatencyMs } from '../core/latency-flag.js';
import { PERCENTILE_SHARE } from '../stats/rate-window.js';
import { ThresholdFlags } from '../model/plan-input.js';
import { usageError } from '../core/errors.js';
import type { TargetRate } from '../model/plan.js';
import { plural } from '../core/plural.js';
import { axesOf, configurationAxes, dataSizeOf } from '../model/configuration.js';
import { capacityByTokens } from '../stats/capacity.js';
import { type CapacityResult } from '../model/run-result.js';
import type { ConfigurationResult, Range, RunResult, VerdictCheck } from '../model/run-result.js';
import { failuresOf, lowConfidence, MIN_WINDOW_S, throughputRange } from '../stats/repetitions.js';
import { notEstablishedText, rateNotEstablished } from './common-window-rate.js';
import { quote, shown } from '../core/quote.js';
import { basisLooksLow, efficiencyBasisOf, efficiencyRange, efficiencyWithheld, isWhole, shortfallOf, type Shortfall } from '../result/configuration-shortfall.js';

/** What keeps a configuration from being whole, in a few words. */
const notWholeWords = (s: Shortfall) =>
  [
    s.partial,
    s.repetitions ? `${s.repetitions.whole} of ${s.repetitions.planned} repetitions whole` : undefined,
    s.hungTokens.length > 0 ? 'a token hung' : undefined,
    s.stoppedTokens.length > 0 ? 'a token stopped' : undefined,
  ]
    .filter((x) => x !== undefined)
    .join(', ');

/**
 * Pass/fail limits on a run, parsed and validated before the run starts (a bad threshold is a usage error,
 * not a surprise at the end) and checked after its results are written.
 */
export interface Thresholds {
  maxFailures?: number;
  /** Minimum signatures/s: for the largest configuration (key 'largest') or per token count. */
  minThroughput?: Record<string, number>;
  maxP99Ms?: number;
  minEfficiency?: number;
  /** Minimum capacity (calls/s within the objectives): for the largest token count (key 'largest') or per token count. */
  minCapacity?: Record<string, number>;
}

/** A threshold's check: run.json's verdict keeps it as it is. */
export type ThresholdCheck = VerdictCheck;

export type Outcome = VerdictCheck['outcome'];
const outcomeOf = (passed: boolean): Outcome => (passed ? 'pass' : 'fail');

const positive = (flag: string, value: string, allowZero = false): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw usageError(`${flag} must be a ${allowZero ? 'non-negative' : 'positive'} number, not ${quote(value)}`);
  return n;
};

/** `500` (the largest token count) or `1:1.4,8:11` (per number of tokens). */
function parsePerTokenCount(flag: string, value: string): Record<string, number> {
  if (!value.includes(':')) return { largest: positive(flag, value) };
  const entries = value.split(',').map((part): [string, number] => {
    const [tokens, rate] = part.split(':');
    if (!/^\d+$/.test(tokens?.trim() ?? '') || rate === undefined) throw usageError(`${flag} part ${quote(part)} is not TOKENS:PER_S`, `for example ${flag} 500, or 1:1.4,8:11`);
    return [String(Number(tokens)), positive(flag, rate)];
  });
  const twice = entries.find(([tokens], i) => entries.findIndex(([t]) => t === tokens) !== i);
  if (twice) throw usageError(`${flag} names ${plural(Number(twice[0]), 'token')} twice`, 'give each token count once');
  return Object.fromEntries(entries);
}

export function parseThresholds(f: ThresholdFlags): Thresholds {
  const t: Thresholds = {};
  if (f.maxFailures !== undefined) {
    if (!/^\d+$/.test(f.maxFailures)) throw usageError(`--max-failures must be a whole number ≥ 0, not ${quote(f.maxFailures)}`);
    t.maxFailures = Number(f.maxFailures);
  }
  if (f.minThroughput !== undefined) t.minThroughput = parsePerTokenCount('--min-throughput', f.minThroughput);
  if (f.minCapacity !== undefined) t.minCapacity = parsePerTokenCount('--min-capacity', f.minCapacity);
  if (f.maxP99 !== undefined) t.maxP99Ms = parseLatencyMs(f.maxP99, '--max-p99', true);
  if (f.minEfficiency !== undefined) t.minEfficiency = positive('--min-efficiency', f.minEfficiency);
  return t;
}

/** What of the plan the thresholds must fit: the token counts, whether it runs flat out and at target rates. */
export interface ThresholdPlan {
  tokenCounts: number[];
  targetRate?: TargetRate | null;
}

/** Thresholds per token count must name configurations the plan runs, and measure what the plan measures. */
export function checkThresholdsFitPlan(t: Thresholds, plan: ThresholdPlan): void {
  for (const [flag, limits] of [
    ['--min-throughput', t.minThroughput],
    ['--min-capacity', t.minCapacity],
  ] as const) {
    const unknown = Object.keys(limits ?? {}).filter((k) => k !== 'largest' && !plan.tokenCounts.includes(Number(k)));
    if (unknown.length > 0) throw usageError(`${flag} names ${unknown.map(shown).join(', ')} tokens, which the plan does not run`, `the plan runs ${plan.tokenCounts.join(', ')} tokens`);
  }
  if (t.minThroughput !== undefined && plan.targetRate) {
    throw usageError('--min-throughput judges configurations run flat out; at a target rate the throughput is the rate asked for', 'gate a rate sweep with --min-capacity (and --slo-p99 …)');
  }
  if (t.minCapacity !== undefined && !plan.targetRate) throw usageError('--min-capacity needs a rate sweep to find the capacity in', 'add --rate 50,100,200,400 (and --slo-p99 50ms)');
  for (const [key, min] of Object.entries(t.minCapacity ?? {})) {
    // A capacity is one of the rates swept: a gate above the highest could never pass.
    const tokens = key === 'largest' ? Math.max(...plan.tokenCounts) : Number(key);
    const rates = plan.targetRate!.perS.map((r) => (plan.targetRate!.per === 'token' ? r * tokens : r));
    const top = Math.max(...rates);
    if (min > top) throw usageError(`--min-capacity ${min}/s for ${plural(tokens, 'token')} is above the highest rate swept for them (${top}/s)`, `sweep up to at least ${min}/s`);
  }
  if (t.minEfficiency !== undefined && plan.targetRate)
    throw usageError('--min-efficiency judges configurations run flat out; at a target rate the throughput is the rate asked for', 'run without --rate');
  if (t.minEfficiency !== undefined && !plan.tokenCounts.includes(1)) throw usageError('--min-efficiency needs a 1-token configuration to compare with', 'add 1 to --tokens');
}

const fmt = (n: number | null | undefined, digits = 2) => (n === null || n === undefined ? 'n/a' : n.toFixed(digits));

/**
 * A check of a configuration the plan holds and the run never measured: an interrupted run never reached it, so it
 * neither passed nor failed; a run that ended without it (its plan done otherwise) failed it.
 */
const notRun = (r: Pick<RunResult, 'interrupted'>): Pick<ThresholdCheck, 'measured' | 'outcome' | 'notJudged'> =>
  r.interrupted ? { measured: 'not measured (interrupted)', outcome: 'inconclusive', notJudged: 'not measured: the run was interrupted before it' } : { measured: 'not run', outcome: 'fail' };

/**
 * A sweep's rates, lowest first, and the first that missed on what the data decides (a rate that failed calls, fell
 * behind or missed on a full sample). Rates only interrupted (not measured), missed while the host stalled or on thin
 * percentiles are open: they may have held. With --strict-latency a thin miss is decided, except on a percentile the
 * sample cannot tell from its slowest call (p99 of under 100 calls): no sample size rule makes that a p99.
 */
function sweepOf(run: RunResult, c: CapacityResult | undefined, strictLatency: boolean) {
  // A thin rate's objectives as measured: those missed, and whether the sample has each percentile missed at all.
  const objectivesOf = (x: CapacityResult['rates'][number]) => {
    const m = c && run.configurations.find((k) => k.tokens === c.tokens && k.threadsPerToken === c.threadsPerToken && k.openLoop?.targetRatePerS === x.targetRatePerS);
    const missed = (run.plan.objectives ?? []).filter((o) => (m?.openLoop?.responseMs?.[o.percentile] ?? Number.POSITIVE_INFINITY) > o.ms);
    const calls = Math.min(...(m?.repetitions ?? (m ? [m] : [])).map((k) => k.operationsOk));
    return {
      met: missed.length === 0 && (run.plan.objectives ?? []).length > 0,
      unsupported: missed.length > 0 && missed.every((o) => !percentileSupported(100 * PERCENTILE_SHARE[o.percentile], calls)),
    };
  };
  // --strict-latency takes a thin sample as it is: a rate that met its objectives on it (and missed nothing else) held.
  const held = (x: CapacityResult['rates'][number]) => x.held || (strictLatency && x.thin === true && x.missed.every((m) => !/^achieved /.test(m)) && objectivesOf(x).met);
  const open = (x: CapacityResult['rates'][number]) => x.interrupted === true || x.hostStalled === true || (x.thin === true && (!strictLatency || objectivesOf(x).unsupported));
  const rates = [...(c?.rates ?? [])].sort((x, y) => x.targetRatePerS - y.targetRatePerS);
  const why = (x: CapacityResult['rates'][number]) =>
    x.interrupted
      ? `interrupted at ${x.targetRatePerS}/s`
      : x.hostStalled
        ? `the harness stalled at ${x.targetRatePerS}/s`
        : strictLatency
          ? `a sample at ${x.targetRatePerS}/s too small to tell its percentile from its slowest call (not judged, even with --strict-latency)`
          : `a thin sample at ${x.targetRatePerS}/s (--strict-latency fails on it)`;
  return { rates, held, firstClosedMiss: rates.findIndex((x) => !held(x) && !open(x)), why };
}

/** Why a sweep's capacity is not that of its token count: the rates measured with a token hung or stopped. */
function notWholeSweep(run: RunResult, c: CapacityResult): string {
  const at = c.rates
    .filter((x) => x.notWhole)
    .map((x) => {
      const m = run.configurations.find((k) => k.tokens === c.tokens && k.threadsPerToken === c.threadsPerToken && k.openLoop?.targetRatePerS === x.targetRatePerS);
      return `${m ? notWholeWords(shortfallOf(run, m)) : 'not whole'} at ${x.targetRatePerS}/s`;
    });
  return `the ${c.tokens}-token sweep is not whole (${at.join('; ')}): its capacity is that of fewer tokens`;
}

/**
 * A capacity below the gate fails, unless the rates that did not hold up to where the capacity could reach were open
 * (not measured: the run was interrupted in them; missed only a latency objective on percentiles too thin to fail
 * on, the rule of --max-p99 which --strict-latency overrules; or only while the host stalled) and, taken as held,
 * would put the capacity at the gate or above: then it is inconclusive.
 */
function capacityOutcome(run: RunResult, c: CapacityResult | undefined, min: number, strictLatency: boolean): Pick<ThresholdCheck, 'outcome' | 'notJudged'> {
  // A capacity measured with a token hung or stopped is that of fewer tokens: neither a pass nor a miss of this many.
  if (c?.notWhole) return { outcome: 'inconclusive', notJudged: notWholeSweep(run, c) };
  if (c?.capacityPerS != null && c.capacityPerS >= min) return { outcome: 'pass' };
  const { rates, held, firstClosedMiss, why } = sweepOf(run, c, strictLatency);
  const atBest = (firstClosedMiss < 0 ? rates : rates.slice(0, firstClosedMiss)).at(-1)?.targetRatePerS ?? null;
  if (atBest === null || atBest < min) return { outcome: 'fail' };
  const open = rates.filter((r) => r.targetRatePerS <= atBest && !held(r));
  return open.length === 0 ? { outcome: 'pass' } : { outcome: 'inconclusive', notJudged: open.map(why).join('; ') };
}

/** Why a sweep has no capacity: its lowest rate missed, or no rate below the first miss was judged (and why). */
function noCapacityWhy(run: RunResult, c: CapacityResult, strictLatency: boolean): string {
  const { rates, held, firstClosedMiss } = sweepOf(run, c, strictLatency);
  if (firstClosedMiss === 0) return 'the lowest rate missed';
  const open = (firstClosedMiss < 0 ? rates : rates.slice(0, firstClosedMiss)).filter((x) => !held(x));
  const kind = (x: CapacityResult['rates'][number]) => (x.interrupted ? 'interrupted' : x.hostStalled ? 'the harness stalled' : 'a thin sample');
  const kinds = [...new Set(open.map(kind))].map(
    (k) =>
      `${k} at ${open
        .filter((x) => kind(x) === k)
        .map((x) => `${x.targetRatePerS}/s`)
        .join(', ')}`,
  );
  return kinds.length === 0 ? 'no rate measured' : `no rate judged: ${kinds.join('; ')}`;
}

/**
 * A capacity's rates with those of the plan an interrupted run never reached, as interrupted ones: they may have
 * held, so a capacity below the gate is not a failure while they could still lift it there.
 */
function withRatesNotReached(r: RunResult, c: CapacityResult): CapacityResult {
  if (!r.interrupted || !r.plan.targetRate) return c;
  const { perS, per } = r.plan.targetRate;
  const planned = perS.map((x) => (per === 'token' ? x * c.tokens : x));
  const missing = planned.filter((x) => !c.rates.some((m) => m.targetRatePerS === x));
  return { ...c, rates: [...c.rates, ...missing.map((x) => ({ targetRatePerS: x, achievedRatePerS: 0, held: false, missed: ['not measured'], interrupted: true }))] };
}

/**
 * A throughput measured over less than this is not judged by a gate: a few hundredths of a second on a shared host
 * are its scheduler's, not the tokens' (--strict-latency judges it all the same).
 */
export const MIN_GATED_WINDOW_S = MIN_WINDOW_S;

/**
 * A figure this many times short of its limit fails on any window: a scheduler's hundredths of a second move a rate
 * by a fraction of itself, never tenfold.
 */
export const BEYOND_NOISE_FACTOR = 10;

/** Whether a figure that must be at least `limit` missed it by more than any short window's noise explains. */
const beyondNoise = (measured: number, limit: number) => measured * BEYOND_NOISE_FACTOR < limit;

const windowText = (c: ConfigurationResult) => `${c.durationS < 0.1 ? c.durationS.toFixed(3) : c.durationS.toFixed(2)} s`;

/** Why a flat-out figure is not judged: its window was too short (unless it missed by more than noise explains). */
function shortWindow(c: ConfigurationResult, strict: boolean, measured: number, limit: number): string | undefined {
  return !strict && c.durationS < MIN_GATED_WINDOW_S && !beyondNoise(measured, limit) ? `a window of ${windowText(c)}, under ${MIN_GATED_WINDOW_S} s (--strict-latency fails on it)` : undefined;
}

/** Said beside a figure failed on a short window: it missed by more than the window's noise explains. */
const failedAllTheSame = (c: ConfigurationResult, strict: boolean, measured: number, limit: number) =>
  !strict && c.durationS < MIN_GATED_WINDOW_S && beyondNoise(measured, limit) ? `; over ${windowText(c)}, but under 1/${BEYOND_NOISE_FACTOR} of the limit: no short window's noise explains that` : '';

/** A figure's range over the repetitions, beside it: " (0.61–0.94)". */
const rangeBeside = (range: Range | null) => (range === null ? '' : ` (${rangeText(range.min, range.max, (v) => fmt(v))})`);

/**
 * Why a figure measured R times is not judged against a limit: its repetitions fall on both sides of it, so the
 * median's side is luck (--strict-latency judges the median all the same).
 */
function straddles(range: Range | null, limit: number, strict: boolean, digits: number, unit = ''): string | undefined {
  return !strict && range !== null && range.min < limit && range.max >= limit
    ? `the repetitions range from ${fmt(range.min, digits)}${unit} to ${fmt(range.max, digits)}${unit}, across the limit (--strict-latency judges the median)`
    : undefined;
}

export function evaluateThresholds(r: RunResult, t: Thresholds, strictLatency = false): ThresholdCheck[] {
  const checks: ThresholdCheck[] = [];
  const failures = r.configurations.reduce((n, c) => n + failuresOf(c), 0);
  if (t.maxFailures !== undefined)
    checks.push({ name: 'max-failures', configuration: null, expected: `≤ ${t.maxFailures}`, measured: String(failures), outcome: outcomeOf(failures <= t.maxFailures) });
  // Flat out, a token count's throughput is its best over the sessions per token swept.
  const flatOut = r.configurations.filter((c) => c.openLoop === undefined);
  // The plan's largest token count, measured or not: a run interrupted before it has no figure to pass with.
  const largestCount = Math.max(...r.plan.tokenCounts);
  // With --data-size, each size is a workload of its own: a token count's limit holds for every size swept.
  const sizes = flatOut.length > 0 ? [...new Set(flatOut.map(dataSizeOf))] : [null];
  for (const [key, min, size] of Object.entries(t.minThroughput ?? {}).flatMap(([k, m]) => sizes.map((size) => [k, m, size] as const))) {
    const tokens = key === 'largest' ? largestCount : Number(key);
    const candidates = flatOut.filter((x) => x.tokens === tokens && dataSizeOf(x) === size);
    // A merged rate not established is never the best one while another is (see rateNotEstablished).
    const established = candidates.filter((x) => rateNotEstablished(x) === undefined);
    const c = (established.length > 0 ? established : candidates).reduce<ConfigurationResult | undefined>(
      (best, x) => (best === undefined || x.throughputPerS > best.throughputPerS ? x : best),
      undefined,
    );
    // Not measured: named with its data size all the same, as each size's check is a case of its own.
    const configuration = c ? axesOf(c) : Number.isFinite(tokens) ? configurationAxes(tokens, r.plan.threadsPerToken[0]!, null, size) : null;
    if (c === undefined) {
      checks.push({ name: 'min-throughput', configuration, expected: `≥ ${min}/s`, ...notRun(r) });
      continue;
    }
    const passed = c.throughputPerS >= min;
    // A token that hung or stopped left the throughput to fewer tokens: it is not this many tokens' figure.
    const shortfall = shortfallOf(r, c);
    // A merged rate over too brief a common window is not established: not judged at all, whatever it reads.
    const short = !isWhole(shortfall)
      ? `this configuration is not whole (${notWholeWords(shortfall)})`
      : (rateNotEstablished(c) ?? (passed ? undefined : shortWindow(c, strictLatency, c.throughputPerS, min)) ?? straddles(c.spread ? throughputRange(c) : null, min, strictLatency, 1, '/s'));
    checks.push({
      name: 'min-throughput',
      configuration,
      expected: `≥ ${min}/s`,
      measured: rateNotEstablished(c)
        ? notEstablishedText(c)
        : `${fmt(c.throughputPerS, 1)}/s${c.spread ? ` (${rangeText(c.spread.throughputPerS.min, c.spread.throughputPerS.max)})` : ''}${short ? '' : failedAllTheSame(c, strictLatency, c.throughputPerS, min)}`,
      ...(short ? { outcome: 'inconclusive', notJudged: short } : { outcome: outcomeOf(passed) }),
    });
  }
  const capacity = capacityByTokens(r.capacity ?? []);
  for (const [key, min] of Object.entries(t.minCapacity ?? {})) {
    const tokens = key === 'largest' ? largestCount : Number(key);
    const c = capacity.get(tokens);
    // Named by its token count alone: the check is the token count's best capacity, whichever sessions gave it.
    const check = { name: 'min-capacity', configuration: Number.isFinite(tokens) ? { tokens, threadsPerToken: 1 } : null, expected: `≥ ${min}/s` };
    if (c === undefined) {
      checks.push({ ...check, ...notRun(r) });
      continue;
    }
    // --strict-latency counts the rates met on thin samples too.
    const { rates, held, firstClosedMiss } = sweepOf(r, c, strictLatency);
    const capacityPerS = strictLatency ? ((firstClosedMiss < 0 ? rates : rates.slice(0, firstClosedMiss)).filter(held).at(-1)?.targetRatePerS ?? null) : c.capacityPerS;
    checks.push({
      ...check,
      measured:
        capacityPerS === null
          ? `none (${noCapacityWhy(r, c, strictLatency)})`
          : `${capacityPerS}/s${Math.max(...r.plan.threadsPerToken) > 1 ? ` (${plural(c.threadsPerToken, 'session')} per token)` : ''}`,
      ...capacityOutcome(r, withRatesNotReached(r, c), min, strictLatency),
    });
  }
  for (const c of t.maxP99Ms !== undefined ? r.configurations : []) {
    // At a target rate, the response time (from the intended start): the service time would hide the queueing.
    const p99 = (c.openLoop ? c.openLoop.responseMs : c.latencyMs)?.p99;
    const passed = p99 !== undefined && p99 <= t.maxP99Ms!;
    const thin = strictLatency ? [] : (c.lowConfidence ?? lowConfidence(c));
    // Of fewer than 100 calls the p99 is the slowest call: --strict-latency judges thin samples, not a p99 none has.
    const calls = Math.min(...(c.repetitions ?? [c]).map((x) => x.operationsOk));
    const unsupported = strictLatency && !passed && p99 !== undefined && !percentileSupported(99, calls);
    // With --repeat, each repetition's p99: on both sides of the limit, the median's side is luck.
    const p99s = (c.repetitions ?? []).map((x) => (c.openLoop ? x.openLoop?.responseMs : x.latencyMs)?.p99).filter((v): v is number => v !== undefined);
    const range = p99s.length > 1 ? { min: Math.min(...p99s), median: p99 ?? 0, max: Math.max(...p99s) } : null;
    // Flat out, a closed loop's tail hides the waits a stalled token imposed on the calls it never let start:
    // HdrHistogram's corrected p99 above the limit shows the pass is the loop's, not the token's.
    const corrected = c.openLoop ? undefined : c.correctedLatencyMs?.p99;
    const interval = c.openLoop ? undefined : c.correctedLatencyMs?.expectedIntervalMs;
    const across =
      !strictLatency && range !== null && range.min <= t.maxP99Ms! && range.max > t.maxP99Ms!
        ? `the repetitions range from ${latencyText(range.min)} to ${latencyText(range.max)}, across the limit (--strict-latency judges the median)`
        : !strictLatency && passed && corrected !== undefined && corrected > t.maxP99Ms!
          ? `a closed loop understates its tail: the corrected p99 is ${latencyText(corrected)}${interval === undefined ? '' : ` (a session's calls ${latencyText(interval)} apart, as the loop achieved)`}, above the limit (measure at a --rate; --strict-latency judges the service time alone)`
          : undefined;
    checks.push({
      name: 'max-p99',
      configuration: axesOf(c),
      // Flat out, the service time of a closed loop; at a target rate, the response time: said, as they differ.
      expected: `${c.openLoop ? 'response p99' : 'service p99 (closed loop)'} ≤ ${latencyText(t.maxP99Ms)}`,
      measured: `${latencyText(p99)}${range ? ` (${latencyRangeText(range.min, range.max)})` : ''}`,
      ...(across
        ? { outcome: 'inconclusive', notJudged: across }
        : unsupported
          ? { outcome: 'inconclusive', notJudged: `no p99 in ${calls} calls: it is their slowest call (not judged, even with --strict-latency)` }
          : passed
            ? { outcome: 'pass' }
            : thin.length > 0
              ? { outcome: 'inconclusive', notJudged: `a thin sample: ${thin.join('; ')} (--strict-latency fails on it)` }
              : { outcome: 'fail' }),
    });
  }
  if (t.minEfficiency !== undefined) {
    for (const c of r.configurations.filter((x) => x.tokens > 1 && x.efficiency !== null)) {
      // A ratio of a configuration that is not whole (cut short, a token hung or stopped), or against a 1-token one
      // that is not, compares unlike windows: it is not judged.
      const withheld = efficiencyWithheld(r, c);
      const passed = c.efficiency !== null && c.efficiency >= t.minEfficiency;
      const basis = efficiencyBasisOf(r, c);
      const e = c.efficiency ?? 0;
      const short =
        (passed ? undefined : (shortWindow(c, strictLatency, e, t.minEfficiency) ?? (basis ? shortWindow(basis, strictLatency, e, t.minEfficiency) : undefined))) ??
        straddles(efficiencyRange(r, c), t.minEfficiency, strictLatency, 2);
      // Above 1 beyond the noise, the basis was slowed: the ratio overstates how the tokens scaled, so it passes nothing.
      const low = basisLooksLow(r, c) ? 'above 1 beyond the noise: identical tokens do not scale better than linearly, so its 1-token basis looks low (measure again)' : undefined;
      const notJudged = withheld ? `${withheld.configuration === c ? 'this configuration' : 'its 1-token basis'} is not whole (${notWholeWords(withheld.shortfall)})` : (low ?? short);
      checks.push({
        name: 'min-efficiency',
        configuration: axesOf(c),
        expected: `≥ ${t.minEfficiency}`,
        measured: `${fmt(c.efficiency)}${rangeBeside(efficiencyRange(r, c))}${notJudged ? '' : failedAllTheSame(basis && basis.durationS < c.durationS ? basis : c, strictLatency, e, t.minEfficiency)}`,
        ...(notJudged ? { outcome: 'inconclusive', notJudged } : { outcome: outcomeOf(passed) }),
      });
    }
    // A configuration of the plan never measured is not a scaling that passed: its case stays in the JUnit history,
    // as --min-throughput's does (failed 'not run', or not judged where the run was interrupted before it).
    for (const tokens of r.plan.tokenCounts.filter((n) => n > 1)) {
      for (const threadsPerToken of r.plan.threadsPerToken) {
        if (r.configurations.some((c) => c.tokens === tokens && c.threadsPerToken === threadsPerToken && c.openLoop === undefined)) continue;
        checks.push({ name: 'min-efficiency', configuration: { tokens, threadsPerToken }, expected: `≥ ${t.minEfficiency}`, ...notRun(r) });
      }
    }
  }
  return checks;
}
