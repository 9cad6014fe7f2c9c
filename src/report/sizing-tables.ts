import { OBJECTIVE_PERCENTILES, percentileName, type ObjectivePercentile } from '../model/plan.js';
import { latencyText } from '../core/latency-text.js';
import { configurationName } from '../model/configuration.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import { capacityByTokens } from '../stats/capacity.js';
import { rateWindowS } from '../stats/rate-window.js';
import { type CapacityResult } from '../model/run-result.js';
import { KNEE_SHARE } from '../stats/saturation.js';
import { fixed, scheduleMissMark, shortfallMark } from './describe-run.js';
import { wordsOf } from '../operations/words.js';
import { plural } from '../core/plural.js';
import type { TableModel } from './table-model.js';
import { percentileCell } from './latency-cells.js';

/** What the capacity is judged on, in words: "within p99 ≤ 50 ms", or on the schedule alone. */
const objectivesText = (r: RunResult) =>
  (r.plan.objectives ?? []).length > 0
    ? `within ${r.plan.objectives!.map((o) => `${percentileName(o.percentile)} ≤ ${latencyText(o.ms)}`).join(', ')}`
    : '(every call served, at least 98 % of the target rate kept; no latency objective)';

const rate = (n: number | null) => (n === null ? '–' : `${Number.isInteger(n) ? n : fixed(n, 1)}/s`);

/**
 * The sizing answer, first in the terminal and the report: per token count the capacity within the objectives
 * (with the sessions per token that gave it), the rate at which the tokens fell behind, and a sessions sweep's knee.
 */
