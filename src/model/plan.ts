import type { Algorithm } from './algorithms.js';
import type { Pkcs11Uri } from './token-uri.js';
/** --rate (calls per second of the whole configuration) or --rate-per-token (multiplied by its token count). */
export interface TargetRate {
  perS: number[];
  per: 'configuration' | 'token';
}

export const OBJECTIVE_PERCENTILES = ['p50', 'p90', 'p99', 'p999'] as const;

export type ObjectivePercentile = (typeof OBJECTIVE_PERCENTILES)[number];

/** A latency objective on the response time (from each call's intended start): --slo-p99 50ms. */
export interface Objective {
  percentile: ObjectivePercentile;
  ms: number;
}

/** One configuration of a plan: how many tokens, how many sessions on each, the target rate (null: flat out) and the bytes each call hands the token (null: the operation's own 32-byte message, no --data-size). */
export interface PlannedConfiguration {
  tokens: number;
  threadsPerToken: number;
  targetRatePerS: number | null;
  dataSizeBytes: number | null;
}

/** p999 is written p99.9 wherever a person reads it. */
export const percentileName = (p: ObjectivePercentile) => (p === 'p999' ? 'p99.9' : p);

/** The configurations in the order they run: by token count, then sessions per token, then rising rate, then rising data size. */
export function plannedConfigurations(tokenCounts: readonly number[], threadsPerToken: readonly number[], rate: TargetRate | null, dataSizesBytes: readonly number[] | null): PlannedConfiguration[] {
  return tokenCounts.flatMap((tokens) =>
    threadsPerToken.flatMap((threads) =>
      (rate?.perS ?? [null]).flatMap((r) =>
        (dataSizesBytes ?? [null]).map((dataSizeBytes) => ({ tokens, threadsPerToken: threads, targetRatePerS: r === null ? null : rate!.per === 'token' ? r * tokens : r, dataSizeBytes })),
      ),
    ),
  );
}

export interface TokenSelection {
  /**
   * Whether the user named the tokens (--slots, --serials, --token-label, --token-uri, or --all-tokens), or they
   * are hsm-bench's own embedded ones. A PIN goes only to tokens named: a module that shows several initialized
   * tokens and none named is refused by the commands that log in (selectTokens).
   */
  named: boolean;
  /** --slots: these slots, in this order. */
  slotIds?: string[];
  /** --serials: the tokens with exactly these serials, in this order. */
  serials?: string[];
  labelPrefix?: string;
  /** --token-uri: every attribute given must match. */
  uri?: Pkcs11Uri;
  /** Embedded tokens go in label order (hsm-bench-01, -02, …): SoftHSM2's slot ids are random. */
  order: 'slot' | 'label';
}

/** --mechanism by PKCS#11 name or number: passed to the token as given, with --mechanism-params' bytes (or none) as its parameter. */
export interface MechanismAsGiven {
  name: string;
  ckm: number;
  parameter: Uint8Array | null;
  /** --key-id: the key's CKA_ID, with or instead of its label (null: by label only). */
  keyId: Uint8Array | null;
}

/** One operation a run makes: with its algorithm, mechanism choice and key label, and its weight in a mix. */
export interface WorkloadEntry {
  operation: string;
  algorithm: Algorithm;
  mechanismChoice: string;
  keyLabel: string;
  weight: number;
  /** A mechanism as the user gave it: its key found by label whatever its type, its outputs never checked on the host. */
  asGiven?: MechanismAsGiven;
}

export type StopRule = { kind: 'signatures'; perToken: number } | { kind: 'total'; signatures: number } | { kind: 'duration'; durationNs: bigint };

/** How signatures are checked on the host: every k-th of each worker (1 = all, 0 = none), by `threads` threads. */
export interface VerifyPlan {
  mode: 'all' | 'sample' | 'none';
  every: number;
  threads: number;
}

/**
 * What each call does beyond its operation: open its own session (logging in where closing the last one logged the
 * token out) and close it after; or find its key again in the pooled session.
 */
export interface PerCall {
  session: boolean;
  findKey: boolean;
}

export type Backend = { kind: 'embedded'; workspace: string } | { kind: 'module'; path: string };

