import { writeOutputFile } from '../core/output-file.js';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { ExitCode, exitWith, usageError } from '../core/errors.js';
import { comparisonVerdict, renderComparisonTable } from '../report/verdict-tables.js';
import { markdownTable } from '../report/markdown.js';
import { writeComparison } from '../report/write-comparison.js';
import { readRunDirectory } from '../result/partial-run.js';
import { compareRuns, GATED_PERCENTILES, type GatedPercentile } from '../verdict/compare.js';
import { checkJunitFile, parsePercent } from './verdict-options.js';
import { renderJunit } from '../report/junit.js';
import { makeDirectory } from '../core/make-dir.js';
import { quote, shown } from '../core/quote.js';

/** --percentiles: a comma-separated list of GATED_PERCENTILES. */
function parseGatedPercentiles(value: string): GatedPercentile[] {
  const parts = [...new Set(value.split(',').map((p) => p.trim()))];
  const bad = parts.filter((p) => !(GATED_PERCENTILES as readonly string[]).includes(p));
  if (bad.length > 0 || parts.length === 0)
    throw usageError(`--percentiles names ${bad.map(quote).join(', ') || 'nothing'}`, `give some of ${GATED_PERCENTILES.join(', ')}, e.g. --percentiles p50,p99`);
  return parts as GatedPercentile[];
}

export function compareCommand(): Command {
  return new Command('compare')
    .description('compare a run with a baseline run, configuration by configuration; exit 5 on a regression beyond the noise')
    .argument('<baseline>', 'the earlier run (directory or run.json)')
    .argument('<candidate>', 'the run to judge (directory or run.json)')
    .option('--max-regression <pct>', 'allowed throughput drop / latency rise, in %', '10')
    .option('--percentiles <list>', 'the latency percentiles a regression can be found in: p50, p90, p99 (others are shown, not judged)', 'p99')
    .option('--strict-latency', 'let regressions fail even on too few calls, too short a window, or noise unknown')
    .option('--force', 'compare even if tokens, algorithm or plan differ')
    .option('--out <dir>', 'where comparison.md and the chart go (default: comparisons/<candidate>-vs-<baseline> beside the candidate run)')
    .option('--json', 'print the comparison as JSON')
    .option('--junit <file>', 'write a JUnit XML report')
    .action(
      async (
        baselinePath: string,
        candidatePath: string,
        o: { maxRegression: string; percentiles: string; force?: boolean; strictLatency?: boolean; out?: string; json?: boolean; junit?: string },
      ) => {
        const maxRegressionPct = parsePercent('--max-regression', o.maxRegression);
        const percentiles = parseGatedPercentiles(o.percentiles);
        if (o.junit !== undefined) checkJunitFile(o.junit);
        // Read as `report` reads them: a killed run's calls on disk count here too.
        const [baselineRun, candidateRun] = await Promise.all([readRunDirectory(baselinePath), readRunDirectory(candidatePath)]);
        const [baseline, candidate] = [baselineRun.result, candidateRun.result];
        for (const [which, run] of [
          ['baseline', baselineRun],
          ['candidate', candidateRun],
        ] as const) {
          if (run.result.interrupted) process.stderr.write(`note: the ${which} ${run.result.runId} is a partial run (interrupted or killed): what it did not measure whole is not compared\n`);
          for (const n of run.notes) process.stderr.write(`note: the ${which}: ${n}\n`);
        }
        const comparison = compareRuns(baseline, candidate, maxRegressionPct, o.force === true, o.strictLatency === true, percentiles);
        process.stdout.write(
          o.json
            ? JSON.stringify({ schemaVersion: 1, baseline: baseline.runId, candidate: candidate.runId, ...comparison }, null, 2) + '\n'
            : `${candidate.runId} against ${baseline.runId}:\n${renderComparisonTable(comparison)}`,
        );
        if (o.junit !== undefined) writeOutputFile(o.junit, renderJunit([{ name: `compare-${candidate.algorithm.id}`, result: candidate, thresholds: [], comparison }]));
        // The comparison as a document too, in a folder of its own that no run glob matches.
        const candidateDir = candidatePath.endsWith('.json') ? dirname(candidatePath) : candidatePath;
        const out = o.out ?? join(dirname(resolve(candidateDir)), 'comparisons', `${candidate.runId}-vs-${baseline.runId}`);
        makeDirectory(out);
        const { table, lines } = comparisonVerdict(comparison);
        const verdict = [`## Against the baseline (±${maxRegressionPct} %, the noise rule)`, '', markdownTable(table.head, table.rows, table.numeric), '', ...lines.flatMap((l) => [l, '']), ''];
        const files = await writeComparison(out, [baseline, candidate], undefined, verdict, { log: (l) => process.stderr.write(`${l}\n`) });
        process.stderr.write(`${shown(out)}: ${files.join(', ')}\n`);
        // A comparison judges the change: failures new in the candidate are regressions (exit 5), not exit 4.
        exitWith(comparison.regressed ? ExitCode.thresholdFailed : ExitCode.ok);
      },
    );
}