export function sizingAnswer(r: RunResult): string[] {
  const lines: string[] = [];
  const best = [...capacityByTokens(r.capacity ?? []).values()];
  const sessionsSwept = r.plan.threadsPerToken.length > 1;
  const name = (c: { tokens: number; threadsPerToken: number }) => (sessionsSwept ? configurationName(c) : plural(c.tokens, 'token'));
  if (best.length > 0) {
    const answer = (c: CapacityResult) => {
      const first = c.rates[0]!;
      if (first.interrupted) return `${plural(c.tokens, 'token')} not measured (interrupted at ${rate(first.targetRatePerS)}, the lowest rate)`;
      if (c.capacityPerS === null) {
        // "none" only from a miss the sample decides at the lowest rate; a lowest rate left open leaves the answer open.
        if (first.missed.length > 0) return `${plural(c.tokens, 'token')} none (${rate(first.targetRatePerS)}, the lowest rate, missed: ${first.missed.join(', ')})`;
        const why = first.held ? '' : `${rate(first.targetRatePerS)} not judged: ${(first.notJudged ?? []).join(', ')}`;
        const settle = settles(r, [first]) ?? (first.hostStalled ? 'a quieter host settles it' : null);
        return `${plural(c.tokens, 'token')} not established (${why}${settle ? `; ${settle}` : ''})`;
      }
      const cut = capacityAtLeast(c) ? 'at least ' : '';
      return `${plural(c.tokens, 'token')} ${cut}${rate(c.capacityPerS)}${sessionsSwept ? ` (${plural(c.threadsPerToken, 'session')} per token)` : ''}`;
    };
    lines.push(`Capacity ${objectivesText(r)}: ${best.map(answer).join('; ')}.`);
    const thin = best.flatMap((c) => c.rates.filter((x) => x.thin && !x.held));
    if (thin.length > 0) {
      const rests = best.some((c) => (c.capacityPerS === null ? c.rates[0]!.missed.length === 0 && !c.rates[0]!.interrupted : capacityAtLeast(c)));
      const settle = settles(r, thin);
      lines.push(
        `Some rates were not judged (?): their samples did not decide an objective (too few calls for its percentile, or its 95 % interval straddles it)${rests ? '; an answer "not established" or "at least" waits on them' : ''}${settle ? ` (${settle})` : ''}.`,
      );
    }
    const fewer = fewerWithMoreTokens(r, best);
    lines.push(...fewer.map((x) => x.line));
    // No capacity at all, from a miss the tokens' own time does not explain: where the time went (once).
    for (const c of best.filter((x) => x.capacityPerS === null && !fewer.some((f) => f.tokens === x.tokens))) {
      const deciding = c.rates[0]!.missed.length > 0 && !c.rates[0]!.interrupted ? c.rates[0] : undefined;
      const cause = deciding && missCause(r, c, deciding);
      if (cause) lines.push(`${plural(c.tokens, 'token')} at ${rate(deciding.targetRatePerS)}:${cause}`);
    }
  }
  for (const c of r.capacity ?? []) {
    const top = c.rates[c.rates.length - 1]!;
    if (c.rates.every((x) => x.held)) lines.push(`${name(c)} held every rate swept: the capacity may lie above ${rate(top.targetRatePerS)}; sweep higher.`);
    const cut = c.rates.find((x) => x.interrupted);
    if (cut) lines.push(`${name(c)}: interrupted at ${rate(cut.targetRatePerS)}; that rate and those above it were not measured.`);
    // A stall of the host's clock, as measured; a start delay while the tokens idled says so in the rate's own words.
    const stallOf = (x: CapacityResult['rates'][number]) =>
      r.configurations.find((y) => y.tokens === c.tokens && y.threadsPerToken === c.threadsPerToken && y.openLoop?.targetRatePerS === x.targetRatePerS)?.openLoop?.hostStallMs;
    const stalled = c.rates.find((x) => x.hostStalled && !x.held && stallOf(x) !== undefined);
    if (stalled) {
      const stallS = stallOf(stalled);
      lines.push(
        `${name(c)}: at ${rate(stalled.targetRatePerS)} the host stalled${stallS === undefined ? '' : ` for ${latencyText(stallS)}`} (hsm-bench's own clock thread, or a session waiting for its call, woke that late), and the tokens kept up with the stall taken out: that rate is not judged; measure it again on a quieter host.`,
      );
    }
    if (c.fellBehindAtPerS === null) continue;
    const at = c.rates.find((x) => x.targetRatePerS === c.fellBehindAtPerS)!;
    lines.push(`${name(c)} fell behind at ${rate(c.fellBehindAtPerS)}: ${rate(at.achievedRatePerS)} served.`);
  }
  for (const s of r.saturation ?? []) {
    lines.push(
      `${plural(s.tokens, 'token')}: throughput reaches ${fixed(KNEE_SHARE * 100, 0)} % of its best at ${plural(s.kneeThreadsPerToken, 'session')} per token (the knee: ${fixed(s.kneeThroughputPerS, 1)} ${wordsOf(r).rate}; best ${fixed(s.bestThroughputPerS, 1)} with ${s.bestThreadsPerToken}).`,
    );
  }
  return lines;
}

/**
 * Where a rate missed an objective on the response time while the calls themselves (service time) were within it:
 * the time went before the calls started, which a busy host causes as well as a queue for the tokens. Null otherwise.
 */
function missCause(r: RunResult, c: CapacityResult, miss: CapacityResult['rates'][number]): string | null {
  const measured = r.configurations.find((x) => x.tokens === c.tokens && x.threadsPerToken === c.threadsPerToken && x.openLoop?.targetRatePerS === miss.targetRatePerS);
  const service = measured?.latencyMs?.p99;
  if (service === undefined || !measured!.openLoop?.keptUp || !(r.plan.objectives ?? []).every((o) => service <= o.ms)) return null;
  return ` The calls themselves took at most ${latencyText(service)} at p99 (service time): the rest went before they started (${fixed(measured!.openLoop!.late.sharePct, 1)} % found no session free; the others waited for the host to start them), which a busy host causes as well as the tokens; measure again with --repeat or on a quieter host.`;
}

/**
 * More tokens served less: said with the judged miss that shows it (enough calls for its percentile). Where the
 * calls took no longer on the tokens than within the objective (service time), the wait was in starting them.
 */
