import { durationMs } from '../core/duration.js';
import type { Objective, RunPlan, TargetRate } from './plan.js';

/**
 * run.json: the one result document every renderer reads. Its schema is documented in docs/reference/outputs.md ("run.json");
 * a change that breaks readers raises SCHEMA_VERSION.
 */
export const SCHEMA_VERSION = 5;

/**
 * A token of the run. Its index in `tokens` is its identity everywhere (records, per-token results, worker
 * issues, checkpoint): labels, and even serials, repeat in clusters of tokens initialised alike.
 */
export interface TokenIdentity {
  slotId: string;
  slotDescription: string;
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  firmwareVersion: string;
}

export interface PerTokenResult {
  /** Index in run.json's `tokens`. */
  token: number;
  label: string;
  serial: string;
  slotId: string;
  operationsOk: number;
  operationsFailed: number;
  /**
   * Of operationsFailed, calls that never returned (CALL_TIMED_OUT, see hungSessions): latencyMs leaves them out, as
   * they have no latency (absent in older runs).
   */
  operationsTimedOut?: number;
  /**
   * Calls that completed OK per second, as the configuration's throughputPerS is counted (flat out over its window, at
   * a target rate at the pace its calls started), so the tokens' add up to it; a token that stopped early, hung or was
   * failing at the end over its time in the run: from the window's start to the end of its last call that returned
   * (or the start of a later one that never did), or to when its sessions stopped trying to get it back (its waits
   * and reconnects are its time). In runs without `stalls`: from its first call's start to its last end.
   */
  throughputPerS: number;
  latencyMs: LatencyPercentilesMs | null;
  /**
   * The longest time this token made no successful call (by when its calls ended): a call held inside the token, a
   * streak of failures, a hang, a reconnect. From the window's start to its first success, between successes, and —
   * while a streak is still open at the end (stillFailingS), or a session of it hung — from its last success to the
   * end of the window. In runs without `stalls`: the time without a successful call in progress.
   */
  longestGapMs: number;
  /**
   * Outages (streaks of failures, the waits and reconnects in them included) and their total time: those that ended,
   * and one still open at the end (to the window's end) when it held more than one failed call, its token was lost
   * (stopped early or hung), or a session of it was still waiting or reconnecting at the end; a last failed call
   * alone is not one. The open streak's time is also in stillFailingS. Version 4 runs without `stalls`
   * counted only those that ended: reading them adds the open one (src/result/run-upgrade.ts).
   */
  outages: number;
  outageS: number;
  stillFailingS: number | null;
  /**
   * This token's own stalls (its times without a successful call as long as the configuration's `stalls.minMs`, an
   * outage that long included) and their total time: silent while the others may have signed (absent in older runs).
   */
  stalls?: number;
  stalledS?: number;
}

