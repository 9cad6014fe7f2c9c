import { workloadOf } from '../model/workload.js';
import { workloadOfPlan } from './workload-plan.js';
import { existsSync } from 'node:fs';
import { ExitCode, HsmBenchError, usageError } from '../core/errors.js';
import type { InputKind } from '../core/input-file.js';
import { readJsonFile } from '../core/json-text.js';
import { scalePlan } from './plan.js';
import { labRunStartAt } from './start-at.js';
import type { PlanInput } from '../model/plan-input.js';
import { PLAN_INPUT_KEYS, planInputFromFlags, SCALE_DEFAULTS } from './plan-flags.js';
import type { RunPlan } from '../model/plan.js';
import { planOf, type Reference } from '../model/run-result.js';
import { defaultWorkspace } from '../model/embedded-workspace.js';
import { readReference } from '../result/reference.js';
import { readRunDirectory } from '../result/partial-run.js';
import type { RunResult } from '../model/run-result.js';
import { schemaProblems } from '../result/schemas.js';
import { samePlan } from '../verdict/compare.js';
import { checkThresholdsFitPlan, type Thresholds } from '../verdict/thresholds.js';
import { quote, shown } from '../core/quote.js';
import { registerSecretSources } from '../secrets/known-secrets.js';

/**
 * The fields of a plan a lab run gives as a plan input has them (src/model/plan-input.ts), so that a field added to
 * the plan is a key of a lab run too (test/run-json-types.test.ts holds the lab schema to it). Left out: those a lab
 * run gives in a form of its own (below), the top-level out, and a burn-in's own (a lab runs scale).
 */
type LabPlanFields = Omit<PlanInput, 'tokens' | 'warmup' | 'threadsPerToken' | 'rate' | 'ratePerToken' | 'verify' | 'workspace' | 'out' | 'signatures' | 'giveUpAfter'>;

/** One named run of a lab file: the flags of `scale`, as JSON, plus its thresholds and baseline. */
export interface LabRunSpec extends LabPlanFields {
  name: string;
  workspace?: string;
  pinEnv?: string;
  pinFile?: string;
  tokens: number[];
  warmup?: number;
  threadsPerToken?: number | number[];
  /** Open-loop target rates (calls per second of each configuration, or of each token). */
  rate?: number | number[];
  ratePerToken?: number | number[];
  verify?: string | number;
  thresholds?: {
    maxFailures?: number;
    minThroughput?: number | Record<string, number>;
    maxP99Ms?: number;
    minEfficiency?: number;
    minCapacity?: number | Record<string, number>;
  };
  baseline?: string;
  strictLatency?: boolean;
  maxRegressionPct?: number;
}

export interface LabRun {
  name: string;
  /** Where the run is in the file ($.runs[2]): what names its fields in messages. */
  at: string;
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
  /** As --metrics-listen: [HOST:]PORT where the lab's live metrics are served. */
  metricsListen?: string;
  runs: LabRun[];
}

type Problems = string[];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** hsm-bench's own error as a problem at `path`; any other error is a bug, and goes on. */
function problemOf(path: string, problems: Problems, error: unknown): undefined {
  if (!(error instanceof HsmBenchError)) throw error;
  // A message that names its field by its JSON path already says where it is.
  problems.push(`${error.message.startsWith('$.') ? '' : `${path}: `}${error.message}${error.hint ? ` (${error.hint})` : ''}`);
  return undefined;
}

/** Runs one of hsm-bench's own parsers, turning its error into a problem at `path`. */
function attempt<T>(path: string, problems: Problems, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    return problemOf(path, problems, error);
  }
}

/** `attempt` of a reader that reads files as it goes. */
async function attemptReading<T>(path: string, problems: Problems, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    return problemOf(path, problems, error);
  }
}