function fewerWithMoreTokens(r: RunResult, best: readonly CapacityResult[]): { tokens: number; line: string }[] {
  const sorted = [...best].sort((a, b) => a.tokens - b.tokens);
  return sorted.flatMap((c, i) => {
    const fewer = sorted.slice(0, i).filter((x) => (x.capacityPerS ?? 0) > (c.capacityPerS ?? 0));
    if (fewer.length === 0) return [];
    const top = fewer.reduce((a, b) => ((b.capacityPerS ?? 0) > (a.capacityPerS ?? 0) ? b : a));
    const miss = c.rates.find((x) => !x.held && !notJudged(x) && !x.interrupted && x.targetRatePerS <= top.capacityPerS!);
    if (miss === undefined) return [];
    const cause = missCause(r, c, miss) ?? ' The calls themselves took longer on the tokens (service time): the tokens, or what they share, slowed down with more of them at work.';
    return [
      {
        tokens: c.tokens,
        line: `${plural(c.tokens, 'token')} served less than ${plural(top.tokens, 'token')} (${capacityCell(c)} against ${rate(top.capacityPerS)}): at ${rate(miss.targetRatePerS)}, which ${plural(top.tokens, 'token')} held, it missed on enough calls to judge: ${miss.missed.join(', ')}.${cause}`,
      },
    ];
  });
}

const notJudged = (x: CapacityResult['rates'][number]) => !x.held && !x.interrupted && x.missed.length === 0;

/**
 * What settles rates left open for want of calls: the longest window they name, as --max-window where windows grow
 * to the calls a percentile needs and that is enough, else as --duration (a window past those calls). Null: none.
 */
function settles(r: RunResult, open: readonly CapacityResult['rates'][number][]): string | null {
  const thin = open.filter((x) => x.thin);
  if (thin.length === 0) return null;
  if (thin.some((x) => !x.windowToJudgeS)) return 'a longer --duration settles it';
  const windowS = Math.max(...thin.map((x) => x.windowToJudgeS!));
  const grownS = (x: CapacityResult['rates'][number]) => Math.ceil(rateWindowS(0, Number.POSITIVE_INFINITY, x.targetRatePerS, r.plan.objectives ?? []));
  const flag = r.plan.rateWindowMaxS !== undefined && thin.every((x) => x.windowToJudgeS! <= grownS(x)) ? '--max-window' : '--duration';
  return `${flag} ${windowS}s settles it`;
}

/** The sweep shows only that the capacity is at least its figure: cut short by an interruption, or a rate above it not judged. */
const capacityAtLeast = (c: CapacityResult) => c.capacityPerS !== null && c.rates.some((x) => x.interrupted || (notJudged(x) && x.targetRatePerS > c.capacityPerS!));

/** The capacity in a table: "none" only where the lowest rate missed on a sample that decides it, "–" where it was not measured. */
const capacityCell = (c: CapacityResult) =>
  c.capacityPerS !== null ? `${capacityAtLeast(c) ? '≥ ' : ''}${rate(c.capacityPerS)}` : c.rates[0]!.interrupted ? '–' : c.rates[0]!.missed.length > 0 ? 'none' : 'not established';

/** A rate of the sweep as a mark: ✓ held, ✗ missed, ? not judged, – not measured. */
export const capacityRateMark = (x: CapacityResult['rates'][number]) => (x.held ? '✓' : x.interrupted ? '–' : notJudged(x) ? '?' : '✗');
/** A response percentile; "≥" where calls never started reach it. */
export const responseCell = (o: ConfigurationResult['openLoop'], p: ObjectivePercentile, calls: number) =>
  o ? `${o.responseAtLeast?.includes(p) && percentileCell(o.responseMs, p, calls) !== '–' ? '≥ ' : ''}${percentileCell(o.responseMs, p, calls)}` : '–';

