import { SelectionOptions, ScaleOptions, BurnInOptions } from '../model/plan-input.js';
import { RATE_WINDOW_CAP_S } from '../stats/rate-window.js';
import { StopRule, VerifyPlan, RunPlan, BurnInPlan } from '../model/plan.js';
import { availableParallelism } from 'node:os';
import { EMBEDDED_LABEL_PREFIX } from '../model/embedded-workspace.js';
import { usageError } from '../core/errors.js';
import { operationByName } from '../operations/registry.js';
import { parseMix, singleOperation } from './workload-plan.js';
import type { TokenSelection } from '../model/plan.js';
import { parsePkcs11Uri } from '../model/token-uri.js';
import { MAX_CONFIGURATIONS, parseObjectives, targetRateOf } from './sizing-plan.js';
import { plannedConfigurations } from '../model/plan.js';
import { quote } from '../core/quote.js';

/** Verification threads by default: every core but the one the main thread records on. */
const defaultVerifyThreads = () => Math.min(16, Math.max(1, availableParallelism() - 1));

export function parsePositiveInt(flag: string, value: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d{1,16}$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw usageError(`${flag} must be a whole number from ${min} to ${max}, not ${quote(value)}`);
  }
  return Number(value);
}

/**
 * Each (token, thread) is a worker thread of ~10 MB: these bounds keep a typo (--threads-per-token 10000) from
 * exhausting memory. A network HSM saturates well below 64 sessions per partition.
 */
export const MAX_THREADS_PER_TOKEN = 64;
export const MAX_TOKENS = 256;
export const MAX_WORKERS = 512;
/** Embedded SoftHSM2 tokens share this host's cores: past a few per core they measure nothing but cost disk and time. */
export const MAX_EMBEDDED_TOKENS = 32;

/** A list of counts such as 1,2,4,8: each once, sorted. */
function parseCounts(flag: string, value: string, max: number): number[] {
  const counts = value.split(',').map((v) => parsePositiveInt(flag, v, 1, max));
  const sorted = [...new Set(counts)].sort((a, b) => a - b);
  if (sorted.length !== counts.length) throw usageError(`${flag} lists a count twice: ${quote(value)}`, `give each configuration once, e.g. ${flag} 1,2,4,8`);
  return sorted;
}

export const parseTokenCounts = (value: string) => parseCounts('--tokens', value, MAX_TOKENS);

// Durations are parsed in src/core (the probe of a module, below the engine, reads one too).
import { durationMs, parseDurationNs } from '../core/duration.js';
export { durationMs, parseDurationNs };

export function parseVerify(value: string, threads = defaultVerifyThreads()): VerifyPlan {
  if (value === 'all') return { mode: 'all', every: 1, threads };
  if (value === 'none') return { mode: 'none', every: 0, threads };
  const rate = Number(value);
  if (!/^(0|1)?\.\d+$|^1$/.test(value) || !(rate > 0 && rate <= 1)) {
    throw usageError(`--verify must be all, none or a rate in (0, 1], not ${quote(value)}`, 'for example --verify 0.01 checks every 100th signature of each worker');
  }
  const every = Math.round(1 / rate);
  return every === 1 ? { mode: 'all', every: 1, threads } : { mode: 'sample', every, threads };
}

function parseList(flag: string, value: string, item: (v: string) => string): string[] {
  const items = value.split(',').map((v) => item(v.trim()));
  if (items.some((v) => v === '')) throw usageError(`${flag} has an empty entry: ${quote(value)}`, `separate entries with single commas, e.g. ${flag} a,b`);
  const twice = items.find((v, i) => items.indexOf(v) !== i);
  if (twice !== undefined) throw usageError(`${flag} names ${quote(twice)} twice`, 'name each token once');
  return items;
}

/**
 * --slots / --serials / --token-label / --token-uri, or --all-tokens; embedded runs use only hsm-bench's own
 * tokens, in label order. Whether the user named the tokens decides where a PIN may go (see selectTokens).
 */