export interface ConfigurationResult {
  tokens: number;
  threadsPerToken: number;
  operationsOk: number;
  operationsFailed: number;
  operationsVerified: number;
  failuresByCkr: Record<string, number>;
  /**
   * The measured window: from the start barrier to the end of the last call that returned. A call that never
   * returned has no end: when sessions hung, the window ends at the deadline or the stop (if it came before they were
   * given up), never at the time the harness waited for them. A burn-in's session that waited out its back-off or
   * reconnected to its failing token until it gave up, or until the deadline or a stop, held the window open to then.
   */
  durationS: number;
  /** operationsOk / durationS: counted, never derived from latency. */
  throughputPerS: number;
  /** --data-size: the bytes each call handed the token (absent: the operation's own 32-byte message). */
  dataSizeBytes?: number;
  /** With a data size: the chunk of each C_*Update where calls were multi-part (--multipart), null where each was one call. */
  multipartChunkBytes?: number | null;
  /** With a data size: throughputPerS × dataSizeBytes in MB/s (1 MB = 1,000,000 bytes). */
  mbPerS?: number;
  /** throughputPerS / (tokens × throughputPerS of the 1-token configuration); null without a 1-token configuration. */
  efficiency: number | null;
  /**
   * With --repeat: the efficiencies the repetitions allow, each round's configuration over the same round's 1-token
   * basis (rounds are interleaved), `median` the efficiency shown. Absent when measured once, and for the basis.
   */
  efficiencyRange?: Range;
  perToken: PerTokenResult[];
  /** The service time of the successful calls: each PKCS#11 call alone, from its start to its return. */
  latencyMs: LatencyPercentilesMs | null;
  /**
   * The median service time is within 10× of the harness's per-call overhead (harness.callOverheadUs): the harness is
   * part of the number (absent without a calibration or without successful calls).
   */
  harnessPartOfNumber?: boolean;
  /**
   * Flat out (a closed loop) only: the service time corrected for coordinated omission (HdrHistogram's
   * expected-interval correction, with the interval between a session's calls this loop achieved — the window × the
   * sessions / the calls — as each session's expected interval, `expectedIntervalMs`): what a client
   * arriving on schedule would have waited; a closed loop's own tail understates it. Absent at a target rate, without
   * successful calls, and in older runs.
   */
  correctedLatencyMs?: CorrectedLatencyMs;
  /** Failed calls that returned: how long they took to fail, apart from the successes' (absent without such failures). */
  failedLatencyMs?: LatencyPercentilesMs | null;
  /** Calls per second of the window, by the second they ended in (a call that never returned: the one it started in). */
  timeSeries: { intervalS: 1; ok: number[]; failed: number[] };
  /**
   * The successful calls' percentiles in successive parts of the window, in time order (each part with calls enough
   * for its percentile: 20 for p50, 1,000 for p99): how much they move within the run is its noise, which `compare`
   * judges a change against (absent in older runs).
   */
  latencyByIntervalMs?: IntervalPercentilesMs;
  recordsFile: string;
  /** How long verification and recording went on after the sessions ended (absent in older runs). */
  verificationLagS?: number;
  /** Of operationsVerified, those verified after the window (verification had fallen behind; absent in older runs). */
  operationsVerifiedLate?: number;
  /**
   * Calls made whose host check never ran: spilled while verification fell behind, then a Ctrl-C skipped their
   * verification (they are recorded unchecked), or the run was killed (`report` counted them from the spill file);
   * and every success of an operation the host cannot check (a mechanism given by name or number).
   */
  operationsUnverified?: number;
  /**
   * Calls made whose outcome died with a killed run (`report` only): their batches were between signing and the disk
   * (a hole in a worker's sequence numbers between its records and its spilled calls).
   */
  operationsLost?: number;
  /**
   * The configuration did not run to its plan: the run was interrupted in it (SIGINT, SIGTERM), or killed in it
   * (`report` counted its records and spill file on disk). Its figures are what was measured until then.
   */
  partial?: 'interrupted' | 'killed';
  /** The longest the main thread's event loop waited during the configuration: progress, timers and Ctrl-C wait that long. */
  maxEventLoopStallMs?: number;
  /** Seconds from the configuration's start to its measured window: sessions, threads and warm-up. */
  setupS?: number;
  /** When the measured window opened, by the host's clock (ms precision): where runs of several hosts overlap (absent in older runs). */
  windowStartedAt?: string;
  /**
   * The successful calls' service times (µs) as HdrHistogram's own compressed encoding in base64: what `merge` adds
   * up losslessly (absent without successful calls, and in older runs).
   */
  latencyHistogram?: string;
  /**
   * A merged run: the calls of every host that ended in the common window (from the latest window's opening to the
   * earliest one's end: durationS), which its throughput, latency and timeSeries cover; operationsOk and
   * operationsFailed count every call of every host's whole window. Counted from the records, or estimated from each
   * host's per-second counts where the records were not all kept (the latency then covers the whole windows).
   * rateEstablished false: the common window is too short to measure a rate on (under 2 s, as a single run's window
   * must be to pass a gate, and holding fewer than 100 calls): throughputPerS is not a measurement, and gates on it are inconclusive (absent in older merged runs).
   */
  commonWindow?: { operationsOk: number; operationsFailed: number; countedFrom: 'records' | 'per-second counts'; rateEstablished?: boolean };
  /** A merged run: each source run's own figures for this configuration, in the order of run.json's `sources`. */
  bySource?: SourceConfiguration[];
  /** Workers that stopped early, and why (a token lost, a PIN refused, a worker that crashed, a call that hung). */
  workerIssues: { token: number; thread: number; message: string }[];
  /** Sessions whose call did not return (absent in older runs). */
  hungSessions?: HungSession[];
  /** Why the latency percentiles are too thin to fail a gate on (too few signatures, too short a window); absent in older runs. */
  lowConfidence?: string[];
  /** A mix (--mix): each operation's counts, rate over the configuration's window, and latency. */
  byOperation?: OperationResult[];
  /** Open loop (--rate): the schedule kept or not, and latency from each call's intended start (absent: flat out). */
  openLoop?: OpenLoopResult;
  /** Times without a successful call long enough to be stalls, of one token or all at once (absent in older runs). */
  stalls?: StallsResult;
  /** What the CPUs did during the measured window (a resumed burn-in: every segment's); absent in older runs and recounts. */
  cpu?: CpuUse;
  /**
   * Stretches of the window that hsm-bench's facts of itself (the host's stalls, the event loop's longest wait,
   * verification's lag, the CPUs' use) do not cover: a burn-in segment was killed after its records reached the disk
   * but before it saved them. Absent when they cover the whole window.
   */
  harnessNotKnown?: { atS: number; durationS: number }[];
  /** With --repeat R > 1: every repetition's key figures; the other fields are those of the median repetition. */
  repetitions?: RepetitionResult[];
  /** With --repeat R > 1: the throughput's range over the repetitions, and (max − min) / median in %. */
  spread?: { throughputPerS: Range; relativePct: number };
}