/**
 * The response percentiles a rate table shows: every one an objective judges (--slo-p90 shows p90), p99 (--max-p99
 * judges it), and p50 while there are fewer than `atLeast`; in the order of the percentiles.
 */
export function responsePercentiles(r: Pick<RunResult, 'plan'>, atLeast: number): ObjectivePercentile[] {
  const judged = new Set<ObjectivePercentile>([...(r.plan.objectives ?? []).map((o) => o.percentile), 'p99']);
  if (judged.size < atLeast) judged.add('p50');
  return OBJECTIVE_PERCENTILES.filter((p) => judged.has(p));
}

/** Per token count and sessions, each rate of the sweep judged: the capacity and why the next rate missed. */
export function capacityTable(r: RunResult): TableModel | null {
  if (!r.capacity || r.capacity.length === 0) return null;
  const head = ['Configuration', 'Capacity', 'Fell behind at', 'Rates (✓ held, ✗ missed, ? not judged, – not measured)'];
  const rows = r.capacity.map((c) => [
    configurationName({ tokens: c.tokens, threadsPerToken: c.threadsPerToken }),
    capacityCell(c),
    c.fellBehindAtPerS === null ? 'kept up' : rate(c.fellBehindAtPerS),
    c.rates
      .map(
        (x) =>
          `${rate(x.targetRatePerS)} ${capacityRateMark(x)}${x.held ? '' : x.interrupted ? ' (interrupted: not measured)' : ` (${[...x.missed, ...(x.notJudged ?? []).map((m) => `not judged: ${m}`)].join(', ')})`}`,
      )
      .join('; '),
  ]);
  return { head, rows, numeric: [false, true, true, false] };
}

/** A sessions sweep: per token count, the knee and the best. */
export function saturationTable(r: RunResult): TableModel | null {
  if (!r.saturation || r.saturation.length === 0) return null;
  const w = wordsOf(r);
  const head = ['Tokens', 'Knee (sessions/token)', `At the knee (${w.rate})`, 'Best (sessions/token)', `Best (${w.rate})`];
  const rows = r.saturation.map((s) => [s.tokens, s.kneeThreadsPerToken, fixed(s.kneeThroughputPerS, 1), s.bestThreadsPerToken, fixed(s.bestThroughputPerS, 1)]);
  return { head, rows, numeric: head.map(() => true) };
}

/**
 * The table of a run at target rates: what was asked and served, the response time (from each call's intended
 * start, what a client waits) beside the service time (the call alone), and how many calls found no session free.
 */
export function rateTable(r: RunResult): TableModel {
  const w = wordsOf(r);
  const shown = responsePercentiles(r, 4);
  const dropped = r.configurations.some((c) => (c.openLoop?.notStarted ?? 0) > 0);
  const head = [
    'Configuration',
    'Target/s',
    'Achieved/s',
    ...shown.map((p) => `Response ${percentileName(p)}`),
    'Service p50',
    'Service p99',
    'Late (%)',
    'Late by p99',
    ...(dropped ? ['Not started'] : []),
    'Failures',
  ];
  const rows = r.configurations.map((c) => {
    const o = c.openLoop;
    return [
      `${configurationName({ tokens: c.tokens, threadsPerToken: c.threadsPerToken })} × ${w.title}${shortfallMark(r, c)}`,
      o ? rate(o.targetRatePerS) : 'flat out',
      o ? `${fixed(o.achievedRatePerS, 1)}${scheduleMissMark(o, true)}` : fixed(c.throughputPerS, 1),
      ...shown.map((p) => responseCell(o, p, c.operationsOk)),
      percentileCell(c.latencyMs, 'p50', c.operationsOk),
      percentileCell(c.latencyMs, 'p99', c.operationsOk),
      fixed(o?.late.sharePct, 1),
      percentileCell(o?.late.lagMs, 'p99', o?.late.operations ?? 0),
      ...(dropped ? [o?.notStarted ?? '–'] : []),
      c.operationsFailed,
    ];
  });
  return { head, rows, numeric: head.map((_, i) => i > 0) };
}
