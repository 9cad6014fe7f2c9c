import { writeOutputFile } from '../core/output-file.js';
import { join } from 'node:path';
import type { RunResult } from '../model/run-result.js';
import { chartRenderer, saveChart } from './charts.js';
import { comparisonChart, renderComparisonMarkdown } from './comparison.js';
import type { Reference } from '../model/run-result.js';

/** comparison.md and comparison.png/.svg of runs into `out`; a chart that cannot be drawn is a warning. Returns the files. */
export async function writeComparison(out: string, runs: readonly RunResult[], reference: Reference | undefined, extra: string[], ui: { log(line: string): void }): Promise<string[]> {
  const files: string[] = [];
  try {
    files.push(...(await saveChart(await chartRenderer(), comparisonChart(runs, undefined, reference), 'comparison', (f, content) => writeOutputFile(join(out, f), content))));
  } catch (error) {
    ui.log(`warning: ${(error as Error).message}`);
  }
  writeOutputFile(join(out, 'comparison.md'), renderComparisonMarkdown(runs, files[0], reference, extra));
  return ['comparison.md', ...files];
}
