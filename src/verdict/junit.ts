import { configurationName, workerIssueText } from '../render/describe-run.js';
import type { JudgedRun } from './verdict.js';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface TestCase {
  name: string;
  timeS: number;
  failure?: string;
}

function testCases(run: JudgedRun): TestCase[] {
  const cases: TestCase[] = run.result.configurations.map((c) => {
    const problems = [
      ...(c.signaturesFailed > 0
        ? [
            `${c.signaturesFailed} of ${c.signaturesOk + c.signaturesFailed} signatures failed: ${Object.entries(c.failuresByCkr)
              .map(([k, n]) => `${k} ×${n}`)
              .join(', ')}`,
          ]
        : []),
      ...c.workerIssues.map((i) => workerIssueText(run.result, i)),
    ];
    return { name: `${configurationName(c)}: ${c.throughputPerS.toFixed(1)} sig/s`, timeS: c.durationS, failure: problems.length > 0 ? problems.join('; ') : undefined };
  });
  for (const t of run.thresholds) {
    cases.push({
      name: `threshold ${t.name}${t.configuration !== null ? ` (${configurationName({ tokens: t.configuration })})` : ''}: expected ${t.expected}`,
      timeS: 0,
      failure: t.passed ? undefined : `expected ${t.expected}, measured ${t.measured}`,
    });
  }
  for (const row of run.comparison?.rows ?? []) {
    cases.push({
      name: `baseline ${configurationName(row)}: throughput ${row.throughputChangePct} %`,
      timeS: 0,
      failure: row.regressions.length > 0 ? `regression beyond ${run.comparison!.maxRegressionPct} %: ${row.regressions.join(', ')}` : undefined,
    });
  }
  return cases;
}

/** JUnit XML, one testsuite per run: a testcase per configuration, per threshold and per baseline configuration. */
export function renderJunit(runs: JudgedRun[]): string {
  const suites = runs.map((run) => {
    const cases = testCases(run);
    const failures = cases.filter((c) => c.failure !== undefined).length;
    const body = cases
      .map((c) => {
        const open = `    <testcase classname="hsm-bench.${xml(run.name)}" name="${xml(c.name)}" time="${c.timeS.toFixed(3)}"`;
        return c.failure === undefined ? `${open}/>` : `${open}>\n      <failure message="${xml(c.failure)}">${xml(c.failure)}</failure>\n    </testcase>`;
      })
      .join('\n');
    return `  <testsuite name="${xml(run.name)}" tests="${cases.length}" failures="${failures}" errors="0" timestamp="${xml(run.result.startedAt)}">\n${body}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="hsm-bench">\n${suites.join('\n')}\n</testsuites>\n`;
}
