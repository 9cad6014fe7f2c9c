import { NOT_CHECKED, nounsOf, wordsOf } from '../operations/words.js';
import { latencyText } from '../core/latency-text.js';
import { workloadId } from '../model/workload.js';
import { plannedConfigurations, type RunPlan } from '../model/plan.js';
import type { WrongAnswer } from '../model/wrong-answer.js';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { lazyModule } from '../core/lazy-module.js';
import { configurationName, mbPerSSuffix, verifySetting, verifyText, workerIssueText } from './describe-run.js';
import { uncheckedText } from './verdict-section.js';
import { failureList } from './status-meaning.js';
import { callPatternSlug, configurationAxes, configurationSlug, distinctConfigurations, runSlug, sameConfiguration, type CallPattern, type ConfigurationAxes } from '../model/configuration.js';
import { notMeasuredAfter, plannedAxes, uncheckedCalls } from '../result/plan-coverage.js';
import { failuresOf, operationsMadeOf } from '../stats/repetitions.js';
import { moduleCrashes, type JudgedRun } from '../verdict/verdict.js';
import { notEstablishedText, rateNotEstablished } from '../verdict/common-window-rate.js';
import { crashesText, deathName } from './crash-text.js';
import type { ConfigurationResult, ProcessDeath } from '../model/run-result.js';
import { uncountedOf } from '../result/configuration-shortfall.js';
import { plural } from '../core/plural.js';
import { signedPercent } from '../core/signed-percent.js';
import { ratioText, type ChangeEstimate, type GatedPercentile } from '../verdict/compare.js';

/**
 * One check that can fail, as a JUnit test case. Its name is stable from build to build (`rsa2048.tokens-4.min-throughput`),
 * so CI keeps each check's history; what was measured and expected goes into properties, output and message.
 */
interface Check {
  name: string;
  timeS: number;
  /** 'error': planned and not measured (whole), so the check could not be made: never green. */
  outcome: 'pass' | 'fail' | 'inconclusive' | 'error';
  /** Why it failed, or why it is inconclusive. */
  message?: string;
  measured: string;
  expected: string;
}

/** A planned configuration that has no measurement to check: its case is an error saying why. */
const unmeasuredCheck = (name: string, reason: string, expected: string): Check => ({ name, timeS: 0, outcome: 'error', message: reason, measured: 'nothing', expected });

