import { Command } from 'commander';
import { workloadId, workloadOf } from '../model/workload.js';
import { readRunDirectory } from '../result/partial-run.js';
import { createRunDirectory, writeRunJson } from '../result/run-directory.js';
import { renderBurnInSummary } from '../report/burn-in-summary.js';
import { renderScaleTable } from '../report/terminal-table.js';
import { DEFAULT_FORMATS, FORMATS, parseFormats } from '../report/write-reports.js';
import { mergeRuns, writeMergedRecords } from '../run/merge-runs.js';
import { thisCommandLine } from '../run/run-result-builder.js';
import { shown } from '../core/quote.js';
import { SCALE_DEFAULTS } from '../plan/plan-flags.js';
import { finishRun } from './run-pipeline.js';
import { EXIT_CODES_HELP } from './signing-options.js';
import { Progress } from './terminal.js';
import { addVerdictOptions, verdictPlan, type VerdictFlags } from './verdict-options.js';

export function mergeCommand(): Command {
  const command = new Command('merge')
    .description('one run of several hosts’ runs of the same plan (started together with --start-at): calls added up, latency histograms merged, throughput over the common window')
    .argument('<run-dirs...>', 'the run directory of each host (two or more)')
    .option('--out <dir>', 'parent folder of the merged run directory', SCALE_DEFAULTS.out)
    .option('--format <list>', `reports to write beside run.json: ${FORMATS.join(', ')} (png writes svg too)`, DEFAULT_FORMATS.join(','))
    .option('--json', 'print the merged run.json to stdout instead of the table or summary')
    .option(
      '--same-tokens',
      'every host drove the same tokens (the partitions of one network HSM): the token axis is one host’s tokens, each with every host’s sessions (without it, each host’s tokens count apart)',
    );
  return addVerdictOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  hsm-bench merge hostA/20261204-010000-rsa2048 hostB/20261204-010000-rsa2048 --out reports
  scripts/launch-ssh.sh client-1 client-2 -- scale --alg rsa2048 --tokens 1,2 --duration 30s   (starts, collects, merges)
${EXIT_CODES_HELP}`,
    )
    .action(async (dirs: string[], options: VerdictFlags & { out: string; format: string; json?: boolean; sameTokens?: boolean }) => {
      const formats = parseFormats(options.format, DEFAULT_FORMATS);
      const ui = new Progress();
      const runs = await Promise.all(dirs.map(readRunDirectory));
      runs.forEach((run) => run.notes.forEach((n) => ui.log(`note: ${shown(run.dir)}: ${n}`)));
      // Refused (plans that differ, windows that do not overlap) before anything is written.
      const merged = await mergeRuns(runs, { runId: '', commandLine: thisCommandLine() }, options.sameTokens === true);
      merged.warnings.forEach((w) => ui.log(`warning: ${w}`));
      const r = merged.result;
      const verdict = await verdictPlan(options, { tokenCounts: r.plan.tokenCounts, workload: workloadOf(r), plan: r.plan }, ui.log);
      const suite = `${r.command === 'burn-in' ? 'burn-in-' : ''}${workloadId(r.operation?.name, r.algorithm.id)}`;
      const { runId, dir } = createRunDirectory(options.out, new Date(), `merged-${workloadId(r.operation?.name, r.algorithm.id)}`);
      r.runId = runId;
      writeRunJson(dir, r);
      const missing = await writeMergedRecords(dir, merged);
      missing.forEach((path) => ui.log(`warning: ${shown(path)} could not be read: the merged charts lack its calls (run.json counts them)`));
      await finishRun(
        suite,
        { result: r, dir },
        verdict,
        { json: options.json, junit: options.junit, formats },
        r.command === 'burn-in' ? (x, judged) => renderBurnInSummary(x, judged, dir) : renderScaleTable,
        ui,
      );
    });
}
