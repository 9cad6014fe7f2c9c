import { existsSync, readFileSync } from 'node:fs';
import { HsmBenchError, usageError } from '../errors.js';
import { scalePlan, type RunPlan, type ScaleOptions } from '../engine/plan.js';
import { planOf } from '../engine/run-result-builder.js';
import { defaultWorkspace } from '../embedded/softhsm.js';
import { algorithmById } from '../pkcs11/algorithms.js';
import { readReference, type Reference } from '../render/reference.js';
import { readRunJson } from '../result/run-directory.js';
import type { RunResult } from '../result/run-result.js';
import { samePlan } from '../verdict/compare.js';
import { checkThresholdsFitPlan, type Thresholds } from '../verdict/thresholds.js';

/** One named run of a lab file: the flags of `scale`, as JSON, plus its thresholds and baseline. */
export interface LabRunSpec {
  name: string;
  module?: string;
  workspace?: string;
  slots?: number[];
  serials?: string[];
  tokenLabel?: string;
  tokenUri?: string;
  pinEnv?: string;
  pinFile?: string;
  alg: string;
  mechanism?: string;
  tokens: number[];
  signaturesPerToken?: number;
  repeat?: number;
  duration?: string;
  warmup?: number;
  threadsPerToken?: number;
  verify?: string | number;
  keyLabel?: string;
  thresholds?: { maxFailures?: number; minThroughput?: number | Record<string, number>; maxP99Ms?: number; minEfficiency?: number };
  baseline?: string;
  strictLatency?: boolean;
  maxRegressionPct?: number;
}

export interface LabRun {
  name: string;
  plan: RunPlan;
  pinEnv: string;
  pinFile?: string;
  thresholds: Thresholds;
  baseline?: { result: RunResult; maxRegressionPct: number; force: boolean };
  strictLatency: boolean;
}

export interface Lab {
  out: string;
  reference?: Reference;
  runs: LabRun[];
}

/** The keys the validator knows: kept equal to lab.schema.json by a test. */
export const LAB_KEYS = ['out', 'reference', 'runs'] as const;
export const RUN_KEYS = [
  'name',
  'module',
  'workspace',
  'slots',
  'serials',
  'tokenLabel',
  'tokenUri',
  'pinEnv',
  'pinFile',
  'alg',
  'mechanism',
  'tokens',
  'signaturesPerToken',
  'repeat',
  'duration',
  'warmup',
  'threadsPerToken',
  'verify',
  'keyLabel',
  'thresholds',
  'baseline',
  'strictLatency',
  'maxRegressionPct',
] as const;
export const THRESHOLD_KEYS = ['maxFailures', 'minThroughput', 'maxP99Ms', 'minEfficiency'] as const;

type Problems = string[];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkKeys(obj: Record<string, unknown>, known: readonly string[], path: string, problems: Problems): void {
  for (const key of Object.keys(obj)) {
    if (/^(so)?pin$/i.test(key)) problems.push(`${path}.${key}: a PIN is never written in a lab file; name where it is with pinEnv or pinFile`);
    else if (!known.includes(key)) problems.push(`${path}.${key}: unknown key (known: ${known.join(', ')})`);
  }
}

function expectType(obj: Record<string, unknown>, key: string, type: 'string' | 'number' | 'integer' | 'integer[]' | 'string[]', path: string, problems: Problems, required = false): void {
  const v = obj[key];
  if (v === undefined) {
    if (required) problems.push(`${path}.${key}: required`);
    return;
  }
  const ok =
    type === 'string'
      ? typeof v === 'string' && v !== ''
      : type === 'number'
        ? typeof v === 'number' && Number.isFinite(v) && v >= 0
        : type === 'integer'
          ? Number.isInteger(v) && (v as number) >= 0
          : type === 'string[]'
            ? Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x !== '')
            : Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 0);
  if (!ok)
    problems.push(
      `${path}.${key}: must be ${type === 'string[]' ? 'a non-empty list of non-empty strings' : type === 'integer[]' ? 'a non-empty list of whole numbers' : type === 'integer' ? 'a whole number ≥ 0' : type === 'number' ? 'a number ≥ 0' : 'a non-empty string'}, not ${JSON.stringify(v)}`,
    );
}

/** Runs one of hsm-bench's own parsers, turning its error into a problem at `path`. */
function attempt<T>(path: string, problems: Problems, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof HsmBenchError)) throw error;
    problems.push(`${path}: ${error.message}${error.hint ? ` (${error.hint})` : ''}`);
    return undefined;
  }
}

