/** The token flags as strings from the command line or a lab file. */
export interface SelectionOptions {
  slots?: string;
  serials?: string;
  tokenLabel?: string;
  tokenUri?: string;
  /** --all-tokens: every initialized token of the module, in slot order. */
  allTokens?: boolean;
  module?: string;
}

/** The flags every signing run shares (scale, burn-in, lab-file runs), as strings from the command line. */
export interface SigningOptions extends SelectionOptions {
  op?: string;
  mix?: string;
  alg?: string;
  mechanism?: string;
  tokens: string;
  duration?: string;
  warmup: string;
  threadsPerToken: string;
  verify: string;
  verifyThreads?: string;
  callTimeout?: string;
  keyLabel?: string;
  workspace: string;
  out: string;
}

export interface ScaleOptions extends SigningOptions, ObjectiveOptions {
  signaturesPerToken?: string;
  repeat?: string;
  rate?: string;
  ratePerToken?: string;
  /** --max-window: how long a rate's window may grow past --duration for its objectives' percentiles. */
  maxWindow?: string;
}

export interface BurnInOptions extends SigningOptions {
  signatures?: string;
  /** One target rate (open loop), for all tokens or per token. */
  rate?: string;
  ratePerToken?: string;
  giveUpAfter: string;
  progressInterval: string;
}

export interface ObjectiveOptions {
  sloP50?: string;
  sloP90?: string;
  sloP99?: string;
  sloP999?: string;
}

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