/** One source run's part of a merged configuration. */
export interface SourceConfiguration {
  /** Index in run.json's `sources`. */
  source: number;
  operationsOk: number;
  operationsFailed: number;
  durationS: number;
  throughputPerS: number;
  latencyMs: LatencyPercentilesMs | null;
  windowStartedAt: string;
  /** How long after the first host's window this one's opened. */
  openedAfterFirstS?: number;
  /** Its calls that ended in the common window (the merged configuration's window), their rate over it and latency (null: not counted from records). */
  inCommonWindow?: { operationsOk: number; operationsFailed: number; throughputPerS: number; latencyMs: LatencyPercentilesMs | null };
  /** What the CPUs of its host did during its own window. */
  cpu?: CpuUse;
}

/** What the OS says of the host clock's synchronization (timedatectl, chronyc, adjtimex); 'unknown' where none of them answers. */
export interface ClockSync {
  synchronized: 'yes' | 'no' | 'unknown';
  source: 'timedatectl' | 'chronyc' | 'adjtimex' | 'none';
  /** The kernel's maximum and estimated error of the clock, µs (adjtimex maxerror, esterror): absent where the adjtimex tool is not there. */
  maxErrorUs?: number;
  estErrorUs?: number;
}

/** --start-at: the moment given, when the first window really opened, and the clock that told both. */
export interface StartAtResult {
  /** As given: 2026-12-04T01:00:00Z, or +30s. */
  given: string;
  /** The moment it names, UTC with ms. */
  at: string;
  /** When the first measured window opened (null: not yet, or the run ended before it). */
  firstWindowAt: string | null;
  /** Scale: between one configuration's planned window and the next one's opening (--settle; absent in older runs and burn-ins). */
  settleS?: number;
  clock: ClockSync;
}

/** A run of one host that a merged run is made of. */
export interface RunSource {
  runId: string;
  hostname: string;
  /** Its run directory as given to `merge`. */
  dir: string;
  /**
   * Its tokens are this run's tokens from firstToken on, tokenCount of them. Every source at 0 (merge --same-tokens):
   * every host drove the same tokens, each configuration's threadsPerToken counts every host's sessions, and
   * perToken holds each host's view of each token (one entry per host and token).
   */
  firstToken: number;
  tokenCount: number;
  startAt?: StartAtResult;
}