export function tokenSelection(o: SelectionOptions): TokenSelection {
  if (o.slots !== undefined && o.serials !== undefined) throw usageError('--slots and --serials both fix the tokens and their order; give one', 'select by slot for tokens that share a serial');
  const flags = [o.slots, o.serials, o.tokenLabel, o.tokenUri].some((f) => f !== undefined);
  if (o.allTokens === true && flags) throw usageError('--all-tokens takes every token; --slots, --serials, --token-label and --token-uri choose some', 'give one or the other');
  return {
    named: flags || o.allTokens === true || o.module === undefined,
    slotIds: o.slots === undefined ? undefined : parseList('--slots', o.slots, (s) => String(parsePositiveInt('--slots', s, 0))),
    serials: o.serials === undefined ? undefined : parseList('--serials', o.serials, (s) => s),
    labelPrefix: o.tokenLabel ?? (o.module === undefined ? EMBEDDED_LABEL_PREFIX : undefined),
    uri: o.tokenUri === undefined ? undefined : parsePkcs11Uri(o.tokenUri),
    order: o.module === undefined ? 'label' : 'slot',
  };
}

/**
 * --max-window, for a duration sweep at target rates with objectives: at least --duration (a window is never cut
 * below it), RATE_WINDOW_CAP_S by default.
 */
function rateWindowMaxOf(o: ScaleOptions): number | null {
  const applies = o.duration !== undefined && (o.rate !== undefined || o.ratePerToken !== undefined) && parseObjectives(o).length > 0;
  if (!applies) {
    if (o.maxWindow !== undefined)
      throw usageError(
        "--max-window bounds how long a rate's window grows for its objectives' percentiles: it needs --duration, --rate and an objective (--slo-p99 …)",
        'drop --max-window, or add what it bounds',
      );
    return null;
  }
  const durationS = durationMs(parseDurationNs(o.duration!)) / 1000;
  const maxS = o.maxWindow === undefined ? RATE_WINDOW_CAP_S : durationMs(parseDurationNs(o.maxWindow, '--max-window')) / 1000;
  return Math.max(durationS, maxS);
}

/** More rounds than this is a typo, not a plan: each repeats every configuration. */
export const MAX_REPEAT = 100;

