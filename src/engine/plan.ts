import { EMBEDDED_LABEL_PREFIX } from '../embedded/softhsm.js';
import { usageError } from '../errors.js';
import { algorithmById, type Algorithm } from '../pkcs11/algorithms.js';
import type { TokenSelection } from '../pkcs11/discovery.js';
import { defaultKeyLabel } from '../pkcs11/keys.js';
import { parseMechanismChoice, type MechanismChoice } from '../pkcs11/mechanisms.js';

export type StopRule = { kind: 'signatures'; perToken: number } | { kind: 'total'; signatures: number } | { kind: 'duration'; durationMs: number };

/** How signatures are checked on the host: every k-th of each worker (1 = all, 0 = none). */
export interface VerifyPlan {
  mode: 'all' | 'sample' | 'none';
  every: number;
}

export type Backend = { kind: 'embedded'; workspace: string } | { kind: 'module'; path: string };

/** Everything a run will do, validated before anything touches a token, and frozen. */
export interface RunPlan {
  algorithm: Algorithm;
  mechanismChoice: MechanismChoice;
  tokenCounts: number[];
  stop: StopRule;
  warmupPerToken: number;
  threadsPerToken: number;
  verify: VerifyPlan;
  keyLabel: string;
  backend: Backend;
  selection: TokenSelection;
  outDir: string;
}

export function parsePositiveInt(flag: string, value: string, min = 1): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw usageError(`${flag} must be a whole number ≥ ${min}, not '${value}'`);
  }
  return Number(value);
}

export function parseTokenCounts(value: string): number[] {
  const counts = value.split(',').map((v) => parsePositiveInt('--tokens', v));
  const sorted = [...new Set(counts)].sort((a, b) => a - b);
  if (sorted.length !== counts.length) throw usageError(`--tokens lists a count twice: '${value}'`, 'give each configuration once, e.g. --tokens 1,2,4,8');
  return sorted;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDurationMs(value: string, flag = '--duration'): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!match || Number(match[1]) <= 0) {
    throw usageError(`${flag} must be a positive number with a unit (ms, s, m, h), not '${value}'`, `for example ${flag} 30s, 5m or 2h`);
  }
  return Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
}

export function parseVerify(value: string): VerifyPlan {
  if (value === 'all') return { mode: 'all', every: 1 };
  if (value === 'none') return { mode: 'none', every: 0 };
  const rate = Number(value);
  if (!/^(0|1)?\.\d+$|^1$/.test(value) || !(rate > 0 && rate <= 1)) {
    throw usageError(`--verify must be all, none or a rate in (0, 1], not '${value}'`, 'for example --verify 0.01 checks every 100th signature of each worker');
  }
  const every = Math.round(1 / rate);
  return every === 1 ? { mode: 'all', every: 1 } : { mode: 'sample', every };
}

/** --slots / --token-label; embedded runs use only hsm-bench's own tokens unless told otherwise. */
export function tokenSelection(o: { slots?: string; tokenLabel?: string; module?: string }): TokenSelection {
  return {
    slotIds: o.slots?.split(',').map((s) => String(parsePositiveInt('--slots', s, 0))),
    labelPrefix: o.tokenLabel ?? (o.module === undefined ? EMBEDDED_LABEL_PREFIX : undefined),
  };
}

/** The flags every signing run shares (scale, burn-in, lab-file runs), as strings from the command line. */
export interface SigningOptions {
  alg: string;
  mechanism?: string;
  tokens: string;
  duration?: string;
  warmup: string;
  threadsPerToken: string;
  verify: string;
  keyLabel?: string;
  module?: string;
  workspace: string;
  slots?: string;
  tokenLabel?: string;
  out: string;
}

export interface ScaleOptions extends SigningOptions {
  signaturesPerToken?: string;
}

export function scalePlan(o: ScaleOptions): RunPlan {
  const algorithm = algorithmById(o.alg);
  if (o.signaturesPerToken !== undefined && o.duration !== undefined) {
    throw usageError('--signatures-per-token and --duration are two stop rules; give one', 'drop one of them');
  }
  const plan: RunPlan = {
    algorithm,
    mechanismChoice: parseMechanismChoice(algorithm, o.mechanism),
    tokenCounts: parseTokenCounts(o.tokens),
    stop:
      o.duration !== undefined
        ? { kind: 'duration', durationMs: parseDurationMs(o.duration) }
        : { kind: 'signatures', perToken: parsePositiveInt('--signatures-per-token', o.signaturesPerToken ?? '1000') },
    warmupPerToken: parsePositiveInt('--warmup', o.warmup, 0),
    threadsPerToken: parsePositiveInt('--threads-per-token', o.threadsPerToken),
    verify: parseVerify(o.verify),
    keyLabel: o.keyLabel ?? defaultKeyLabel(algorithm),
    backend: o.module !== undefined ? { kind: 'module', path: o.module } : { kind: 'embedded', workspace: o.workspace },
    selection: tokenSelection(o),
    outDir: o.out,
  };
  if (plan.stop.kind === 'signatures' && plan.stop.perToken < plan.threadsPerToken) {
    throw usageError('--signatures-per-token is smaller than --threads-per-token', 'every thread needs at least one signature');
  }
  return Object.freeze(plan);
}

export interface BurnInOptions extends SigningOptions {
  signatures?: string;
  giveUpAfter: string;
  progressInterval: string;
}

export interface BurnInPlan extends RunPlan {
  giveUpAfterMs: number;
  progressIntervalMs: number;
}

/** Burn-in: N tokens (a count, not a list) sign until a total of signatures or a duration is reached. */
export function burnInPlan(o: BurnInOptions): BurnInPlan {
  if ((o.signatures === undefined) === (o.duration === undefined)) {
    throw usageError('burn-in needs one stop rule: --signatures TOTAL or --duration TIME', 'for example --signatures 1000000, or --duration 23h');
  }
  const tokens = parsePositiveInt('--tokens', o.tokens);
  const base = scalePlan({ ...o, tokens: String(tokens), signaturesPerToken: undefined, duration: o.duration });
  const stop: StopRule = o.signatures !== undefined ? { kind: 'total', signatures: parsePositiveInt('--signatures', o.signatures) } : base.stop;
  return Object.freeze({ ...base, stop, giveUpAfterMs: parseDurationMs(o.giveUpAfter, '--give-up-after'), progressIntervalMs: parseDurationMs(o.progressInterval, '--progress-interval') });
}