/** What the CPUs did during a measured window, as hyperfine gives user and system time. */
export interface CpuUse {
  /** CPU time of hsm-bench's process, every thread (signers and the module's work inside them, verifiers, recorder). */
  processUserS: number;
  processSystemS: number;
  /** The CPU time the host had in the window: its length × the host's CPUs. */
  hostCpuS: number;
  /** Of that, the share busy in user and in system mode, every process of the host. */
  hostUserPct: number;
  hostSystemPct: number;
  /** The 1-minute load average at the window's end. */
  loadAverage1m: number;
}

/** A configuration's stalls: its tokens' times without a successful call, and the host's own stalls beside them. */
export interface StallsResult {
  /** A time without a success this long is a stall: 10 × the p50 service time (or a token's interval at the target rate), at least 100 ms. */
  minMs: number;
  /** The longest time no token of the configuration made a successful call. */
  clusterLongestGapMs: number;
  /** How many stalls (stalls of tokens that overlap in time are one). */
  count: number;
  /** The longest stalls (at most 20), in time order. */
  episodes: StallEpisode[];
  /** The host's stalls in the window (hsm-bench's threads kept from running for 100 ms or more); absent in a recount from records. */
  host?: { count: number; longestMs: number; totalMs: number };
}

export interface StallEpisode {
  /** When it began, seconds into the measured window. */
  atS: number;
  durationS: number;
  /** The tokens without a success in it (indexes in run.json's tokens). */
  tokens: number[];
  /** How long every token of the configuration was without a success at once; null when they never all were for a stall's length. */
  allTokensS: number | null;
  /** Of it, the time the host itself stalled: hsm-bench's threads did not run, so the stall may be the host's, not the tokens'. */
  hostStallS: number;
  /** Of it, the time in a stretch whose host stalls are not known (harnessNotKnown): absent when none. */
  hostStallNotKnownS?: number;
}

/**
 * A session whose call did not return (src/measure/call-watchdog.ts): timed out past its bound (the call is a
 * CALL_TIMED_OUT failure), or still in flight when the run stopped (no record: it has no outcome). Either way the
 * session was abandoned, its thread left inside the module.
 */
export interface HungSession {
  token: number;
  thread: number;
  /** How long the call had been in flight when it was given up. */
  inFlightS: number;
  /** How long a call of the token could be in flight: --call-timeout, or ten times its slowest call, at least 10 s. */
  boundS: number;
  outcome: 'timed-out' | 'abandoned-at-stop';
  /**
   * Where it hung before the measured window, where it did: opening its session (C_OpenSession, C_Login, finding its
   * key) or a warm-up call; neither is recorded. Absent: a measured call.
   */
  stage?: 'session' | 'warm-up';
}

/**
 * A configuration run at a target rate: calls arrive on a schedule (src/model/schedule.ts). `latencyMs` of the
 * configuration is the service time (the PKCS#11 call); `responseMs` runs from each call's intended start, so a
 * call that waited for a session shows its wait.
 */