export function scalePlan(o: ScaleOptions): RunPlan {
  if (o.mix !== undefined && (o.op !== undefined || o.mechanism !== undefined || o.keyLabel !== undefined)) {
    throw usageError(
      '--mix names its operations itself: --op, --mechanism and --key-label do not go with it',
      'each mixed operation uses its default mechanism and key label (hsm-bench-<alg>, hsm-bench-<alg>-decrypt…)',
    );
  }
  const workload = o.mix !== undefined ? parseMix(o.mix, o.alg) : [singleOperation(o)];
  const first = workload[0]!;
  if (o.keyLabel !== undefined && operationByName(first.operation).keyUsage === undefined) {
    throw usageError(`--op ${first.operation} uses no key pair of the token: --key-label does not apply`, 'drop --key-label');
  }
  if (o.keyLabel !== undefined && /[\u0000-\u001f\u007f]/.test(o.keyLabel)) throw usageError('--key-label has control characters', 'give the label as the token shows it');
  if (o.verify === 'none' && workload.some((e) => e.operation === 'verify')) {
    throw usageError(
      "--op verify is judged by the host's check of each answer: with --verify none a token that accepts spoiled signatures would pass",
      'keep --verify all, or check a sample: --verify 0.1',
    );
  }
  if (o.out.trim() === '') throw usageError('--out is empty', 'give the folder the run directory goes under, e.g. --out reports');
  if (o.signaturesPerToken !== undefined && o.duration !== undefined) {
    throw usageError('--signatures-per-token and --duration are two stop rules; give one', 'drop one of them');
  }
  const plan: RunPlan = {
    workload,
    operation: workload.length > 1 ? 'mix' : first.operation,
    algorithm: first.algorithm,
    mechanismChoice: workload.length > 1 ? undefined : first.mechanismChoice,
    tokenCounts: parseTokenCounts(o.tokens),
    stop:
      o.duration !== undefined
        ? { kind: 'duration', durationNs: parseDurationNs(o.duration) }
        : { kind: 'signatures', perToken: parsePositiveInt('--signatures-per-token', o.signaturesPerToken ?? '1000') },
    warmupPerToken: parsePositiveInt('--warmup', o.warmup, 0, 1_000_000),
    threadsPerToken: parseCounts('--threads-per-token', o.threadsPerToken, MAX_THREADS_PER_TOKEN),
    targetRate: targetRateOf(o),
    objectives: parseObjectives(o),
    rateWindowMaxS: rateWindowMaxOf(o),
    repeat: parsePositiveInt('--repeat', o.repeat ?? '1', 1, MAX_REPEAT),
    verify: parseVerify(o.verify, o.verifyThreads === undefined ? undefined : parsePositiveInt('--verify-threads', o.verifyThreads, 1, 64)),
    callTimeoutMs: o.callTimeout === undefined ? null : durationMs(parseDurationNs(o.callTimeout, '--call-timeout', 100)),
    keyLabel: first.keyLabel,
    backend: o.module !== undefined ? { kind: 'module', path: o.module } : { kind: 'embedded', workspace: o.workspace },
    selection: tokenSelection(o),
    outDir: o.out,
  };
  const largest = plan.tokenCounts[plan.tokenCounts.length - 1]!;
  if (plan.backend.kind === 'embedded' && largest > MAX_EMBEDDED_TOKENS) {
    throw usageError(
      `the embedded backend makes at most ${MAX_EMBEDDED_TOKENS} SoftHSM2 tokens, not ${largest}`,
      `they would share this host's CPU cores; lower --tokens, or point --module at real tokens`,
    );
  }
  const workers = largest * plan.threadsPerToken[plan.threadsPerToken.length - 1]!;
  if (workers > MAX_WORKERS) {
    throw usageError(`${workers} sessions (tokens × --threads-per-token) is more than the ${MAX_WORKERS} hsm-bench runs at once`, 'lower --tokens or --threads-per-token');
  }
  if (plan.targetRate === null && plan.stop.kind === 'signatures' && plan.stop.perToken < plan.threadsPerToken[plan.threadsPerToken.length - 1]!) {
    throw usageError('--signatures-per-token is smaller than --threads-per-token', 'every thread needs at least one call');
  }
  if (plan.objectives.length > 0 && plan.targetRate === null) {
    throw usageError(
      'a latency objective (--slo-p99 …) is judged on response times at a target rate, and no --rate was given',
      'add a rate sweep, e.g. --rate 50,100,200,400 --slo-p99 50ms (closed-loop latency hides queueing: see README, Sizing a cluster)',
    );
  }
  const configurations = plannedConfigurations(plan.tokenCounts, plan.threadsPerToken, plan.targetRate).length * plan.repeat;
  if (configurations > MAX_CONFIGURATIONS) {
    throw usageError(`the plan has ${configurations} configurations (tokens × sessions × rates × repeat), more than ${MAX_CONFIGURATIONS}`, 'sweep fewer values at once');
  }
  return Object.freeze(plan);
}

/** Burn-in: N tokens (a count, not a list) sign until a total of signatures or a duration is reached. */
export function burnInPlan(o: BurnInOptions): BurnInPlan {
  if ((o.signatures === undefined) === (o.duration === undefined)) {
    throw usageError('burn-in needs one stop rule: --signatures TOTAL or --duration TIME', 'for example --signatures 1000000, or --duration 23h');
  }
  const tokens = parsePositiveInt('--tokens', o.tokens, 1, MAX_TOKENS);
  parsePositiveInt('--threads-per-token', o.threadsPerToken, 1, MAX_THREADS_PER_TOKEN);
  const base = scalePlan({ ...o, tokens: String(tokens), signaturesPerToken: undefined, duration: o.duration, repeat: undefined });
  if ((base.targetRate?.perS.length ?? 0) > 1) throw usageError('a burn-in runs at one target rate', 'give one --rate (sweep rates with scale)');
  const stop: StopRule = o.signatures !== undefined ? { kind: 'total', signatures: parsePositiveInt('--signatures', o.signatures) } : base.stop;
  return Object.freeze({
    ...base,
    stop,
    giveUpAfterMs: durationMs(parseDurationNs(o.giveUpAfter, '--give-up-after', 100)),
    progressIntervalMs: durationMs(parseDurationNs(o.progressInterval, '--progress-interval', 100)),
  });
}
