import { workloadOfPlan } from '../plan/workload-plan.js';
import { workloadId } from '../model/workload.js';
import { Command } from 'commander';
import { scalePlan } from '../plan/plan.js';
import { planInputFromFlags, SCALE_DEFAULTS } from '../plan/plan-flags.js';
import { planOf } from '../model/run-result.js';
import { runScale } from '../run/scale.js';
import { readReference } from '../result/reference.js';
import { renderScaleTable } from '../report/terminal-table.js';
import { DEFAULT_FORMATS, parseFormats } from '../report/write-reports.js';
import type { PinSource } from '../secrets/pin.js';
import { finishRun } from './run-pipeline.js';
import { withWrongAnswerJunit } from './error-junit.js';
import { addOutputOptions, addSigningOptions, EXIT_CODES_HELP } from './signing-options.js';
import { tellSupervisor } from './supervised.js';
import { withLiveMetrics } from './metrics-server.js';
import { isInteractive, Progress } from './terminal.js';
import { addTokenOptions } from './token-options.js';
import { addVerdictOptions, verdictPlan, type VerdictFlags } from './verdict-options.js';

export function scaleCommand(): Command {
  const command = addSigningOptions(new Command('scale'), SCALE_DEFAULTS.warmup)
    .description('throughput with 1, 2, 4 … tokens at once (the scaling experiment): signatures by default, any --op')
    .option('--tokens <counts>', 'configurations: numbers of tokens at once', SCALE_DEFAULTS.tokens)
    .option('--signatures-per-token <count>', 'stop each configuration after this many operations (signatures by default) per token (default 1000)')
    .option('--duration <time>', 'stop each configuration after this time instead (e.g. 30s, 5m, 2h)')
    .option('--repeat <count>', 'measure each configuration this many times, interleaved; results are medians with their spread', '1')
    .optionsGroup('Sizing (open loop, see docs/sizing.md):')
    .option('--rate <list>', 'target rates, calls per second of each configuration: calls start on a schedule, not flat out (e.g. 50,100,200,400)')
    .option('--rate-per-token <list>', "target rates per token instead (multiplied by each configuration's token count)")
    .option('--slo-p50 <time>', 'objective on the response time at a target rate (e.g. 20ms); the capacity is the highest rate that meets every objective')
    .option('--slo-p90 <time>', 'objective on the p90 response time')
    .option('--slo-p99 <time>', 'objective on the p99 response time (e.g. 50ms, 500us, 1s)')
    .option('--slo-p999 <time>', 'objective on the p99.9 response time')
    .option('--max-window <time>', "with --duration: how long a rate's window may grow to hold the calls its objectives' percentiles need (1,000 for p99; default 60s); a miss on fewer is not judged");
  addOutputOptions(command).option('--reference <file>', 'published results to set beside yours in report.md and the throughput chart');
  return addVerdictOptions(addTokenOptions(command))
    .addHelpText(
      'after',
      `
Examples:
  hsm-bench scale --alg rsa2048 --tokens 1,2,4,8                 on hsm-bench's own SoftHSM2 tokens
  hsm-bench scale --module /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so --alg bp256 --tokens 1,2,4,8 --duration 30s
                                          (the PIN from HSM_BENCH_PIN, --pin-file, or a prompt; never a flag)
  hsm-bench scale --alg p256 --tokens 1,2 --repeat 3 --duration 2s --baseline baseline --junit junit.xml
  hsm-bench scale --op decrypt --alg rsa2048 --tokens 1,2,4       decryptions (keys: hsm-bench keys create --usage decrypt)
  hsm-bench scale --mix sign:80,decrypt:20 --alg rsa2048 --tokens 1,2,4    a workload of both
  hsm-bench scale --alg rsa2048 --tokens 1,2,4 --rate 100,200,400,800 --slo-p99 50ms --duration 10s
                                          the capacity within p99 ≤ 50 ms per token count
  hsm-bench scale --alg p256 --tokens 1 --threads-per-token 1,2,4,8,16 --duration 5s    where more sessions stop helping
${EXIT_CODES_HELP}`,
    )
    .action(
      async (
        options: { alg?: string; mix?: string; op?: string } & VerdictFlags & {
            pinEnv: string;
            pinFile?: string;
            allowFinalPinTry?: boolean;
            json?: boolean;
            reference?: string;
            format: string;
            metricsListen?: string;
          },
      ) => {
        const plan = scalePlan(planInputFromFlags(options));
        const formats = parseFormats(options.format, DEFAULT_FORMATS);
        const verdict = await verdictPlan(options, { tokenCounts: plan.tokenCounts, workload: workloadOfPlan(plan.workload), plan: planOf(plan) }, (line) => process.stderr.write(`${line}\n`));
        const reference = options.reference ? readReference(options.reference) : undefined;
        const ui = new Progress();
        const suite = workloadId(plan.operation, plan.algorithm.id);
        // A supervisor names the run directory, and writes the plan's JUnit from it, if a module kills this process.
        const outcome = await withWrongAnswerJunit(options.junit, suite, plan, () =>
          withLiveMetrics(options.metricsListen, ui.log, (live) =>
            runScale(
              plan,
              pinSource(options),
              {
                ...ui,
                started: (dir) => tellSupervisor({ type: 'run-dir', dir, suite }),
              },
              reference,
              live,
            ),
          ),
        );
        await finishRun(suite, outcome, verdict, { ...options, reference, formats }, renderScaleTable, ui);
      },
    );
}

/** Where a run's PIN comes from: the flags, and a masked prompt only when a person is at the terminal. */
export const pinSource = (o: { pinEnv: string; pinFile?: string; allowFinalPinTry?: boolean }): PinSource => ({
  pinEnv: o.pinEnv,
  pinFile: o.pinFile,
  interactive: isInteractive() && Boolean(process.stdin.isTTY),
  allowFinalPinTry: o.allowFinalPinTry === true,
});