/** A run whose shape the schema accepted: what only hsm-bench's own parsers and files can tell. */
async function validateRun(spec: LabRunSpec, path: string, out: string, problems: Problems): Promise<LabRun | undefined> {
  // Known before any message about the run is made: a PIN typed into its tokenLabel is then never quoted.
  registerSecretSources(spec.pinEnv ?? 'HSM_BENCH_PIN', spec.pinFile);
  const t = spec.thresholds ?? {};
  const thresholds: Thresholds = {
    maxFailures: t.maxFailures,
    maxP99Ms: t.maxP99Ms,
    minEfficiency: t.minEfficiency,
    minThroughput: typeof t.minThroughput === 'number' ? { largest: t.minThroughput } : t.minThroughput,
    minCapacity: typeof t.minCapacity === 'number' ? { largest: t.minCapacity } : t.minCapacity,
  };
  // The fields of a plan as the file gives them (those a run of it has beside its plan left out), scale's defaults
  // for the others; a count or rate may be one number where the plan takes a list.
  const given = Object.fromEntries(Object.entries(spec).filter(([k]) => PLAN_INPUT_KEYS.has(k))) as Partial<PlanInput> & Pick<LabRunSpec, 'threadsPerToken' | 'rate' | 'ratePerToken' | 'verify'>;
  const defaults = planInputFromFlags(SCALE_DEFAULTS);
  const list = (v: number | number[] | undefined) => (v === undefined ? undefined : [v].flat());
  const input: PlanInput = {
    ...defaults,
    ...given,
    threadsPerToken: list(given.threadsPerToken) ?? defaults.threadsPerToken,
    rate: list(given.rate),
    ratePerToken: list(given.ratePerToken),
    verify: given.verify === undefined ? defaults.verify : String(given.verify),
    workspace: spec.workspace ?? defaultWorkspace(),
    out,
  };
  // A field is named by its JSON path in the file: $.runs[2].threadsPerToken, $.runs[2].slo.p99.
  const planned = attempt(path, problems, () => scalePlan(input, (field) => (field === 'out' ? '$.out' : `${path}.${field}`)));
  if (!planned) return undefined;
  const plan = planned.startAt ? { ...planned, startAt: labRunStartAt(planned.startAt) } : planned;
  attempt(`${path}.thresholds`, problems, () => checkThresholdsFitPlan(thresholds, plan));
  // What would stop a later run after the earlier ones have signed is found now, before any of them.
  if (plan.backend.kind === 'module' && plan.backend.path.includes('/') && !existsSync(plan.backend.path)) problems.push(`${path}.module: ${shown(plan.backend.path)} does not exist`);
  const baseline =
    spec.baseline === undefined
      ? undefined
      : await attemptReading(`${path}.baseline`, problems, async () => ({ result: (await readRunDirectory(spec.baseline!)).result, maxRegressionPct: spec.maxRegressionPct ?? 10, force: false }));
  const measured = baseline && workloadOf(baseline.result);
  if (baseline && measured !== workloadOfPlan(plan.workload)) problems.push(`${path}.baseline: it measured ${measured}, this run measures ${workloadOfPlan(plan.workload)}`);
  else if (baseline && !samePlan(baseline.result.plan, planOf(plan))) problems.push(`${path}.baseline: it ran another plan (token counts, stop rule, warm-up, threads or verification)`);
  return {
    name: spec.name as string,
    at: path,
    plan,
    pinEnv: (spec.pinEnv as string | undefined) ?? 'HSM_BENCH_PIN',
    pinFile: spec.pinFile as string | undefined,
    thresholds,
    baseline,
    strictLatency: spec.strictLatency === true,
  };
}

const LAB_FILE: InputKind = { what: 'lab file', maxBytes: 1024 * 1024, exitCode: ExitCode.usage, hint: 'give a JSON file as described in docs/ci.md ("Lab files")' };

/** Reads and validates a lab file before anything runs, reporting every problem at once with its path. */
export async function readLabFile(path: string): Promise<Lab> {
  const doc = readJsonFile(path, LAB_FILE);
  if (!isObject(doc)) throw usageError(`${shown(path)}: the lab file must be a JSON object with "runs"`, 'see schemas/lab.schema.json and fixtures/lab-example.json');
  // The shape from the schema alone (schemas/lab.schema.json, the file editors complete from); then, for each run
  // of the right shape, what only hsm-bench's parsers and the files it names can tell.
  // Every run's PIN source known first: a PIN typed anywhere in the file is then never quoted, not even by the schema.
  for (const run of Array.isArray(doc.runs) ? doc.runs : []) {
    if (isObject(run)) registerSecretSources(typeof run.pinEnv === 'string' ? run.pinEnv : 'HSM_BENCH_PIN', typeof run.pinFile === 'string' ? run.pinFile : undefined);
  }
  const problems: Problems = schemaProblems('lab', doc);
  const lab = doc as { out?: string; reference?: string; metricsListen?: string; runs?: LabRunSpec[] };
  const out = typeof lab.out === 'string' ? lab.out : 'reports';
  const runs: LabRun[] = [];
  const specs = Array.isArray(lab.runs) ? lab.runs : [];
  for (const [i, spec] of specs.entries()) {
    const at = `$.runs[${i}]`;
    if (problems.some((p) => p.startsWith(`${at}.`) || p.startsWith(`${at}:`))) continue;
    const run = await validateRun(spec, at, out, problems);
    if (run) runs.push(run);
  }
  const names = specs.map((spec) => (isObject(spec) ? spec.name : undefined)).filter((n): n is string => typeof n === 'string');
  [...new Set(names.filter((n, i) => names.indexOf(n) !== i))].forEach((n) => problems.push(`$.runs: the name ${quote(n)} is used twice`));
  const reference = typeof lab.reference === 'string' ? attempt('$.reference', problems, () => readReference(lab.reference!)) : undefined;
  // A problem of the file's own fields ($.out) is found once per run: said once.
  problems.splice(0, problems.length, ...new Set(problems));
  if (problems.length > 0) throw usageError(`${shown(path)} has ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`, 'fix them; nothing was run');
  return { out, reference, runs, ...(typeof lab.metricsListen === 'string' ? { metricsListen: lab.metricsListen } : {}) };
}
