import { usageError } from '../errors.js';
import type { RunResult, TokenIdentity } from '../result/run-result.js';

export interface ComparisonRow {
  tokens: number;
  baselineThroughputPerS: number;
  candidateThroughputPerS: number;
  throughputChangePct: number;
  baselineP50Ms: number | null;
  candidateP50Ms: number | null;
  p50ChangePct: number | null;
  baselineP99Ms: number | null;
  candidateP99Ms: number | null;
  p99ChangePct: number | null;
  baselineFailures: number;
  candidateFailures: number;
  regressions: string[];
}

export interface RunComparison {
  maxRegressionPct: number;
  rows: ComparisonRow[];
  regressed: boolean;
}

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

/** Why two runs are not comparable; empty when they are (same tokens, algorithm, mechanism and plan). */
export function incomparability(a: RunResult, b: RunResult): string[] {
  const reasons: string[] = [];
  const serials = (r: RunResult) => r.tokens.map((t) => t.serial).join(', ');
  if (a.tokens.length !== b.tokens.length || !sharesTokens(a, b)) reasons.push(`tokens differ (${serials(a)} vs ${serials(b)})`);
  if (a.algorithm.id !== b.algorithm.id) reasons.push(`algorithms differ (${a.algorithm.id} vs ${b.algorithm.id})`);
  if (a.mechanism.name !== b.mechanism.name) reasons.push(`mechanisms differ (${a.mechanism.name} vs ${b.mechanism.name})`);
  if (!samePlan(a.plan, b.plan)) reasons.push('plans differ (token counts, stop rule, warm-up, threads or verification)');
  return reasons;
}

/** Whether two plans measure the same thing: how many verification threads did the checking does not matter. */
export function samePlan(a: RunResult['plan'], b: RunResult['plan']): boolean {
  const measured = (p: RunResult['plan']) => JSON.stringify({ ...p, verify: p.verify.mode });
  return measured(a) === measured(b);
}

/**
 * Baseline vs candidate, configuration by configuration. A regression is throughput falling, or p50/p99 latency
 * rising, by more than `maxRegressionPct`, or failures appearing where the baseline had none.
 */
export function compareRuns(baseline: RunResult, candidate: RunResult, maxRegressionPct: number, force: boolean): RunComparison {
  const reasons = incomparability(baseline, candidate);
  if (reasons.length > 0 && !force) throw usageError(`the runs are not comparable: ${reasons.join('; ')}`, 'compare runs of the same plan on the same tokens, or add --force');
  const rows = baseline.configurations.flatMap((a): ComparisonRow[] => {
    const b = candidate.configurations.find((c) => c.tokens === a.tokens);
    if (!b) return [];
    const row: ComparisonRow = {
      tokens: a.tokens,
      baselineThroughputPerS: a.throughputPerS,
      candidateThroughputPerS: b.throughputPerS,
      throughputChangePct: change(a.throughputPerS, b.throughputPerS) ?? 0,
      baselineP50Ms: a.latencyMs?.p50 ?? null,
      candidateP50Ms: b.latencyMs?.p50 ?? null,
      p50ChangePct: change(a.latencyMs?.p50, b.latencyMs?.p50),
      baselineP99Ms: a.latencyMs?.p99 ?? null,
      candidateP99Ms: b.latencyMs?.p99 ?? null,
      p99ChangePct: change(a.latencyMs?.p99, b.latencyMs?.p99),
      baselineFailures: a.signaturesFailed,
      candidateFailures: b.signaturesFailed,
      regressions: [],
    };
    if (row.throughputChangePct < -maxRegressionPct) row.regressions.push(`throughput ${row.throughputChangePct} %`);
    if ((row.p50ChangePct ?? 0) > maxRegressionPct) row.regressions.push(`p50 latency +${row.p50ChangePct} %`);
    if ((row.p99ChangePct ?? 0) > maxRegressionPct) row.regressions.push(`p99 latency +${row.p99ChangePct} %`);
    if (b.signaturesFailed > 0 && a.signaturesFailed === 0) row.regressions.push(`${b.signaturesFailed} failures (baseline: none)`);
    return [row];
  });
  if (rows.length === 0) throw usageError('the runs have no configuration in common', 'compare runs with at least one common number of tokens');
  return { maxRegressionPct, rows, regressed: rows.some((r) => r.regressions.length > 0) };
}
