import { workloadOfPlan } from '../plan/workload-plan.js';
import { workloadId } from '../model/workload.js';
import { resolve } from 'node:path';
import { withLiveMetrics } from './metrics-server.js';
import { Command } from 'commander';
import { checkpointField, openResume, runBurnIn } from '../run/burn-in.js';
import { planOf } from '../model/run-result.js';
import { burnInPlan, DEFAULT_GIVE_UP_AFTER, defaultVerifyThreads } from '../plan/plan.js';
import type { PlanInput } from '../model/plan-input.js';
import { flagOf, flagOfOption, PLAN_FIELDS, PLAN_FLAGS, planInputFromFlags } from '../plan/plan-flags.js';
import { durationMs, parseDurationNs } from '../core/duration.js';
import { usageError } from '../core/errors.js';
import { renderBurnInSummary } from '../report/burn-in-summary.js';
import { finishRun } from './run-pipeline.js';
import { withWrongAnswerJunit } from './error-junit.js';
import { restartResumeDir, tellSupervisor } from './supervised.js';
import { DEFAULT_MAX_RESTARTS } from './supervisor.js';
import { pinSource } from './scale.js';
import { isInteractive, Progress } from './terminal.js';
import { addOutputOptions, addSigningOptions, EXIT_CODES_HELP } from './signing-options.js';
import { DEFAULT_FORMATS, parseFormats } from '../report/write-reports.js';
import { addTokenOptions } from './token-options.js';
import { addVerdictOptions, verdictPlan, type VerdictFlags } from './verdict-options.js';
import { quote } from '../core/quote.js';

/** The CI flags: kept in the checkpoint, so that a resume judges the run as it was meant to be judged. */
const VERDICT_FLAGS = ['maxFailures', 'minThroughput', 'maxP99', 'minEfficiency', 'strictLatency', 'baseline', 'maxRegression', 'baselineMissing', 'saveBaseline', 'force', 'junit'] as const;

interface BurnInCliOptions {
  alg?: string;
  mix?: string;
  op?: string;
  progressInterval: string;
  metricsListen?: string;
  pinEnv: string;
  pinFile?: string;
  json?: boolean;
  resume?: string;
  format: string;
  acceptLostRecords?: boolean;
  pinCorrected?: boolean;
  maxRestarts: string;
}

/** A whole number of at least 0 (a count given on the command line). */
function parseCount(value: string, flag: string): number {
  if (!/^\d{1,6}$/.test(value.trim())) throw usageError(`${flag} must be a whole number, not ${quote(value)}`, `for example ${flag} 10 (0: never)`);
  return Number(value);
}

/**
 * The plan input a burn-in keeps in its checkpoint: paths absolute, so that a resume from another folder finds the
 * same module, workspace, run directory and mechanism parameter file, and the verification threads counted, so that it plans the same run.
 */
const resolvedInput = (given: PlanInput): PlanInput => ({
  ...given,
  module: given.module === undefined ? undefined : given.module.includes('/') ? resolve(given.module) : given.module,
  workspace: resolve(given.workspace),
  out: resolve(given.out),
  mechanismParams: given.mechanismParams === undefined ? undefined : resolve(given.mechanismParams),
  verifyThreads: given.verifyThreads ?? defaultVerifyThreads(),
});