/** The checks of a run; `death`: what ended its process, where its supervisor saw the module kill it. */
function checksOf(run: JudgedRun, death?: ProcessDeath): Check[] {
  // How each call is made is part of the workload's name, the data sizes part of the run's: cases of runs that differ only there never share a name.
  const alg = `${workloadId(run.result.operation?.name, run.result.algorithm.id)}${callPatternSlug(run.result.plan)}`;
  const w = wordsOf(run.result);
  const where = (c: ConfigurationAxes | null) => (c === null ? `${alg}.${runSlug(run.result.plan.dataSizesBytes)}` : `${alg}.${configurationSlug(c)}`);
  const expected = `no failed ${w.noun}, no session stopped`;
  // A mechanism as given, or --verify none: its outputs were counted, and OK says only that the token returned CKR_OK.
  const notChecked = run.result.operation?.hostCheck === 'not-checked' ? ` (${w.checked})` : run.result.plan.verify.mode === 'none' ? ` (${NOT_CHECKED}: --verify none)` : '';
  // Calls made and never checked (an operation the host cannot check, a skipped backlog): said beside the OK count.
  const unverifiedOf = (c: ConfigurationResult) => (uncountedOf(c, 'operationsUnverified') > 0 ? `, ${uncountedOf(c, 'operationsUnverified')} of them never checked` : '');
  // A sample checked (--verify 0.01): how many of the OK ones the host checked, as a green case rests on those.
  const sampledOf = (c: ConfigurationResult) =>
    run.result.plan.verify.mode === 'sample' && notChecked === '' ? `, ${c.operationsVerified} of them checked on the host (--verify ${verifySetting(run.result)})` : '';
  const missing = notMeasuredAfter(run.result, death && `the module crashed the process (${deathName(death)})`);
  // One case per planned configuration, measured or not, in plan order: a CI sees every one, from build to build.
  const planned = run.result.command === 'burn-in' ? run.result.configurations : distinctConfigurations([...plannedAxes(run.result.plan), ...run.result.configurations]);
  const checks: Check[] = planned.map((axes) => {
    const name = `${where(axes)}.${w.nouns.replace(/ /g, '-')}`;
    const c = run.result.configurations.find((x) => sameConfiguration(x, axes));
    const gap = missing.find((m) => sameConfiguration(m, axes));
    if (c === undefined) return unmeasuredCheck(name, gap?.reason ?? 'not measured', expected);
    // Every repetition's failures and stopped workers, not only the median one's.
    const failed = failuresOf(c);
    const issues = (c.repetitions ?? [c]).flatMap((x) => x.workerIssues);
    const problems = [
      ...(failed > 0 ? [`${failed} of ${operationsMadeOf(c)} ${w.nouns} failed${c.repetitions ? ' over the repetitions' : `: ${failureList(run.result, c.failuresByCkr)}`}`] : []),
      ...issues.map((i) => workerIssueText(run.result, i)),
    ];
    return {
      name,
      timeS: c.durationS,
      outcome: gap ? 'error' : problems.length > 0 ? 'fail' : 'pass',
      message: gap || problems.length > 0 ? [...(gap ? [gap.reason] : []), ...problems].join('; ') : undefined,
      measured: `${c.operationsOk} OK${notChecked}${sampledOf(c)}${unverifiedOf(c)}, ${c.operationsFailed} failed, ${rateNotEstablished(c) ? notEstablishedText(c) : `${c.throughputPerS.toFixed(1)} ${w.rate}${mbPerSSuffix(c)}`} with ${configurationName(c)}`,
      expected,
    };
  });
  // A process that the module crashed is a failed check of its own (a burn-in's, whatever its records say).
  if (run.result.command === 'burn-in' || death) {
    const deaths = death ? [death] : moduleCrashes(run.result);
    const crashes = deaths.length;
    const crashed = crashesText(deaths);
    checks.push({
      name: `${where(null)}.module-crashes`,
      timeS: 0,
      outcome: crashed === null ? 'pass' : 'fail',
      message: crashed ?? undefined,
      measured: crashes === 0 ? 'none' : plural(crashes, 'crash', 'crashes'),
      expected: 'the module never kills the process',
    });
  }
  for (const t of run.thresholds) {
    checks.push({
      name: `${where(t.configuration)}.${t.name}`,
      timeS: 0,
      outcome: t.outcome,
      message: t.outcome === 'pass' ? undefined : `expected ${t.expected}, measured ${t.measured}${t.outcome === 'inconclusive' ? `; not judged: ${t.notJudged ?? 'the data cannot decide'}` : ''}`,
      measured: t.measured,
      expected: t.expected,
    });
  }
  const cmp = run.comparison;
  for (const row of cmp?.rows ?? []) {
    // Only what can fail the comparison is a case: throughput and the latency percentiles it gates on (--percentiles);
    // the others are shown, not judged. Each is judged on its ratio's 95 % interval against --max-regression.
    const limit = (higherIsBetter: boolean) => `${higherIsBetter ? '≥' : '≤'} ${(1 + (higherIsBetter ? -1 : 1) * (cmp!.maxRegressionPct / 100)).toFixed(2)} ×`;
    const rule = `(--max-regression ${cmp!.maxRegressionPct} %), on the ratio's 95 % interval`;
    const latencyOf = (p: GatedPercentile, candidate: boolean) =>
      p === 'p50' ? (candidate ? row.candidateP50Ms : row.baselineP50Ms) : p === 'p99' ? (candidate ? row.candidateP99Ms : row.baselineP99Ms) : null;
    const measuredText = (value: string | null, changePct: number | null, e: ChangeEstimate | undefined) =>
      [value, changePct === null ? null : signedPercent(changePct), e ? ratioText(e) : null].filter((x) => x !== null).join('; ') || 'n/a';
    const metrics: [string, string, string][] = [
      [
        'throughput',
        measuredText(`${row.candidateThroughputPerS.toFixed(1)} ${w.rate}`, row.throughputChangePct, row.throughputRatio),
        `${limit(true)} the baseline's ${row.baselineThroughputPerS.toFixed(1)} ${w.rate} ${rule}`,
      ],
      ...cmp!.latencyPercentiles.map((p): [string, string, string] => {
        const [from, to] = [latencyOf(p, false), latencyOf(p, true)];
        const e = row.latencyRatios[p];
        const changePct = e ? Math.round((e.ratio - 1) * 1000) / 10 : p === 'p50' ? row.p50ChangePct : p === 'p99' ? row.p99ChangePct : null;
        return [p, measuredText(to === null ? null : latencyText(to), changePct, e), `${limit(false)} the baseline's ${from === null ? p : latencyText(from)} ${rule}`];
      }),
    ];
    for (const [metric, measured, expected] of metrics) {
      const failed = row.regressions.find((r) => r.startsWith(metric));
      const unsure = row.inconclusive.find((r) => r.startsWith(metric));
      checks.push({
        name: `${where(row)}.baseline.${metric}`,
        timeS: 0,
        outcome: failed ? 'fail' : unsure ? 'inconclusive' : 'pass',
        message: failed ? `regression beyond ${cmp!.maxRegressionPct} % and beyond the noise: ${failed}` : unsure ? `within the noise: ${unsure}` : undefined,
        measured,
        expected,
      });
    }
    checks.push({
      name: `${where(row)}.baseline.failures`,
      timeS: 0,
      outcome: row.regressions.some((r) => r.includes('failures')) ? 'fail' : 'pass',
      message: row.regressions.find((r) => r.includes('failures')),
      measured: String(row.candidateFailures),
      expected: row.baselineFailures === 0 ? '0' : `any (the baseline had ${row.baselineFailures})`,
    });
  }
  // A configuration the candidate planned and did not measure whole fails every figure it would be compared on; one an
  // interrupted candidate never measured whole is an error (planned, not measured: never green, yet no failure).
  for (const m of cmp?.notMeasured ?? []) {
    for (const metric of ['throughput', ...cmp!.latencyPercentiles, 'failures']) {
      checks.push({
        name: `${where(m)}.baseline.${metric}`,
        timeS: 0,
        outcome: run.result.interrupted ? 'error' : 'fail',
        message: `${configurationName(m)} ${m.reason}`,
        measured: 'nothing',
        expected: 'as measured by the baseline',
      });
    }
  }
  for (const c of cmp?.capacity ?? []) {
    checks.push({
      name: `${where(c)}.baseline.capacity`,
      timeS: 0,
      outcome: c.outcome,
      message: c.outcome === 'pass' ? undefined : `${c.outcome === 'fail' ? 'capacity fell' : 'capacity fell, inconclusively'}: ${c.missed.join(', ')}`,
      measured: `${c.candidatePerS ?? 'none'}/s`,
      expected: `≥ ${c.baselinePerS}/s (the baseline's capacity)`,
    });
  }
  return checks;
}