export interface OpenLoopResult {
  /** Calls per second of the whole configuration. */
  targetRatePerS: number;
  /** The pace at which calls (successful or failed) started, all but the latest 2 % of starts judged (src/stats/keeping-up.ts). */
  achievedRatePerS: number;
  /** achievedRatePerS is at least 98 % of the target: the tokens kept up (tokens that fall behind start their calls ever later). */
  keptUp: boolean;
  /** The longest a session free for its call woke after the call's intended start, where 100 ms or more: the host kept it. */
  hostStallMs?: number;
  /** keptUp is false only because of that stall: with it taken out the tokens kept up, so the rate is not judged. */
  hostStalled?: true;
  /**
   * keptUp is false on a schedule too short to show falling behind (under 100 calls or 1 s, src/stats/keeping-up.ts):
   * the rate is not judged on it.
   */
  scheduleTooShort?: true;
  /**
   * Over every call of the schedule: a call that never started counts with the time it had waited when the window
   * closed (a lower bound), so a tokens' backlog is not left out of the percentiles it reaches (survivor bias).
   */
  responseMs: LatencyPercentilesMs | null;
  /** The figures of responseMs reached by calls that never started: lower bounds ("≥"). Absent: none (and in older runs). */
  responseAtLeast?: ('p50' | 'p90' | 'p99' | 'p999' | 'max' | 'mean')[];
  /** The response times' percentiles in successive parts of the window, as latencyByIntervalMs (absent in older runs). */
  responseByIntervalMs?: IntervalPercentilesMs;
  /**
   * Each response percentile's 95 % confidence interval from its order statistics (src/stats/percentile-interval.ts):
   * an objective inside it is not decided by this sample. Absent in older runs.
   */
  responseIntervalMs?: { p50?: PercentileIntervalMs; p90?: PercentileIntervalMs; p99?: PercentileIntervalMs; p999?: PercentileIntervalMs };
  /** Calls of the schedule that did not start before the window closed (--duration): the tokens were that far behind. */
  notStarted: number;
  /** The run was interrupted in this configuration: its schedule was cut short, and the rate is not judged. */
  interrupted?: boolean;
  /**
   * Calls that found no session free at their intended start, their share of all, and how late they started
   * (`lagHistogram`: the lags in µs, encoded as latencyHistogram is; absent without late calls and in older runs).
   */
  late: { operations: number; sharePct: number; lagMs: LatencyPercentilesMs | null; lagHistogram?: string };
  /** responseMs's histogram (µs, every call counted as there), encoded as latencyHistogram is: what `merge` adds up (absent in older runs). */
  responseHistogram?: string;
}

/** One operation of a mix (--mix): what it was, and its weight. */
export interface MixEntry {
  name: string;
  algorithm: string;
  mechanism: string;
  keyLabel: string | null;
  weight: number;
  checkSkipped?: string;
}

export interface OperationResult {
  operation: string;
  operationsOk: number;
  operationsFailed: number;
  operationsVerified: number;
  throughputPerS: number;
  latencyMs: LatencyPercentilesMs | null;
  /** At a target rate: this operation's response times (from each call's intended start). */
  responseMs?: LatencyPercentilesMs | null;
}

export interface Range {
  min: number;
  median: number;
  max: number;
}

export type RepetitionResult = Pick<ConfigurationResult, 'throughputPerS' | 'durationS' | 'operationsOk' | 'operationsFailed' | 'latencyMs' | 'recordsFile' | 'workerIssues'> &
  Partial<Pick<ConfigurationResult, 'operationsVerified' | 'operationsUnverified' | 'operationsLost' | 'openLoop' | 'partial' | 'hungSessions' | 'stalls'>> & {
    /** Each token's rate in this repetition, in the order of the configuration's perToken (absent in older runs). */
    perTokenThroughputPerS?: number[];
  };

/**
 * The harness's per-call overhead: the period between consecutive calls of one session when the call is a null call
 * (no PKCS#11 call) through the same loop (clock reads, input, record, batch hand-off), in µs; `calls` measured.
 */
export interface CallOverhead {
  p50: number;
  p99: number;
  calls: number;
  engine: 'native' | 'threads';
}