/** Which calls' records a run keeps on disk (--records): every one, the failed ones, or none (its statistics are kept whatever). */
export const RECORDS_KEPT = ['all', 'failures', 'none'] as const;
export type RecordsKept = (typeof RECORDS_KEPT)[number];

/** Everything a run will do, validated before anything touches a token, and frozen. */
export interface RunPlan {
  /** What each call does: one operation (--op), or a mix of several (--mix), each with its algorithm and key. */
  workload: WorkloadEntry[];
  /** The operation measured (src/operations/registry.ts), or 'mix'. */
  operation: string;
  /** The (first) operation's algorithm: what run directories and reports are named after. */
  algorithm: Algorithm;
  /** --mechanism, checked against the operation's choices, or the operation's first choice (undefined for a mix). */
  mechanismChoice: string | undefined;
  tokenCounts: number[];
  stop: StopRule;
  warmupPerToken: number;
  /** Sessions per token: one value, or a sweep (--threads-per-token 1,2,4,8). */
  threadsPerToken: number[];
  /** Open loop (--rate, --rate-per-token): the target rates swept; null: every session calls flat out. */
  targetRate: TargetRate | null;
  /** Latency objectives on the response time (--slo-p99 …): a rate sweep's capacity is the highest rate that meets them. */
  objectives: Objective[];
  /**
   * With --duration, target rates and objectives: the longest a rate's window grows past the duration to hold the
   * calls its objectives' percentiles need (--max-window, src/stats/rate-window.ts); null otherwise.
   */
  rateWindowMaxS: number | null;
  /** Each configuration measured this many times, interleaved with the others (scale; 1 for a burn-in). */
  repeat: number;
  verify: VerifyPlan;
  /** --call-timeout: how long one call may be in flight; null: a bound from each token's own calls (src/measure/call-watchdog.ts). */
  callTimeoutMs: number | null;
  /** How each call holds its session and key, as applications do: pooled (both false, the default), or per call. */
  perCall: PerCall;
  /** --data-size: the bytes each call hands the token, swept (scale) or one (burn-in); null: the operation's 32-byte message. */
  dataSizesBytes: number[] | null;
  /** --multipart: each call as C_*Init, C_*Update per chunk of this many bytes, C_*Final; null: one call. */
  multipartChunkBytes: number | null;
  /** --records: which calls' records go to disk. */
  records: RecordsKept;
  /** Measure the harness's per-call overhead before the first configuration (--no-calibrate: false). */
  calibrate: boolean;
  keyLabel: string;
  backend: Backend;
  selection: TokenSelection;
  outDir: string;
  /** --start-at: the moment every host's first measured window opens (absent: as soon as the sessions are ready). */
  startAt?: StartAt;
}

/** --start-at as given (`2026-12-04T01:00:00Z`, `+30s`) and the moment it names (ms since the epoch, UTC). */
export interface StartAt {
  given: string;
  /** Where it was given, for messages: `--start-at`, or a lab run's `$.runs[1].startAt`. */
  givenAs: string;
  atMs: number;
  /**
   * A lab run's `+D`: D after its own set-up is done (the runs before it take their time). Its moment is set then;
   * until then atMs is D after the file was read, the earliest it can be.
   */
  afterSetUpMs?: number;
  /** --settle: between one configuration's planned window and the next one's opening (absent: START_SETTLE_MS). */
  settleMs?: number;
}

/**
 * Between one configuration's planned window and the next one's start, with --start-at: time for the stop, the host
 * check of calls spilled during the window, the next sessions and their warm-up. Every host computes the same starts.
 */
export const START_SETTLE_MS = 10_000;

/** With --start-at, when each configuration's window opens (ms since the epoch): one after another, each planned window and the settle apart. */
export const configurationStartsMs = (startAtMs: number, windowsMs: readonly number[], settleMs = START_SETTLE_MS): number[] =>
  windowsMs.map((_, i) => startAtMs + windowsMs.slice(0, i).reduce((sum, w) => sum + w + settleMs, 0));

export interface BurnInPlan extends RunPlan {
  giveUpAfterMs: number;
}