function validateRun(spec: Record<string, unknown>, path: string, out: string, problems: Problems): LabRun | undefined {
  const before = problems.length;
  checkKeys(spec, RUN_KEYS, path, problems);
  for (const key of ['name', 'module', 'workspace', 'tokenLabel', 'tokenUri', 'pinEnv', 'pinFile', 'alg', 'mechanism', 'duration', 'keyLabel', 'baseline'] as const)
    expectType(spec, key, 'string', path, problems, key === 'name' || key === 'alg');
  for (const key of ['signaturesPerToken', 'repeat', 'warmup', 'threadsPerToken'] as const) expectType(spec, key, 'integer', path, problems);
  expectType(spec, 'maxRegressionPct', 'number', path, problems);
  if (spec.strictLatency !== undefined && typeof spec.strictLatency !== 'boolean') problems.push(`${path}.strictLatency: must be true or false`);
  expectType(spec, 'tokens', 'integer[]', path, problems, true);
  expectType(spec, 'slots', 'integer[]', path, problems);
  expectType(spec, 'serials', 'string[]', path, problems);
  if (spec.verify !== undefined && typeof spec.verify !== 'string' && typeof spec.verify !== 'number')
    problems.push(`${path}.verify: must be "all", "none" or a rate, not ${JSON.stringify(spec.verify)}`);
  if (typeof spec.alg === 'string') attempt(`${path}.alg`, problems, () => algorithmById(spec.alg as string));
  const t = spec.thresholds;
  if (t !== undefined && !isObject(t)) problems.push(`${path}.thresholds: must be an object`);
  const thresholds: Thresholds = {};
  if (isObject(t)) {
    checkKeys(t, THRESHOLD_KEYS, `${path}.thresholds`, problems);
    for (const key of ['maxFailures'] as const) expectType(t, key, 'integer', `${path}.thresholds`, problems);
    for (const key of ['maxP99Ms', 'minEfficiency'] as const) expectType(t, key, 'number', `${path}.thresholds`, problems);
    const mt = t.minThroughput;
    if (typeof mt === 'number') thresholds.minThroughput = { largest: mt };
    else if (isObject(mt) && Object.entries(mt).every(([k, v]) => /^\d+$/.test(k) && typeof v === 'number')) thresholds.minThroughput = mt as Record<string, number>;
    else if (mt !== undefined) problems.push(`${path}.thresholds.minThroughput: must be a number (largest configuration) or { "TOKENS": RATE, … }`);
    Object.assign(thresholds, { maxFailures: t.maxFailures, maxP99Ms: t.maxP99Ms, minEfficiency: t.minEfficiency });
  }
  if (problems.length > before) return undefined;
  const options: ScaleOptions = {
    alg: spec.alg as string,
    mechanism: spec.mechanism as string | undefined,
    tokens: (spec.tokens as number[]).join(','),
    signaturesPerToken: spec.signaturesPerToken === undefined ? undefined : String(spec.signaturesPerToken),
    repeat: spec.repeat === undefined ? undefined : String(spec.repeat),
    duration: spec.duration as string | undefined,
    warmup: String(spec.warmup ?? 10),
    threadsPerToken: String(spec.threadsPerToken ?? 1),
    verify: String(spec.verify ?? 'all'),
    keyLabel: spec.keyLabel as string | undefined,
    module: spec.module as string | undefined,
    workspace: (spec.workspace as string | undefined) ?? defaultWorkspace(),
    slots: (spec.slots as number[] | undefined)?.join(','),
    serials: (spec.serials as string[] | undefined)?.join(','),
    tokenLabel: spec.tokenLabel as string | undefined,
    tokenUri: spec.tokenUri as string | undefined,
    out,
  };
  const plan = attempt(path, problems, () => scalePlan(options));
  if (!plan) return undefined;
  attempt(`${path}.thresholds`, problems, () => checkThresholdsFitPlan(thresholds, plan.tokenCounts));
  // What would stop a later run after the earlier ones have signed is found now, before any of them.
  if (plan.backend.kind === 'module' && plan.backend.path.includes('/') && !existsSync(plan.backend.path)) problems.push(`${path}.module: ${plan.backend.path} does not exist`);
  const baseline =
    spec.baseline === undefined
      ? undefined
      : attempt(`${path}.baseline`, problems, () => ({ result: readRunJson(spec.baseline as string), maxRegressionPct: (spec.maxRegressionPct as number | undefined) ?? 10, force: false }));
  if (baseline && baseline.result.algorithm.id !== plan.algorithm.id) problems.push(`${path}.baseline: it measured ${baseline.result.algorithm.id}, this run measures ${plan.algorithm.id}`);
  else if (baseline && !samePlan(baseline.result.plan, planOf(plan))) problems.push(`${path}.baseline: it ran another plan (token counts, stop rule, warm-up, threads or verification)`);
  return {
    name: spec.name as string,
    plan,
    pinEnv: (spec.pinEnv as string | undefined) ?? 'HSM_BENCH_PIN',
    pinFile: spec.pinFile as string | undefined,
    thresholds,
    baseline,
    strictLatency: spec.strictLatency === true,
  };
}

/** Reads and validates a lab file before anything runs, reporting every problem at once with its path. */
export function readLabFile(path: string): Lab {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw usageError(`cannot read the lab file ${path}: ${(error as Error).message}`, 'give a JSON file as described in README.md ("Using hsm-bench in CI")');
  }
  const problems: Problems = [];
  if (!isObject(doc)) throw usageError(`${path}: the lab file must be a JSON object with "runs"`);
  checkKeys(doc, LAB_KEYS, '$', problems);
  expectType(doc, 'out', 'string', '$', problems);
  expectType(doc, 'reference', 'string', '$', problems);
  const out = (doc.out as string | undefined) ?? 'reports';
  const runs: LabRun[] = [];
  if (!Array.isArray(doc.runs) || doc.runs.length === 0) problems.push('$.runs: required, a non-empty list of runs');
  else {
    doc.runs.forEach((spec, i) => {
      if (!isObject(spec)) return problems.push(`$.runs[${i}]: must be an object`);
      const run = validateRun(spec, `$.runs[${i}]`, out, problems);
      if (run) runs.push(run);
    });
    const names = doc.runs.map((spec) => (isObject(spec) ? spec.name : undefined)).filter((n): n is string => typeof n === 'string');
    [...new Set(names.filter((n, i) => names.indexOf(n) !== i))].forEach((n) => problems.push(`$.runs: the name '${n}' is used twice`));
  }
  const reference = typeof doc.reference === 'string' ? attempt('$.reference', problems, () => readReference(doc.reference as string)) : undefined;
  if (problems.length > 0) throw usageError(`${path} has ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`, 'fix them; nothing was run');
  return { out, reference, runs };
}
