import type { ObjectivePercentile } from './plan.js';

/**
 * A plan as data, before it is validated: what a lab file's run says in JSON, what the flags of scale and burn-in
 * say once read (src/plan/plan-flags.ts), and what a burn-in's checkpoint keeps, its defaults resolved so that a
 * resume plans the same run on any host. src/plan/plan.ts validates it once, naming each field as its source does.
 */
export interface PlanInput {
  op?: string;
  mix?: string;
  alg?: string;
  mechanism?: string;
  /** A file of the raw bytes of --mechanism's parameter (with a mechanism by CKM_ name or number). */
  mechanismParams?: string;
  keyLabel?: string;
  /** The key's CKA_ID in hex (with a mechanism by CKM_ name or number). */
  keyId?: string;
  /** Scale: the token counts of its configurations; burn-in: one count. */
  tokens: number[];
  signaturesPerToken?: number;
  /** Burn-in: successful calls of all tokens together (at a target rate: calls scheduled). */
  signatures?: number;
  duration?: string;
  repeat?: number;
  warmup: number;
  threadsPerToken: number[];
  rate?: number[];
  ratePerToken?: number[];
  /** How long a rate's window may grow past the duration for its objectives' percentiles (scale). */
  maxWindow?: string;
  /** Objectives on the response time, as durations: { p99: '50ms' }. */
  slo?: Partial<Record<ObjectivePercentile, string>>;
  /** all, none, or a sample rate such as 0.01. */
  verify: string;
  verifyThreads?: number;
  callTimeout?: string;
  /** all, failures or none: which calls' records go to disk. */
  records?: string;
  module?: string;
  workspace: string;
  slots?: number[];
  serials?: string[];
  tokenLabel?: string;
  tokenUri?: string;
  allTokens?: boolean;
  out: string;
  /** Burn-in: how long a token may fail before it is lost. */
  giveUpAfter?: string;
  /** Open a session (and log in where closing the last one logged the token out) for every call, and close it after. */
  sessionPerCall?: boolean;
  /** Find the key (C_FindObjects) for every call, in the pooled session. */
  findKeyPerCall?: boolean;
  /** Measure the harness's per-call overhead before the first configuration (false: --no-calibrate). */
  calibrate?: boolean;
  /** When the first measured window opens on every host: RFC 3339 UTC, or +DURATION from now. */
  startAt?: string;
  /** With startAt: the time between one configuration's planned window and the next one's opening (default 10s). */
  settle?: string;
  /** The payload of each call, as sizes in bytes (32,1k,64k,1M; k = 1024): a list sweeps them (scale), one for a burn-in. */
  dataSize?: string;
  /** Each call as C_*Init, C_*Update per chunk of this size, C_*Final: a size in bytes (64k). */
  multipart?: string;
}

/** A field of a plan input; an objective is slo.p99. */
export type PlanField = Exclude<keyof PlanInput, 'slo'> | `slo.${ObjectivePercentile}`;

/** How a source names a field in its messages: a flag (--threads-per-token) or a JSON path ($.runs[2].threadsPerToken). */
export type FieldNames = (field: PlanField) => string;

/** The fields that choose tokens: what list and the key commands take of a plan input. */
export type SelectionInput = Pick<PlanInput, 'module' | 'slots' | 'serials' | 'tokenLabel' | 'tokenUri' | 'allTokens'>;

export interface ThresholdFlags {
  maxFailures?: string;
  minThroughput?: string;
  maxP99?: string;
  minEfficiency?: string;
  minCapacity?: string;
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