export interface RunResult {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: 'hsm-bench'; version: string };
  command: 'scale' | 'burn-in';
  runId: string;
  /** The command line that started the run, to reproduce it, without its --out folder (absent in older runs). */
  commandLine?: string;
  /** The published results given with --reference, drawn again whenever the reports are regenerated. */
  reference?: Reference;
  startedAt: string;
  finishedAt: string;
  interrupted: boolean;
  /** loadAverage: 1, 5 and 15 minutes, before signing (absent in older runs). */
  host: { hostname: string; platform: string; arch: string; cpuModel: string; cpuCount: number; totalMemoryMb: number; nodeVersion: string; loadAverage?: number[] };
  /**
   * engine: what ran the timed loop (absent in runs made before the native loop). callOverheadUs: the harness's own
   * cost per call on this host, measured before the first configuration (absent with --no-calibrate, and in older runs).
   */
  harness: { engine?: 'native' | 'threads'; concurrency: string; peakRssMb: number; callOverheadUs?: CallOverhead };
  backend: { kind: 'embedded-softhsm2'; workspace: string } | { kind: 'module' };
  module: ModuleInfo;
  tokens: TokenIdentity[];
  /**
   * What was measured (absent in runs made before operations: they signed). `checkSkipped`: why outputs could not
   * be checked on the host (a token that keeps derived secrets sensitive).
   */
  operation?: {
    name: string;
    call: string;
    checkSkipped?: string;
    /** 'not-checked': a mechanism given by PKCS#11 name or number, whose outputs are counted and timed, never checked (why: checkSkipped). */
    hostCheck?: 'not-checked';
    mix?: MixEntry[];
  };
  /** family 'any': a mechanism as given, with the key --key-label names whatever its type (displayName is the mechanism). */
  algorithm: { id: string; displayName: string; family: 'rsa' | 'ec' | 'eddsa' | 'aes' | 'hmac' | 'digest' | 'random' | 'any'; bits: number; curve: string | null };
  /**
   * hostDigest: what the host does to each input before the call ('none', 'sha256', or the operation's own preparation).
   * A mechanism as given also has its code (`ckm`) and its parameter's bytes as given, in hex (`parameterHex`; absent: none).
   */
  mechanism: { name: string; hostDigest: string; ckm?: number; parameterHex?: string };
  keyLabel: string;
  /** --key-id: the CKA_ID (hex) of the key of a mechanism as given, named with or instead of its label. */
  keyIdHex?: string;
  plan: {
    tokenCounts: number[];
    operationsPerToken: number | null;
    /** Burn-in: signatures by all tokens together. */
    totalOperations: number | null;
    durationS: number | null;
    warmupOperationsPerToken: number;
    /** Sessions per token: one value, or the sweep. */
    threadsPerToken: number[];
    /** --rate / --rate-per-token: the target rates swept (absent: flat out). */
    targetRate?: TargetRate;
    /** --slo-p99 …: the latency objectives a rate must meet to count in the capacity. */
    objectives?: Objective[];
    /** --max-window: the longest a rate's window grew past durationS for its objectives' percentiles (absent: not a duration sweep with objectives, or an older run). */
    rateWindowMaxS?: number;
    /** --repeat, where above 1. */
    repeat?: number;
    verify: { mode: 'all' | 'sample' | 'none'; every: number; threads?: number };
    /** --call-timeout (absent: ten times each token's slowest call, at least 10 s). */
    callTimeoutS?: number;
    /** --session-per-call, --find-key-per-call (absent: the session and key pooled, the default). */
    perCall?: { session: boolean; findKey: boolean };
    /** --records, where not all: which calls' records went to disk. */
    records?: 'failures' | 'none';
    /** --data-size: the bytes each call handed the token, per configuration (absent: the operation's own message). */
    dataSizesBytes?: number[];
    /** --multipart: the chunk of each C_*Update (absent: one call). */
    multipartChunkBytes?: number;
  };
  configurations: ConfigurationResult[];
  /** A rate sweep's answer per token count and sessions: the highest target rate served within the objectives. */
  capacity?: CapacityResult[];
  /** A sessions sweep's answer per token count: where more sessions stop adding throughput (the knee). */
  saturation?: SaturationResult[];
  /** Burn-in only. */
  burnIn?: BurnInResult;
  /** --start-at: when every host's first window was to open, and when this one's did (absent: started as soon as ready). */
  startAt?: StartAtResult;
  /** A merged run (`hsm-bench merge`): the runs of each host it adds up, their tokens in this order in `tokens`. */
  sources?: RunSource[];
  /** A merged run: what merge warned of (hosts that opened late or started at moments that differ, rates not established); absent: none. */
  mergeWarnings?: string[];
  /** What the run was judged by and what it gave (absent: judged by nothing yet, or an older run): `report` shows it again. */
  verdict?: RunVerdict;
}

/** A run's judgement: the exit code it gave and each check, thresholds then the baseline's, as the terminal and JUnit said them. */
export interface RunVerdict {
  /** 0 passed, 4 calls failed (or a module crashed the process), 5 a check failed, 130 interrupted. */
  exitCode: number;
  checks: VerdictCheck[];
  /** The run compared with (--baseline), and the change it allowed. */
  baseline?: { runId: string; maxRegressionPct: number };
}