export function burnInCommand(): Command {
  const command = addSigningOptions(new Command('burn-in'), '0')
    .description('sign for hours on N tokens, surviving faults, and keep every record (the overnight burn-in)')
    .option('--tokens <count>', 'how many tokens sign at once (the first N selected)', '1')
    .option('--signatures <total>', 'stop after this many successful operations (signatures by default) by all tokens together')
    .option('--duration <time>', 'stop after this measured time instead (e.g. 23h)')
    .option('--rate <rate>', 'open loop: calls start on a schedule at this rate (calls per second of all tokens) instead of flat out; --signatures then counts calls scheduled')
    .option('--rate-per-token <rate>', 'the same, per token (multiplied by --tokens)')
    .option('--give-up-after <time>', 'a token failing this long is marked lost; the others go on', DEFAULT_GIVE_UP_AFTER)
    .option('--progress-interval <time>', 'off a terminal, one progress line this often', '60s')
    .option('--resume <run-dir>', 'continue a burn-in that was killed, from its checkpoint and records')
    .option('--accept-lost-records', 'with --resume: go on although the records file holds fewer records than the checkpoint counted (the loss is recorded in run.json)')
    .option('--pin-corrected', 'with --resume: present the PIN given now (once) to tokens that refused the PIN earlier in the run')
    .option('--max-restarts <count>', 'how often a burn-in whose process a module killed is continued from disk before hsm-bench gives up', String(DEFAULT_MAX_RESTARTS));
  addOutputOptions(command);
  return addVerdictOptions(addTokenOptions(command), { efficiency: false })
    .addHelpText(
      'after',
      `
Examples:
  hsm-bench burn-in --alg rsa2048 --tokens 8 --signatures 1000000 --give-up-after 10m
  hsm-bench burn-in --resume reports/20261127-220000-burnin-rsa2048      after a reboot or a kill -9
${EXIT_CODES_HELP}`,
    )
    .action(async (o: VerdictFlags & BurnInCliOptions, command: Command) => {
      // A burn-in restarted by its supervisor continues its run directory, from the same command line: the plan
      // flags on it are those the run was started with. Decisions about the state on disk (--accept-lost-records,
      // --pin-corrected) were made about the state before the restart, and do not carry over to it.
      const restartDir = restartResumeDir();
      const resume = restartDir ?? o.resume;
      // Checked first: a typo must not surface after a night of signing.
      const formats = parseFormats(o.format, DEFAULT_FORMATS);
      const maxRestarts = parseCount(o.maxRestarts, '--max-restarts');
      const progressIntervalMs = durationMs(parseDurationNs(o.progressInterval, '--progress-interval', 100));
      if (resume === undefined) {
        const resumeOnly = (['acceptLostRecords', 'pinCorrected'] as const).filter((k) => o[k] === true);
        if (resumeOnly.length > 0) throw usageError(`${resumeOnly.map(flagOfOption).join(', ')} only applies with --resume`, 'give --resume RUN_DIR with it, or drop it');
      }
      if (resume !== undefined && restartDir === undefined) {
        // A resume continues the run as it was planned (its checkpoint holds the plan input): every flag of a
        // plan (PLAN_FLAGS has them all) is refused rather than silently ignored.
        const given = PLAN_FIELDS.filter((field) => command.getOptionValueSource(PLAN_FLAGS[field].option) === 'cli');
        if (given.length > 0) {
          throw usageError(`--resume continues the burn-in as it was planned; ${given.map(flagOf).join(', ')} cannot change it`, 'drop those flags; to change the plan, start a new burn-in');
        }
      }
      const resumed =
        resume === undefined
          ? undefined
          : openResume(resume, { acceptLostRecords: restartDir === undefined && o.acceptLostRecords === true, pinCorrected: restartDir === undefined && o.pinCorrected === true });
      // The CI flags of the run as it started, with those given now in their place; paths absolute for a resume.
      const given = VERDICT_FLAGS.filter((k) => o[k] !== undefined && (resumed === undefined || command.getOptionValueSource(k) === 'cli'));
      const flags: VerdictFlags = { ...resumed?.checkpoint.verdict, ...Object.fromEntries(given.map((k) => [k, o[k]])) };
      for (const k of ['baseline', 'junit'] as const) if (flags[k] !== undefined) flags[k] = resolve(flags[k]!);
      // Everything that can be checked is checked before the first signature.
      const input = resumed?.checkpoint.plan ?? resolvedInput(planInputFromFlags(o));
      const plan = resumed ? burnInPlan(input, checkpointField) : burnInPlan(input);
      const verdict = await verdictPlan(flags, { tokenCounts: plan.tokenCounts, workload: workloadOfPlan(plan.workload), plan: planOf(plan) }, (line) => process.stderr.write(`${line}\n`));
      const ui = new Progress(isInteractive(), progressIntervalMs);
      // The supervisor continues this run directory if a module kills this process.
      // The JUnit file a resume writes is the one its checkpoint keeps, unless --junit is given again.
      const outcome = await withWrongAnswerJunit(flags.junit, `burn-in-${workloadId(plan.operation, plan.algorithm.id)}`, plan, () =>
        withLiveMetrics(o.metricsListen, ui.log, (live) =>
          runBurnIn(
            input,
            flags,
            pinSource(o),
            {
              ...ui,
              started: (dir) => tellSupervisor({ type: 'run-dir', dir, maxRestarts }),
              // The supervisor counts what a death cuts from the records by it.
              callsMade: (calls, signingS, signing) => void tellSupervisor({ type: 'calls-made', calls, signingS, signing }),
            },
            resumed,
            live,
          ),
        ),
      );
      await finishRun(
        `burn-in-${workloadId(outcome.result.operation?.name, outcome.result.algorithm.id)}`,
        outcome,
        verdict,
        { json: o.json, junit: flags.junit, formats },
        (r, judged) => renderBurnInSummary(r, judged, outcome.dir),
        ui,
      );
    });
}
