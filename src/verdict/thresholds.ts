import { usageError } from '../errors.js';
import type { ConfigurationResult, RunResult } from '../result/run-result.js';
import { failuresOf, lowConfidence } from '../stats/repetitions.js';

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
}

export interface ThresholdCheck {
  name: string;
  configuration: number | null;
  expected: string;
  measured: string;
  /** 'inconclusive': a latency limit missed on too few signatures or too short a window (see lowConfidence): reported, not failed. */
  outcome: Outcome;
}

export type Outcome = 'pass' | 'fail' | 'inconclusive';
const outcomeOf = (passed: boolean): Outcome => (passed ? 'pass' : 'fail');

const positive = (flag: string, value: string, allowZero = false): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw usageError(`${flag} must be a ${allowZero ? 'non-negative' : 'positive'} number, not '${value}'`);
  return n;
};

/** `500` (the largest configuration) or `1:1.4,8:11` (per number of tokens). */
function parseMinThroughput(value: string): Record<string, number> {
  if (!value.includes(':')) return { largest: positive('--min-throughput', value) };
  return Object.fromEntries(
    value.split(',').map((part) => {
      const [tokens, rate] = part.split(':');
      if (!/^\d+$/.test(tokens?.trim() ?? '') || rate === undefined) throw usageError(`--min-throughput part '${part}' is not TOKENS:SIG_PER_S`, 'for example --min-throughput 500, or 1:1.4,8:11');
      return [String(Number(tokens)), positive('--min-throughput', rate)];
    }),
  );
}

export interface ThresholdFlags {
  maxFailures?: string;
  minThroughput?: string;
  maxP99?: string;
  minEfficiency?: string;
}

/** Thresholds, baseline and JUnit output: the CI flags of scale, burn-in and run, as given (a burn-in's checkpoint keeps them). */
export interface VerdictFlags extends ThresholdFlags {
  baseline?: string;
  /** Default 10; only with a baseline. */
  maxRegression?: string;
  /** Let latency gates fail on thin samples too. */
  strictLatency?: boolean;
  /** 'fail' (default) or 'warn' when the --baseline path does not exist. */
  baselineMissing?: string;
  /** Where a run that passed its checks writes its run.json, as the next runs' baseline. */
  saveBaseline?: string;
  force?: boolean;
  junit?: string;
}

export function parseThresholds(f: ThresholdFlags): Thresholds {
  const t: Thresholds = {};
  if (f.maxFailures !== undefined) {
    if (!/^\d+$/.test(f.maxFailures)) throw usageError(`--max-failures must be a whole number ≥ 0, not '${f.maxFailures}'`);
    t.maxFailures = Number(f.maxFailures);
  }
  if (f.minThroughput !== undefined) t.minThroughput = parseMinThroughput(f.minThroughput);
  if (f.maxP99 !== undefined) t.maxP99Ms = positive('--max-p99', f.maxP99);
  if (f.minEfficiency !== undefined) t.minEfficiency = positive('--min-efficiency', f.minEfficiency);
  return t;
}

/** Throughput thresholds per token count must name configurations the plan runs. */
export function checkThresholdsFitPlan(t: Thresholds, tokenCounts: number[]): void {
  const unknown = Object.keys(t.minThroughput ?? {}).filter((k) => k !== 'largest' && !tokenCounts.includes(Number(k)));
  if (unknown.length > 0) throw usageError(`--min-throughput names ${unknown.join(', ')} tokens, which the plan does not run`, `the plan runs ${tokenCounts.join(', ')} tokens`);
  if (t.minEfficiency !== undefined && !tokenCounts.includes(1)) throw usageError('--min-efficiency needs a 1-token configuration to compare with', 'add 1 to --tokens');
}

const fmt = (n: number | null | undefined, digits = 2) => (n === null || n === undefined ? 'n/a' : n.toFixed(digits));

export function evaluateThresholds(r: RunResult, t: Thresholds, strictLatency = false): ThresholdCheck[] {
  const checks: ThresholdCheck[] = [];
  const largest = r.configurations[r.configurations.length - 1];
  const failures = r.configurations.reduce((n, c) => n + failuresOf(c), 0);
  if (t.maxFailures !== undefined)
    checks.push({ name: 'max-failures', configuration: null, expected: `≤ ${t.maxFailures}`, measured: String(failures), outcome: outcomeOf(failures <= t.maxFailures) });
  for (const [key, min] of Object.entries(t.minThroughput ?? {})) {
    const c: ConfigurationResult | undefined = key === 'largest' ? largest : r.configurations.find((x) => x.tokens === Number(key));
    checks.push({
      name: 'min-throughput',
      configuration: c?.tokens ?? (key === 'largest' ? null : Number(key)),
      expected: `≥ ${min}/s`,
      measured: c ? `${fmt(c.throughputPerS, 1)}/s` : 'not run',
      outcome: outcomeOf(c !== undefined && c.throughputPerS >= min),
    });
  }
  for (const c of t.maxP99Ms !== undefined ? r.configurations : []) {
    const p99 = c.latencyMs?.p99;
    const passed = p99 !== undefined && p99 <= t.maxP99Ms!;
    const thin = !strictLatency && (c.lowConfidence ?? lowConfidence(c)).length > 0;
    checks.push({ name: 'max-p99', configuration: c.tokens, expected: `≤ ${t.maxP99Ms} ms`, measured: `${fmt(p99, 3)} ms`, outcome: passed ? 'pass' : thin ? 'inconclusive' : 'fail' });
  }
  if (t.minEfficiency !== undefined) {
    for (const c of r.configurations.filter((x) => x.tokens > 1)) {
      checks.push({
        name: 'min-efficiency',
        configuration: c.tokens,
        expected: `≥ ${t.minEfficiency}`,
        measured: fmt(c.efficiency),
        outcome: outcomeOf(c.efficiency !== null && c.efficiency >= t.minEfficiency),
      });
    }
  }
  return checks;
}