/** One check of a run: a threshold on a figure, or a configuration against the baseline. */
export interface VerdictCheck {
  /** The threshold (`min-throughput`, `max-p99` …) or `baseline`. */
  name: string;
  /** Null: the whole run. */
  configuration: { tokens: number; threadsPerToken: number; openLoop?: { targetRatePerS: number }; dataSizeBytes?: number } | null;
  expected: string;
  measured: string;
  /** 'inconclusive': missed where the data cannot decide (see notJudged): reported, not failed. */
  outcome: 'pass' | 'fail' | 'inconclusive';
  /** Why an inconclusive check is not judged, in words: a thin sample, a stall of the host, a configuration not whole. */
  notJudged?: string;
}

/** A command's process that died of something else than its outcome (killed by a module): when, and how. */
export interface ProcessDeath {
  at: string;
  /** The signal that killed it (SIGSEGV, SIGABRT, SIGKILL …), or null when it exited with `exitCode`. */
  signal: string | null;
  exitCode: number | null;
}

/** A burn-in's process that died (killed by a module) and was continued from disk by its supervisor. */
export interface BurnInRestart extends ProcessDeath {
  /** The records in the file when the death was seen: what was kept of the calls made until then. */
  recordsOnDisk: number;
  /**
   * Calls the process had made (as it last told its supervisor, at most a second before) that were not on disk: a
   * lower bound of the calls the crash cut from the records, made again after the restart (absent in older runs).
   */
  callsNotRecorded?: number;
  /** Signing time between the last record on disk and the death: the time axis goes on from that record (absent in older runs). */
  signingLostS?: number;
}

/** Records the checkpoint had counted on disk and a resume did not find, continued with --accept-lost-records. */
export interface LostRecords {
  at: string;
  checkpointRecords: number;
  recordsOnDisk: number;
}

export interface BurnInResult {
  giveUpAfterS: number;
  segments: { startedAt: string; startOffsetS: number }[];
  /** SHA-256 of the plan (run id, start, options, tokens), also in checkpoint.json: a resume refuses a plan changed since. */
  planDigest?: string;
  restarts?: BurnInRestart[];
  lostRecords?: LostRecords[];
  /** The run ended before its stop rule: every session was lost, refused the PIN or hung. It can be resumed. */
  endedEarly?: EndedEarly;
}

/** What of a burn-in's plan was not run, because its tokens ended before the stop rule. */
export interface EndedEarly {
  /** A --duration plan: signing time not run (null: the plan is a total). */
  signingLeftS: number | null;
  /** A --signatures plan: operations not made (successful ones flat out; calls at a target rate); null: a duration. */
  operationsLeft: number | null;
  /** Tokens (index in tokens[]) that refused the PIN: a resume presents it to them again only with --pin-corrected. */
  pinRefusedTokens: number[];
}

/**
 * How a module hands out its state. 'shared': every load in the process is the same instance (SoftHSM2, OpenSC):
 * initialize once, log in once per token, finalize once after every thread. 'per-load': every load is a new,
 * uninitialized instance (p11-kit's client and proxy): each must be initialized, logged in and finalized on its own.
 */
export type ModuleInstances = 'shared' | 'per-load';

export interface ModuleInfo {
  path: string;
  manufacturer: string;
  libraryDescription: string;
  libraryVersion: string;
  cryptokiVersion: string;
  instances: ModuleInstances;
}