const xmlbuilder = lazyModule<typeof import('xmlbuilder2')>('xmlbuilder2');
/** Control characters are not allowed in XML 1.0: a module's message may carry them. */
const document = () => xmlbuilder().create({ version: '1.0', encoding: 'UTF-8', invalidCharReplacement: '\uFFFD' });

/**
 * A run that never measured: a lab run the lab stopped before, or a run whose trial call the token answered wrongly.
 * Its suite holds a case per configuration it planned, named as its cases would have been: each an error (planned,
 * not measured), or, where the token answered wrongly (`wrongAnswer`), a failure: that is a finding about the token.
 */
export interface NotRun {
  name: string;
  /** The workload as cases name it (`p256`, `decrypt-rsa2048`), how it would have made each call, and its calls' plural (`signatures`). */
  workload: string;
  callPattern: CallPattern;
  nouns: string;
  configurations: ConfigurationAxes[];
  reason: string;
  wrongAnswer?: WrongAnswer;
}

/** A run of `plan`, as a JUnit suite `name` of its planned cases that could not be measured, and why. */
export function notRunOf(name: string, plan: RunPlan, reason: string, wrongAnswer?: WrongAnswer): NotRun {
  return {
    name,
    workload: workloadId(plan.operation, plan.algorithm.id),
    callPattern: { perCall: plan.perCall, multipartChunkBytes: plan.multipartChunkBytes },
    nouns: nounsOf(plan.operation),
    configurations: plannedConfigurations(plan.tokenCounts, plan.threadsPerToken, plan.targetRate, plan.dataSizesBytes).map((c) =>
      configurationAxes(c.tokens, c.threadsPerToken, c.targetRatePerS, c.dataSizeBytes),
    ),
    reason,
    ...(wrongAnswer ? { wrongAnswer } : {}),
  };
}

/** The cases of a run that never measured: errors, or failures where the token answered its trial call wrongly. */
function notRunChecks(n: NotRun): Check[] {
  return n.configurations.map((c) => {
    const name = `${n.workload}${callPatternSlug(n.callPattern)}.${configurationSlug(c)}.${n.nouns.replace(/ /g, '-')}`;
    if (n.wrongAnswer === undefined) return unmeasuredCheck(name, `not measured: ${n.reason}`, `the lab run ${n.name} measured`);
    return {
      name,
      timeS: 0,
      outcome: 'fail',
      message: `${n.wrongAnswer} at the trial call before the run, so nothing was measured: ${n.reason}`,
      measured: `a wrong answer (${n.wrongAnswer}) to the trial call`,
      expected: `right answers, then no failed ${n.nouns}`,
    };
  });
}

