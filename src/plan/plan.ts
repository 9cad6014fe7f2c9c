import type { FieldNames, PlanField, PlanInput, SelectionInput } from '../model/plan-input.js';
import { RATE_WINDOW_CAP_S } from '../stats/rate-window.js';
import { StopRule, VerifyPlan, RunPlan, BurnInPlan, RECORDS_KEPT, type RecordsKept } from '../model/plan.js';
import { availableParallelism } from 'node:os';
import { EMBEDDED_LABEL_PREFIX } from '../model/embedded-workspace.js';
import { usageError } from '../core/errors.js';
import { operationByName } from '../operations/registry.js';
import { parseMix, singleOperation } from './workload-plan.js';
import type { Backend, PerCall, TokenSelection, WorkloadEntry } from '../model/plan.js';
import { parsePkcs11Uri } from '../model/token-uri.js';
import { MAX_CONFIGURATIONS, parseObjectives, targetRateOf } from './sizing-plan.js';
import { plannedConfigurations } from '../model/plan.js';
import { isSecret, quote } from '../core/quote.js';
import { uriCarriesPin } from '../core/uri-pin.js';
import { byteSizeText, parseByteSize } from '../core/byte-size.js';
import { MESSAGE_BYTES } from '../model/message.js';
import { flagOf } from './plan-flags.js';
import { parseStartAt, startAtPassed } from './start-at.js';

/** Verification threads by default: every core but the one the main thread records on. */
export const defaultVerifyThreads = () => Math.min(16, Math.max(1, availableParallelism() - 1));