/** Percentiles corrected for coordinated omission, and the expected interval the correction assumed. */
export interface CorrectedLatencyMs {
  expectedIntervalMs: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Percentiles of successive parts of a window, in time order. */
export interface IntervalPercentilesMs {
  p50: number[];
  p90: number[];
  p99: number[];
}

export interface LatencyPercentilesMs {
  p50: number;
  p90: number;
  p99: number;
  /** Response times only (open loop), where an objective may be set on it. */
  p999?: number;
  max: number;
  mean: number;
}

/** A percentile's 95 % confidence interval; highMs null where it reaches past the slowest call. */
export interface PercentileIntervalMs {
  lowMs: number;
  highMs: number | null;
}

/** One target rate of a sweep, judged: held when every call succeeded, the schedule was kept and every objective met. */
export interface RateVerdict {
  targetRatePerS: number;
  achievedRatePerS: number;
  held: boolean;
  /** What it missed on a sample that decides it, in words (empty when it held or nothing was decided). */
  missed: string[];
  /** What the data could not decide, in words (absent when everything was decided): such a rate did not hold, nor miss. */
  notJudged?: string[];
  /**
   * Nothing missed; an objective not decided by the sample: too few calls for its percentile (src/stats/rate-window.ts),
   * its 95 % interval straddles it, or a schedule too short to show falling behind (src/stats/keeping-up.ts).
   */
  thin?: boolean;
  /** With thin: the window (s) that would decide every objective left open at this rate, where it can be told. */
  windowToJudgeS?: number;
  /** Not judged: the run was interrupted in it. */
  interrupted?: boolean;
  /** Nothing missed; the host kept calls from starting on time (a stall, or hsm-bench's start delay while the tokens were idle): not judged either way. */
  hostStalled?: boolean;
  /** Measured with fewer tokens signing than the configuration names (a token hung or stopped): not that many tokens' figure. */
  notWhole?: boolean;
}

/** A rate sweep's answer for one token count and sessions per token. */
export interface CapacityResult {
  tokens: number;
  threadsPerToken: number;
  /** The highest target rate that held, counting up to the first rate missed on a sample that decides it; null when none held. */
  capacityPerS: number | null;
  /** The lowest target rate whose schedule the tokens could not keep (achieved under 98 %), or null. */
  fellBehindAtPerS: number | null;
  /**
   * A rate that decided the capacity (one counted, or the one that ended the count) was measured with a token hung
   * or stopped: the capacity is that of fewer tokens; it is not stated for this many, and a gate on it is not judged.
   */
  notWhole?: boolean;
  rates: RateVerdict[];
}

/** A sessions sweep's answer for one token count: the knee, where more sessions per token stop adding throughput. */
export interface SaturationResult {
  tokens: number;
  /** The fewest sessions per token that reach KNEE_SHARE of the best throughput of the sweep. */
  kneeThreadsPerToken: number;
  kneeThroughputPerS: number;
  bestThreadsPerToken: number;
  bestThroughputPerS: number;
}

/** Published results to set beside a run, e.g. fixtures/smartcard-hsm-ea-2015.json (the founding experiment). */
export interface Reference {
  source: string;
  tokenModel: string;
  series: { algorithm: string; configurations: { tokens: number; signatures: number; durationS: number; throughputPerS: number }[] }[];
}

/** The plan as run.json records it (and as a baseline is compared with, before a run starts). */
export const planOf = (plan: RunPlan): RunResult['plan'] => ({
  tokenCounts: plan.tokenCounts,
  operationsPerToken: plan.stop.kind === 'signatures' ? plan.stop.perToken : null,
  totalOperations: plan.stop.kind === 'total' ? plan.stop.signatures : null,
  durationS: plan.stop.kind === 'duration' ? durationMs(plan.stop.durationNs) / 1000 : null,
  warmupOperationsPerToken: plan.warmupPerToken,
  threadsPerToken: plan.threadsPerToken,
  ...(plan.targetRate ? { targetRate: plan.targetRate } : {}),
  ...(plan.objectives.length > 0 ? { objectives: plan.objectives } : {}),
  ...(plan.rateWindowMaxS === null ? {} : { rateWindowMaxS: plan.rateWindowMaxS }),
  ...(plan.repeat > 1 ? { repeat: plan.repeat } : {}),
  verify: plan.verify,
  ...(plan.callTimeoutMs === null ? {} : { callTimeoutS: plan.callTimeoutMs / 1000 }),
  ...(plan.perCall.session || plan.perCall.findKey ? { perCall: plan.perCall } : {}),
  ...(plan.records === 'all' ? {} : { records: plan.records }),
  ...(plan.dataSizesBytes === null ? {} : { dataSizesBytes: plan.dataSizesBytes }),
  ...(plan.multipartChunkBytes === null ? {} : { multipartChunkBytes: plan.multipartChunkBytes }),
});