/**
 * What the host checked of a run's outputs, as its suite's property and beside every check: a green OK may rest on
 * CKR_OK alone, or on a sample of the outputs checked.
 */
function hostCheckOf(r: JudgedRun['result']): { property: string; beside: string } {
  const unchecked = uncheckedText(r, wordsOf(r)).replace(/^ \((.*)\)$/, '$1');
  if (unchecked !== '') return { property: unchecked, beside: `; ${unchecked}` };
  const never = r.configurations.reduce((n, c) => n + uncheckedCalls(r, c), 0);
  const planned = r.plan.verify.mode === 'sample' ? `${verifyText(r)} (--verify ${verifySetting(r)})` : verifyText(r);
  if (never > 0) return { property: `${planned}; ${never} calls never checked (the check after the window did not run)`, beside: `; ${planned}; ${never} calls never checked` };
  return { property: verifyText(r), beside: r.plan.verify.mode === 'sample' ? `; ${planned}` : '' };
}

function addSuite(root: XMLBuilder, name: string, checks: Check[], identity: { runId: string; startedAt: string; hostCheck: { property: string; beside: string } } | null): void {
  const suite = root.ele('testsuite', {
    name,
    tests: checks.length,
    failures: checks.filter((c) => c.outcome === 'fail').length,
    errors: checks.filter((c) => c.outcome === 'error').length,
    skipped: checks.filter((c) => c.outcome === 'inconclusive').length,
    ...(identity ? { timestamp: identity.startedAt.replace(/Z$/, '') } : {}),
    time: checks.reduce((s, c) => s + c.timeS, 0).toFixed(3),
  });
  const properties = suite.ele('properties');
  if (identity) properties.ele('property', { name: 'runId', value: identity.runId });
  if (identity) properties.ele('property', { name: 'hostCheck', value: identity.hostCheck.property });
  for (const c of checks) {
    properties.ele('property', { name: `${c.name}.measured`, value: c.measured });
    properties.ele('property', { name: `${c.name}.expected`, value: c.expected });
  }
  for (const c of checks) {
    const testcase = suite.ele('testcase', { classname: `hsm-bench.${name}`, name: c.name, time: c.timeS.toFixed(3) });
    if (c.outcome === 'error') testcase.ele('error', { message: c.message, type: 'hsm-bench' }).txt(c.message!);
    if (c.outcome === 'fail') testcase.ele('failure', { message: c.message, type: 'hsm-bench' }).txt(c.message!);
    // Jenkins' JUnit schema gives <skipped> text, not attributes.
    if (c.outcome === 'inconclusive') testcase.ele('skipped').txt(`inconclusive: ${c.message}`);
    testcase.ele('system-out').txt(`measured ${c.measured}; expected ${c.expected}${identity?.hostCheck.beside ?? ''}`);
  }
}

/**
 * JUnit XML: one testsuite per run, one testcase per check that can fail (planned configuration, threshold, baseline
 * figure); lab runs that never ran get their suites too, every case an error.
 */
export function renderJunit(runs: JudgedRun[], notRun: NotRun[] = []): string {
  const doc = document();
  const root = doc.ele('testsuites', { name: 'hsm-bench' });
  for (const run of runs) addSuite(root, run.name, checksOf(run), { ...run.result, hostCheck: hostCheckOf(run.result) });
  for (const n of notRun) addSuite(root, n.name, notRunChecks(n), null);
  return doc.end({ prettyPrint: true }) + '\n';
}

/**
 * JUnit for a run whose process the module killed (its supervisor writes it from the run directory): the plan's
 * configurations, those measured judged as usual, the others errors saying why, and the crash a failed case.
 */
export function renderCrashedRunJunit(run: JudgedRun, death: ProcessDeath): string {
  const doc = document();
  addSuite(doc.ele('testsuites', { name: 'hsm-bench' }), run.name, checksOf(run, death), { ...run.result, hostCheck: hostCheckOf(run.result) });
  return doc.end({ prettyPrint: true }) + '\n';
}

/**
 * JUnit for a run that never ran (bad input, exit 2; a set-up error, exit 3): a CI that reads the file sees the
 * job failed and why, rather than no test at all. The case keeps one name per command, like every other case.
 */
export function renderErrorJunit(command: string, message: string): string {
  const name = `hsm-bench.${command}`;
  const doc = document();
  doc
    .ele('testsuites', { name: 'hsm-bench' })
    .ele('testsuite', { name, tests: 1, failures: 0, errors: 1, skipped: 0 })
    .ele('testcase', { classname: name, name: 'set-up' })
    .ele('error', { message, type: 'hsm-bench' })
    .txt(message);
  return doc.end({ prettyPrint: true }) + '\n';
}
