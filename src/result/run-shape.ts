import type { RunResult } from './run-result.js';

type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === 'string';
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const bool: Check = (v) => typeof v === 'boolean';
const nullable =
  (c: Check): Check =>
  (v) =>
    v === null || c(v);
const obj =
  (fields: Record<string, Check>): Check =>
  (v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.entries(fields).every(([k, c]) => c((v as Record<string, unknown>)[k]));
const list =
  (c: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(c);

const latency = nullable(obj({ p50: num, p90: num, p99: num, max: num }));
const SHAPE: Record<string, Check> = {
  runId: str,
  command: (v) => v === 'scale' || v === 'burn-in',
  startedAt: str,
  interrupted: bool,
  host: obj({ hostname: str, cpuCount: num }),
  backend: obj({ kind: str }),
  module: obj({ path: str, libraryDescription: str }),
  tokens: list(obj({ slotId: str, slotDescription: str, label: str, manufacturer: str, model: str, serial: str })),
  algorithm: obj({ id: str, displayName: str }),
  mechanism: obj({ name: str }),
  keyLabel: str,
  plan: obj({ tokenCounts: list(num), threadsPerToken: num, warmupSignaturesPerToken: num, verify: obj({ mode: str, every: num }) }),
  configurations: list(
    obj({
      tokens: num,
      threadsPerToken: num,
      signaturesOk: num,
      signaturesFailed: num,
      signaturesVerified: num,
      durationS: num,
      throughputPerS: num,
      efficiency: nullable(num),
      failuresByCkr: obj({}),
      latencyMs: latency,
      perToken: list(obj({ token: num, label: str, serial: str, slotId: str, signaturesOk: num, signaturesFailed: num, throughputPerS: num, latencyMs: latency })),
      timeSeries: obj({ ok: list(num), failed: list(num) }),
      // Only a records file inside the run directory: a report must never read a file elsewhere.
      recordsFile: (v) => typeof v === 'string' && /^records\/[\w.-]+\.csv$/.test(v),
      workerIssues: list(obj({ token: num, thread: num, message: str })),
    }),
  ),
};

/**
 * The top-level fields of a run.json that do not have the shape renderers rely on: a hand-edited, truncated or
 * foreign file is reported by field instead of failing somewhere inside a renderer.
 */
export function runShapeProblems(doc: unknown): string[] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return ['the document is not a JSON object'];
  const problems = Object.entries(SHAPE)
    .filter(([field, check]) => !check((doc as Record<string, unknown>)[field]))
    .map(([field]) => field);
  const r = doc as RunResult;
  if (problems.length === 0 && r.configurations.some((c) => c.perToken.some((t) => t.token >= r.tokens.length))) problems.push('configurations[].perToken[].token');
  return problems;
}