/** A count of a plan, whichever source gave it: a whole number within its bounds. */
function wholeNumber(name: string, value: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw usageError(`${name} must be a whole number from ${min} to ${max}, not ${quote(String(value))}`);
  return value;
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
function counts(name: string, values: readonly number[], max: number): number[] {
  values.forEach((v) => wholeNumber(name, v, 1, max));
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (sorted.length === 0) throw usageError(`${name} is empty`, `give at least one count, e.g. 1,2,4,8`);
  if (sorted.length !== values.length) throw usageError(`${name} lists a count twice: ${quote(values.join(','))}`, 'give each configuration once, e.g. 1,2,4,8');
  return sorted;
}

// Durations are parsed in src/core (the probe of a module, below the engine, reads one too).
import { durationMs, parseDurationNs } from '../core/duration.js';
export { durationMs, parseDurationNs };

/** --records: all (the default), failures or none. */
function recordsKeptOf(value: string | undefined, name: string): RecordsKept {
  if (value === undefined) return 'all';
  if ((RECORDS_KEPT as readonly string[]).includes(value)) return value as RecordsKept;
  throw usageError(
    `${name} must be one of ${RECORDS_KEPT.join(', ')}, not ${quote(value)}`,
    `${name} all keeps every call's record; failures only the failed calls'; none no record (the results and statistics are the same)`,
  );
}

export function parseVerify(value: string, threads = defaultVerifyThreads(), name = '--verify'): VerifyPlan {
  if (value === 'all') return { mode: 'all', every: 1, threads };
  if (value === 'none') return { mode: 'none', every: 0, threads };
  const rate = Number(value);
  if (!/^(0|1)?\.\d+$|^1$/.test(value) || !(rate > 0 && rate <= 1)) {
    throw usageError(`${name} must be all, none or a rate in (0, 1], not ${quote(value)}`, 'for example 0.01 checks every 100th signature of each worker');
  }
  const every = Math.round(1 / rate);
  return every === 1 ? { mode: 'all', every: 1, threads } : { mode: 'sample', every, threads };
}

function tokenList(name: string, items: readonly string[]): string[] {
  if (items.some((v) => v === '')) throw usageError(`${name} has an empty entry: ${quote(items.join(','))}`, 'separate entries with single commas, e.g. a,b');
  const twice = items.find((v, i) => items.indexOf(v) !== i);
  if (twice !== undefined) throw usageError(`${name} names ${quote(twice)} twice`, 'name each token once');
  return [...items];
}

/**
 * --slots / --serials / --token-label / --token-uri, or --all-tokens; embedded runs use only hsm-bench's own
 * tokens, in label order. Whether the user named the tokens decides where a PIN may go (see selectTokens).
 */
export function tokenSelection(o: SelectionInput, name: FieldNames = flagOf): TokenSelection {
  if (o.slots !== undefined && o.serials !== undefined)
    throw usageError(`${name('slots')} and ${name('serials')} both fix the tokens and their order; give one`, 'select by slot for tokens that share a serial');
  // An empty value (an unset variable in a script) names no token: taken as a selection, it would let a PIN go to all.
  for (const field of ['tokenLabel', 'tokenUri'] as const) if (o[field]?.trim() === '') throw usageError(`${name(field)} is empty`, 'name the tokens, or leave the flag out');
  const flags = [o.slots, o.serials, o.tokenLabel, o.tokenUri].some((f) => f !== undefined);
  if (o.allTokens === true && flags) {
    throw usageError(`${name('allTokens')} takes every token; ${['slots', 'serials', 'tokenLabel', 'tokenUri'].map((f) => name(f as 'slots')).join(', ')} choose some`, 'give one or the other');
  }
  return {
    named: flags || o.allTokens === true || o.module === undefined,
    slotIds:
      o.slots === undefined
        ? undefined
        : tokenList(
            name('slots'),
            o.slots.map((s) => String(wholeNumber(name('slots'), s, 0))),
          ),
    serials: o.serials === undefined ? undefined : tokenList(name('serials'), o.serials),
    labelPrefix: o.tokenLabel ?? (o.module === undefined ? EMBEDDED_LABEL_PREFIX : undefined),
    uri: o.tokenUri === undefined ? undefined : parsePkcs11Uri(o.tokenUri, name('tokenUri')),
    order: o.module === undefined ? 'label' : 'slot',
  };
}

/** --module, or hsm-bench's embedded tokens in --workspace. */
export const backendOf = (o: { module?: string; workspace: string }): Backend => (o.module !== undefined ? { kind: 'module', path: o.module } : { kind: 'embedded', workspace: o.workspace });

/**
 * --max-window, for a duration sweep at target rates with objectives: at least --duration (a window is never cut
 * below it), RATE_WINDOW_CAP_S by default.
 */
function rateWindowMaxOf(o: PlanInput, name: FieldNames): number | null {
  const applies = o.duration !== undefined && (o.rate !== undefined || o.ratePerToken !== undefined) && parseObjectives(o, name).length > 0;
  if (!applies) {
    if (o.maxWindow !== undefined)
      throw usageError(
        `${name('maxWindow')} bounds how long a rate's window grows for its objectives' percentiles: it needs a duration, target rates and an objective (${name('slo.p99')} …)`,
        `drop ${name('maxWindow')}, or add what it bounds`,
      );
    return null;
  }
  const durationS = durationMs(parseDurationNs(o.duration!, name('duration'))) / 1000;
  const maxS = o.maxWindow === undefined ? RATE_WINDOW_CAP_S : durationMs(parseDurationNs(o.maxWindow, name('maxWindow'))) / 1000;
  return Math.max(durationS, maxS);
}

/**
 * How each call holds its session and key. A session per call cannot go with derive or keygen, which read back what
 * the call made from its session after the clock stops; a key found per call needs a token key (not a test key imported into the session).
 */
function perCallOf(o: PlanInput, workload: readonly WorkloadEntry[], name: FieldNames): PerCall {
  const perCall = { session: o.sessionPerCall === true, findKey: o.findKeyPerCall === true };
  for (const e of workload) {
    const op = operationByName(e.operation);
    if (perCall.session && (op.call === 'derive' || op.call === 'keygen')) {
      throw usageError(
        `${e.operation} reads what each call made back from the call's session after the clock stops: ${name('sessionPerCall')} does not go with it`,
        `drop ${name('sessionPerCall')}, or measure another operation`,
      );
    }
    if (perCall.findKey && op.keyUsage?.(e.algorithm) === undefined && !e.asGiven) {
      throw usageError(`${e.operation} uses no key of the token to find: ${name('findKeyPerCall')} does not apply`, `drop ${name('findKeyPerCall')}`);
    }
  }
  return perCall;
}

/**
 * --data-size and --multipart: the sizes, each once and sorted, of an operation that hands the token its message
 * (src/operations/: dataSizeProblem); at least the message that makes every call's input unique.
 */
function payloadOf(o: PlanInput, workload: readonly WorkloadEntry[], name: FieldNames): Pick<RunPlan, 'dataSizesBytes' | 'multipartChunkBytes'> {
  if (o.dataSize === undefined) {
    if (o.multipart !== undefined) throw usageError(`${name('multipart')} splits each call's data: it needs ${name('dataSize')}`, `add ${name('dataSize')}, e.g. 1M`);
    return { dataSizesBytes: null, multipartChunkBytes: null };
  }
  if (workload.length > 1) throw usageError(`${name('dataSize')} does not go with ${name('mix')}`, 'measure one operation at a time over data sizes');
  const entry = workload[0]!;
  const op = operationByName(entry.operation);
  // A mechanism as given is passed as it is: whether it hashes inside the token, and so whether a size means anything, is unknown.
  if (entry.asGiven) {
    throw usageError(
      `${name('dataSize')} does not go with a mechanism by PKCS#11 name or number: hsm-bench cannot tell whether the token is handed the data whole`,
      `measure data sizes with hsm-bench's own --op and --alg words, or drop ${name('dataSize')}`,
    );
  }
  const refusal = op.dataSizeRefusal?.(entry.mechanismChoice) ?? (op.dataSizeProblem === undefined ? 'it is fixed by the key or made by the host' : undefined);
  if (refusal !== undefined || op.dataSizeProblem === undefined) {
    throw usageError(
      `${entry.operation} takes no ${name('dataSize')}: its input is not data the token is handed whole (${refusal})`,
      'data sizes apply to digest, mac, encrypt, AES decrypt, and sign with a mechanism that hashes inside the token',
    );
  }
  const texts = o.dataSize.split(',');
  const sizes = texts.map((t) => parseByteSize(t, name('dataSize'), MESSAGE_BYTES));
  if (new Set(sizes).size !== sizes.length) throw usageError(`${name('dataSize')} lists a size twice: ${quote(o.dataSize)}`, 'give each size once, e.g. 32,1k,64k');
  for (const bytes of sizes) {
    const problem = op.dataSizeProblem(entry.mechanismChoice, bytes);
    if (problem !== undefined) throw usageError(`${name('dataSize')} ${byteSizeText(bytes)}: ${problem}`, `choose other sizes for ${entry.operation}`);
  }
  const chunkBytes = o.multipart === undefined ? null : parseByteSize(o.multipart, name('multipart'), 1, '4k');
  // A chunk no smaller than every size hands each call's data in one C_*Update: not the parts it says.
  if (chunkBytes !== null && sizes.every((bytes) => bytes <= chunkBytes)) {
    throw usageError(
      `${name('multipart')} ${byteSizeText(chunkBytes)} is no smaller than ${name('dataSize')} ${quote(o.dataSize)}: each call would hand its data in one part`,
      `give a chunk smaller than the data (e.g. ${name('multipart')} ${byteSizeText(Math.max(MESSAGE_BYTES, Math.floor(Math.max(...sizes) / 4)))}), or leave ${name('multipart')} out`,
    );
  }
  return { dataSizesBytes: sizes.sort((a, b) => a - b), multipartChunkBytes: chunkBytes };
}

/** More rounds than this is a typo, not a plan: each repeats every configuration. */
export const MAX_REPEAT = 100;

/**
 * A scale run's plan from its input, validated once; `name` says a field as its source does (a flag, or a lab
 * file's JSON path), so a message points at what the user wrote.
 */
export function scalePlan(o: PlanInput, name: FieldNames = flagOf): RunPlan {
  refuseSecrets(o, name);
  if (o.mix !== undefined && (o.op !== undefined || o.mechanism !== undefined || o.keyLabel !== undefined)) {
    throw usageError(
      `${name('mix')} names its operations itself: ${name('op')}, ${name('mechanism')} and ${name('keyLabel')} do not go with it`,
      'each mixed operation uses its default mechanism and key label (hsm-bench-<alg>, hsm-bench-<alg>-decrypt…)',
    );
  }
  const workload = o.mix !== undefined ? parseMix(o.mix, o.alg, name) : [singleOperation(o, name)];
  const first = workload[0]!;
  if (o.mix === undefined && o.alg === undefined && first.operation === 'sign' && !first.asGiven) {
    throw usageError(`${name('alg')} is needed to sign: which key algorithm?`, `use one of: ${operationByName('sign').algorithms.join(', ')}`);
  }
  if (o.mix !== undefined && o.mechanismParams !== undefined)
    throw usageError(`${name('mix')} names its operations itself: ${name('mechanismParams')} does not go with it`, `drop ${name('mechanismParams')}`);
  if (o.keyLabel !== undefined && operationByName(first.operation).keyUsage?.(first.algorithm) === undefined && !first.asGiven) {
    throw usageError(`${first.operation} uses no key pair of the token: ${name('keyLabel')} does not apply`, `drop ${name('keyLabel')}`);
  }
  if (o.mix !== undefined && o.keyId !== undefined) throw usageError(`${name('mix')} names its operations itself: ${name('keyId')} does not go with it`, `drop ${name('keyId')}`);
  if (o.keyLabel === '') throw usageError(`${name('keyLabel')} is empty`, 'give the label of the key as the token shows it, or leave the flag out for the default key');
  if (o.keyLabel !== undefined && /[\u0000-\u001f\u007f]/.test(o.keyLabel)) throw usageError(`${name('keyLabel')} has control characters`, 'give the label as the token shows it');
  if (o.verify === 'none' && workload.some((e) => e.operation === 'verify')) {
    throw usageError(`verify is judged by the host's check of each answer: with ${name('verify')} none a token that accepts spoiled signatures would pass`, 'keep verify all, or check a sample: 0.1');
  }
  if (o.out.trim() === '') throw usageError(`${name('out')} is empty`, 'give the folder the run directory goes under, e.g. reports');
  if (o.signaturesPerToken !== undefined && o.duration !== undefined) {
    throw usageError(`${name('signaturesPerToken')} and ${name('duration')} are two stop rules; give one`, 'drop one of them');
  }
  const plan: RunPlan = {
    workload,
    operation: workload.length > 1 ? 'mix' : first.operation,
    algorithm: first.algorithm,
    mechanismChoice: workload.length > 1 ? undefined : first.mechanismChoice,
    tokenCounts: counts(name('tokens'), o.tokens, MAX_TOKENS),
    stop:
      o.duration !== undefined
        ? { kind: 'duration', durationNs: parseDurationNs(o.duration, name('duration')) }
        : { kind: 'signatures', perToken: wholeNumber(name('signaturesPerToken'), o.signaturesPerToken ?? 1000) },
    warmupPerToken: wholeNumber(name('warmup'), o.warmup, 0, 1_000_000),
    threadsPerToken: counts(name('threadsPerToken'), o.threadsPerToken, MAX_THREADS_PER_TOKEN),
    targetRate: targetRateOf(o, name),
    objectives: parseObjectives(o, name),
    rateWindowMaxS: rateWindowMaxOf(o, name),
    repeat: wholeNumber(name('repeat'), o.repeat ?? 1, 1, MAX_REPEAT),
    // A mechanism as given has no host check: nothing is kept for one (the run says why).
    verify: first.asGiven
      ? { mode: 'none', every: 0, threads: 0 }
      : parseVerify(o.verify, o.verifyThreads === undefined ? undefined : wholeNumber(name('verifyThreads'), o.verifyThreads, 1, 64), name('verify')),
    callTimeoutMs: o.callTimeout === undefined ? null : durationMs(parseDurationNs(o.callTimeout, name('callTimeout'), 100)),
    perCall: perCallOf(o, workload, name),
    ...payloadOf(o, workload, name),
    records: recordsKeptOf(o.records, name('records')),
    calibrate: o.calibrate !== false,
    keyLabel: first.keyLabel,
    backend: backendOf(o),
    selection: tokenSelection(o, name),
    outDir: o.out,
    ...(o.startAt === undefined
      ? {}
      : { startAt: { ...parseStartAt(o.startAt, name('startAt')), ...(o.settle === undefined ? {} : { settleMs: durationMs(parseDurationNs(o.settle, name('settle'))) }) } }),
  };
  if (plan.startAt && plan.startAt.atMs <= Date.now()) throw startAtPassed(plan.startAt, Date.now(), false);
  if (o.settle !== undefined && o.startAt === undefined)
    throw usageError(`${name('settle')} is the time between configurations started together: it goes with ${name('startAt')}`, `add ${name('startAt')}, or drop ${name('settle')}`);
  // Runs started together are made to be merged, and merge adds up one repetition of one operation.
  if (plan.startAt && (plan.repeat > 1 || o.mix !== undefined)) {
    const what = plan.repeat > 1 ? name('repeat') : name('mix');
    throw usageError(`${name('startAt')} with ${what}: hsm-bench merge adds up runs of one repetition of one operation, so these runs could not be merged`, `drop ${what}, or ${name('startAt')}`);
  }
  // Each later configuration opens at a moment every host computes from the plan: its window's length must be known.
  if (plan.startAt && plannedConfigurations(plan.tokenCounts, plan.threadsPerToken, plan.targetRate, plan.dataSizesBytes).length * plan.repeat > 1 && plan.stop.kind !== 'duration') {
    throw usageError(
      `${name('startAt')} with several configurations needs ${name('duration')}: each later configuration starts a planned window after the one before it, on every host`,
      `add ${name('duration')} (e.g. 30s), or run one configuration`,
    );
  }
  const largest = plan.tokenCounts[plan.tokenCounts.length - 1]!;
  if (plan.backend.kind === 'embedded' && largest > MAX_EMBEDDED_TOKENS) {
    throw usageError(
      `the embedded backend makes at most ${MAX_EMBEDDED_TOKENS} SoftHSM2 tokens, not ${largest}`,
      `they would share this host's CPU cores; lower ${name('tokens')}, or point ${name('module')} at real tokens`,
    );
  }
  const workers = largest * plan.threadsPerToken[plan.threadsPerToken.length - 1]!;
  if (workers > MAX_WORKERS) {
    throw usageError(`${workers} sessions (tokens × ${name('threadsPerToken')}) is more than the ${MAX_WORKERS} hsm-bench runs at once`, `lower ${name('tokens')} or ${name('threadsPerToken')}`);
  }
  if (plan.targetRate === null && plan.stop.kind === 'signatures' && plan.stop.perToken < plan.threadsPerToken[plan.threadsPerToken.length - 1]!) {
    throw usageError(`${name('signaturesPerToken')} is smaller than ${name('threadsPerToken')}`, 'every thread needs at least one call');
  }
  if (plan.objectives.length > 0 && plan.targetRate === null) {
    throw usageError(
      `a latency objective (${name('slo.p99')} …) is judged on response times at a target rate, and no ${name('rate')} was given`,
      `add a rate sweep to ${name('rate')}, e.g. 50,100,200,400 (closed-loop latency hides queueing: see docs/sizing.md)`,
    );
  }
  // A rate sweep's capacity and a sessions sweep's knee are answers per token count: over several data sizes they would mix sizes.
  if ((plan.dataSizesBytes?.length ?? 0) > 1 && (plan.targetRate !== null || plan.threadsPerToken.length > 1)) {
    throw usageError(
      `several ${name('dataSize')} sizes go with a sweep of tokens only, not with ${plan.targetRate !== null ? name('rate') : `several ${name('threadsPerToken')}`}`,
      `sweep the sizes at one rate and one session count, or give one ${name('dataSize')}`,
    );
  }
  const configurations = plannedConfigurations(plan.tokenCounts, plan.threadsPerToken, plan.targetRate, plan.dataSizesBytes).length * plan.repeat;
  if (configurations > MAX_CONFIGURATIONS) {
    throw usageError(`the plan has ${configurations} configurations (tokens × sessions × rates × data sizes × repeat), more than ${MAX_CONFIGURATIONS}`, 'sweep fewer values at once');
  }
  return Object.freeze(plan);
}

/** How long a burn-in's token may fail before it is lost, unless told. */
export const DEFAULT_GIVE_UP_AFTER = '10m';

/** One count where a burn-in takes one (its tokens, its sessions per token). */
function oneCount(name: string, values: readonly number[], max: number): number {
  if (values.length !== 1) throw usageError(`${name} of a burn-in is one count, not ${quote(values.join(','))}`, 'sweep configurations with scale');
  return wholeNumber(name, values[0]!, 1, max);
}

/**
 * A plan field whose value is a PIN or passphrase of this run (typed into the wrong flag or lab key): the plan is
 * what run.json, the reports and the checkpoint keep, and a PIN is never stored, so it is refused before anything
 * runs (a key labelled with the PIN would otherwise be named in every report).
 */
function refuseSecrets(o: PlanInput, name: FieldNames): void {
  for (const [field, value] of Object.entries(o)) {
    for (const [where, text] of textsOf(field, value)) {
      // A URI with a PIN attribute has a message of its own (tokenSelection): it must not carry one at all.
      if (typeof text === 'string' && isSecret(text) && !uriCarriesPin(text.trim())) {
        throw usageError(
          `${name(where as PlanField)} holds a PIN or passphrase of this run: hsm-bench keeps its plan in run.json and the reports, and never a PIN`,
          'give the value meant there; a PIN goes only in HSM_BENCH_PIN, --pin-env or --pin-file',
        );
      }
    }
  }
}

/** A plan field's values with where each stands: a list's items under the field, an object's under field.key (slo.p99). */
const textsOf = (field: string, value: unknown): [string, unknown][] =>
  Array.isArray(value) ? value.map((v) => [field, v]) : value !== null && typeof value === 'object' ? Object.entries(value).map(([k, v]) => [`${field}.${k}`, v]) : [[field, value]];

/** Burn-in: N tokens (a count, not a list) sign until a total of signatures or a duration is reached. */
export function burnInPlan(o: PlanInput, name: FieldNames = flagOf): BurnInPlan {
  if ((o.signatures === undefined) === (o.duration === undefined)) {
    throw usageError(`burn-in needs one stop rule: ${name('signatures')} TOTAL or ${name('duration')} TIME`, 'for example --signatures 1000000, or --duration 23h');
  }
  oneCount(name('tokens'), o.tokens, MAX_TOKENS);
  oneCount(name('threadsPerToken'), o.threadsPerToken, MAX_THREADS_PER_TOKEN);
  const base = scalePlan({ ...o, signaturesPerToken: undefined, repeat: undefined }, name);
  if ((base.targetRate?.perS.length ?? 0) > 1) throw usageError('a burn-in runs at one target rate', `give one ${name('rate')} (sweep rates with scale)`);
  if ((base.dataSizesBytes?.length ?? 0) > 1) throw usageError('a burn-in hands every call one data size', `give one ${name('dataSize')} (sweep sizes with scale)`);
  const stop: StopRule = o.signatures !== undefined ? { kind: 'total', signatures: wholeNumber(name('signatures'), o.signatures) } : base.stop;
  return Object.freeze({ ...base, stop, giveUpAfterMs: durationMs(parseDurationNs(o.giveUpAfter ?? DEFAULT_GIVE_UP_AFTER, name('giveUpAfter'), 100)) });
}
