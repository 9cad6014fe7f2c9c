import { Command } from 'commander';
import { ExitCode } from '../errors.js';
import { scalePlan, type ScaleOptions } from '../engine/plan.js';
import { runScale } from '../engine/scale.js';
import { ALGORITHMS } from '../pkcs11/algorithms.js';
import { readReference } from '../render/reference.js';
import { renderScaleTable } from '../render/terminal-table.js';
import { writeReports } from '../render/write-reports.js';
import { isInteractive, Progress } from './terminal.js';
import { addTokenOptions } from './token-options.js';

export function scaleCommand(): Command {
  return addTokenOptions(new Command('scale'))
    .description('signature throughput with 1, 2, 4 … tokens signing at once (the scaling experiment)')
    .requiredOption('--alg <alg>', `key algorithm: ${ALGORITHMS.map((a) => a.id).join(', ')}`)
    .option('--mechanism <mechanism>', 'pkcs1 (default) or pss for RSA; ecdsa for EC')
    .option('--tokens <counts>', 'configurations: numbers of tokens signing at once', '1,2,4,8')
    .option('--signatures-per-token <count>', 'stop each configuration after this many signatures per token (default 1000)')
    .option('--duration <time>', 'stop each configuration after this time instead (e.g. 30s, 5m, 2h)')
    .option('--warmup <count>', 'signatures per token before the measured window, not counted', '10')
    .option('--threads-per-token <count>', 'sessions signing at once on each token', '1')
    .option('--verify <mode>', 'host verification: all, none, or a sample rate such as 0.01', 'all')
    .option('--key-label <label>', 'label of the key pair to sign with (default hsm-bench-<alg>)')
    .option('--out <dir>', 'parent folder of the run directory', 'reports')
    .option('--reference <file>', 'published results to set beside yours in report.md and the throughput chart')
    .option('--json', 'print run.json to stdout instead of the table')
    .action(async (options: ScaleOptions & { pinEnv: string; pinFile?: string; json?: boolean; reference?: string }) => {
      const plan = scalePlan(options);
      const reference = options.reference ? readReference(options.reference) : undefined;
      const ui = new Progress();
      const { result, dir } = await runScale(plan, { pinEnv: options.pinEnv, pinFile: options.pinFile, interactive: isInteractive() && Boolean(process.stdin.isTTY) }, ui);
      // run.json is on disk already; the reports come next, and the verdict (exit code) only after both.
      const reports = await writeReports(dir, result, ['md', 'csv', 'png'], reference);
      reports.warnings.forEach((w) => ui.log(`warning: ${w}`));
      process.stdout.write(options.json ? JSON.stringify(result, null, 2) + '\n' : renderScaleTable(result));
      ui.log(`results: ${dir}`);
      if (result.interrupted) process.exitCode = ExitCode.interrupted;
      else if (result.configurations.some((c) => c.signaturesFailed > 0 || c.workerIssues.length > 0)) process.exitCode = ExitCode.signaturesFailed;
    });
}
