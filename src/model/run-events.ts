import type { ConfigurationAxes } from './configuration.js';
import type { ConfigurationResult, RunResult } from './run-result.js';

/** A step of a run's set-up, each made in the set-up's thread and bounded. */
export type SetupStep = 'listing' | 'session' | 'login' | 'mechanisms' | 'key' | 'prepare' | 'trial';

/** A configuration as a run names it in its events: its axes, and which repetition (of how many) it is. */
export interface ConfigurationRun {
  axes: ConfigurationAxes;
  repetition: number;
  repeat: number;
}

/**
 * What a run tells whoever watches it, as data: the stages never write English to a terminal. The command line
 * (cli/run-events.ts) turns each event into a line or a progress text; a test can assert on the events themselves.
 */
export type RunEvent =
  // Set-up
  | { type: 'token-created'; label: string; workspace: string }
  | { type: 'key-generated'; algorithm: string; label: string; usage: string; token: string }
  | { type: 'pin-presented-again'; tokens: string[] }
  // A set-up step (token null: the module's own, e.g. the listing) slow to return, still within its bound
  | { type: 'setup-step-slow'; token: string | null; step: SetupStep; waitedS: number; boundS: number }
  // The native loop's build is stale (native/ changed after it was built): worker threads make the calls.
  | { type: 'native-loop-refused'; why: string }
  // Before the first call: what will run, as run.json says it
  | { type: 'run-described'; result: RunResult }
  | { type: 'schedule-length'; seconds: number; scope: 'sweep' | 'burn-in' | 'rate-windows'; ratePerS: number | null }
  // --start-at: when the first measured window opens (the sessions wait ready at the barrier until then)
  | { type: 'start-at'; at: string; inS: number; settleS: number | null }
  // scale
  | { type: 'configuration-started'; configuration: ConfigurationRun }
  | {
      type: 'configuration-progress';
      configuration: ConfigurationRun;
      calls: number;
      plannedCalls: number | null;
      nouns: string;
      /** Since the configuration started (its warm-up included; with --start-at, since its agreed opening), and its window where a duration bounds it. */
      elapsedS: number;
      /** With --start-at, before the window's agreed opening: how long until it (null: not waiting). */
      startsInS: number | null;
      windowS: number | null;
      /** This configuration's place in the run (repetitions counted), from 1. */
      index: number;
      of: number;
    }
  | { type: 'spill-verifying'; configuration: ConfigurationRun; calls: number; nouns: string; stopping: boolean }
  | { type: 'spill-skipped'; configuration: ConfigurationRun; nouns: string }
  | { type: 'configuration-not-measured'; configuration: ConfigurationRun }
  | { type: 'configuration-ended'; configuration: ConfigurationRun; result: ConfigurationResult; nouns: string; cutShort: boolean }
  // burn-in
  | { type: 'burn-in-resuming'; runId: string; records: number; cutBytes: number }
  | { type: 'burn-in-records-lost'; path: string; records: number; counted: number; checkpointAt: string }
  | { type: 'burn-in-started'; runId: string; tokens: number; calls: number | null; successfulOnly: boolean; durationS: number | null; ratePerS: number | null; recordsPath: string; nouns: string }
  | {
      type: 'burn-in-progress';
      /** Since the window opened (with --start-at, since the agreed moment). */
      elapsedS: number;
      /** With --start-at, before the agreed moment: how long until it (null: not waiting). */
      startsInS: number | null;
      ok: number;
      target: number | null;
      currentPerS: number;
      averagePerS: number;
      failed: number;
      etaS: number | null;
      nouns: string;
    }
  // Stopping (Ctrl-C, SIGTERM): what it waits for, or a wait the next signal skips, and what the next signal does
  | { type: 'stopping'; signal: string; wait: StopWait | { verifyingSpill: number; nouns: string }; next: 'leave-after-two' | 'leave-after-one' | 'skip-verification' }
  | { type: 'leaving-now'; signal: string }
  // Either
  | { type: 'session-hung'; run: RunResult; issue: ConfigurationResult['workerIssues'][number]; configuration?: ConfigurationRun };

/** What a stopping run waits for: the calls in flight (the longest of them, named), then checking and recording. */
export interface StopWait {
  inFlight: { calls: number; longestS: number; session: string; graceS: number } | null;
  /** Batches of calls made that wait for their host check and recording. */
  checkingBatches: number;
  /** Outputs kept for a host check after the window (a spill file). */
  keptForAfter: number;
}

/** Where a run's events go. */
export interface RunEvents {
  /** The run directory, once it exists and (a burn-in) is locked; awaited before the first call is made. */
  started?(dir: string): void | Promise<void>;
  /**
   * A burn-in, ten times a second while it calls (`signing`), and once when calling has ended: its calls made so far
   * (earlier segments' included) and where on its time axis it is.
   */
  callsMade?(calls: number, signingS: number, signing: boolean): void;
  emit(event: RunEvent): void;
  /** The progress line is done (a configuration ended): what follows starts on a line of its own. */
  progressDone(): void;
}
