import { configurationName, workerIssueText } from '../render/describe-run.js';
import type { JudgedRun } from './verdict.js';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A test case's name and class stay the same from build to build (CI history is kept by them): what was measured
 * goes into its output, never into its name.
 */
interface TestCase {
  name: string;
  timeS: number;
  failure?: string;
  measured?: string;
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
    return { name: configurationName(c), timeS: c.durationS, failure: problems.length > 0 ? problems.join('; ') : undefined, measured: `${c.throughputPerS.toFixed(1)} sig/s` };
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
      name: `baseline ${configurationName(row)}`,
      timeS: 0,
      failure: row.regressions.length > 0 ? `regression beyond ${run.comparison!.maxRegressionPct} %: ${row.regressions.join(', ')}` : undefined,
      measured: `throughput ${row.throughputChangePct} % against the baseline`,
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
        const inner = [
          ...(c.failure === undefined ? [] : [`      <failure message="${xml(c.failure)}">${xml(c.failure)}</failure>`]),
          ...(c.measured === undefined ? [] : [`      <system-out>${xml(c.measured)}</system-out>`]),
        ];
        return inner.length === 0 ? `${open}/>` : `${open}>\n${inner.join('\n')}\n    </testcase>`;
      })
      .join('\n');
    return `  <testsuite name="${xml(run.name)}" tests="${cases.length}" failures="${failures}" errors="0" timestamp="${xml(run.result.startedAt)}">\n${body}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="hsm-bench">\n${suites.join('\n')}\n</testsuites>\n`;
}

/**
 * JUnit for a run that never ran (bad input, exit 2; a set-up error, exit 3): a CI that reads the file sees the
 * job failed and why, rather than no test at all. The case keeps one name per command, like every other case.
 */
export function renderErrorJunit(command: string, message: string): string {
  const name = `hsm-bench.${command}`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="hsm-bench">\n  <testsuite name="${xml(name)}" tests="1" failures="0" errors="1">\n    <testcase classname="${xml(name)}" name="set-up">\n      <error message="${xml(message)}">${xml(message)}</error>\n    </testcase>\n  </testsuite>\n</testsuites>\n`;
}
