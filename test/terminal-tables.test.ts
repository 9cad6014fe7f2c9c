import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderScaleTable } from '../src/report/terminal-table.js';
import { readRunJson } from '../src/result/run-directory.js';
import type { RunResult } from '../src/model/run-result.js';
import { eventText } from '../src/cli/run-events.js';

const EXAMPLES = new URL('../fixtures/examples/', import.meta.url).pathname;
const scaleRuns = readdirSync(EXAMPLES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'comparison')
  .map((d) => ({ name: d.name, run: readRunJson(join(EXAMPLES, d.name)) }))
  .filter((x) => x.run.command === 'scale');

/** The lines of the grids (a table's borders and rows), without the header lines above them. */
const gridLines = (text: string) => text.split('\n').filter((l) => /^[┌│├└]/.test(l));

describe('the terminal tables of a scale run', () => {
  it.each(scaleRuns.map((x) => [x.name, x.run] as const))('%s: every table fits 100 columns, a row a line', (_, run: RunResult) => {
    const text = renderScaleTable(run);
    const widths = gridLines(text).map((l) => l.length);
    expect(widths.length).toBeGreaterThan(0);
    expect(Math.max(...widths)).toBeLessThanOrEqual(100);
    // A plain scale run's table fits an 80-column terminal, where it was a block of 9 lines per configuration (with
    // --repeat its rates and efficiencies carry their ranges, within the 100).
    if (run.plan.targetRate === undefined && run.plan.threadsPerToken.length === 1 && !run.operation?.mix && (run.plan.repeat ?? 1) === 1) {
      const lines = text.split('\n');
      const first = lines.slice(
        lines.findIndex((l) => l.startsWith('┌')),
        lines.findIndex((l) => l.startsWith('└')) + 1,
      );
      expect(Math.max(...first.map((l) => l.length))).toBeLessThanOrEqual(80);
    }
    // No rule between rows: a configuration is one line.
    expect(text).not.toMatch(/├/);
    // The lines that say what the short headers and marks mean, too.
    for (const line of text.split('\n').filter((l) => /^(✓ held|Resp:|\* )/.test(l))) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it('says "(range)" only over a range: a run without --repeat has none', () => {
    const single = scaleRuns.find((x) => x.run.plan.targetRate === undefined && (x.run.plan.repeat ?? 1) === 1)!.run;
    const repeated = scaleRuns.find((x) => (x.run.plan.repeat ?? 1) > 1)!.run;
    expect(renderScaleTable(single)).not.toContain('(range)');
    expect(renderScaleTable(repeated)).toMatch(/sig\/s \(range\)[\s\S]*\d+ \(\d+–\d+\)/);
  });
});

describe('the progress of a scale run', () => {
  const configuration = { axes: { tokens: 2, threadsPerToken: 1 }, repetition: 1, repeat: 1 };
  it('says the rate and the time left, in the configuration and in the run', () => {
    // 3rd of 9 configurations of 10 s each, 4 s into it: 6 s left in it, 6 more configurations of 10 s after it.
    const text = eventText({ type: 'configuration-progress', configuration, calls: 20000, plannedCalls: null, nouns: 'signatures', elapsedS: 4, windowS: 10, index: 3, of: 9 });
    expect(text).toEqual({ progress: '2 tokens [3 of 9]: 20000 signatures, 5000/s, 00:00:06 left (00:01:06 in all)' });
  });
  it('estimates the time left from the rate where a count of calls stops the configuration', () => {
    const text = eventText({ type: 'configuration-progress', configuration, calls: 300, plannedCalls: 1000, nouns: 'signatures', elapsedS: 3, windowS: null, index: 1, of: 1 });
    expect(text).toEqual({ progress: '2 tokens: 300 / 1000 signatures, 100/s, 00:00:07 left' });
  });
});
