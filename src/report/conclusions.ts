import { rangeText } from '../core/range-text.js';
import { dataSizeOf } from '../model/configuration.js';
import { plural } from '../core/plural.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import { failuresOf, operationsMadeOf, throughputRange } from '../stats/repetitions.js';
import { notMeasured } from '../result/plan-coverage.js';
import { basisLooksLow, efficiencyBasisOf, efficiencyRange, efficiencyWithheld, shortfallOf, uncountedOf, type Shortfall } from '../result/configuration-shortfall.js';
import { wordsOf } from '../operations/words.js';
import { busyHost, configurationName, mergedHostsCpuText, fixed, lowConfidenceLines, rateNotEstablishedLines, runEnd, workerIssueText } from './describe-run.js';
import { failureList, statusMeaning } from './status-meaning.js';
import { moduleCrashText } from './crash-text.js';
import { MEAN_RESOLUTION_MS, latencyText } from '../core/latency-text.js';
import { HOST_CPU_LIMIT_PCT, hostBusyPct, hostCpuClause } from './cpu-text.js';
import { NOISE_FLOOR_PCT, OUTLIER_Z, outliersOverRepetitions, standsOutIn, type RepeatedOutlier } from '../stats/token-outliers.js';
import { serialShown } from '../model/serial.js';
import { harnessShareText } from './harness-text.js';

export const sentence = (text: string) => `${text[0]!.toUpperCase()}${text.slice(1)}`;

/** Repetitions further apart than this (max − min over the median) are called out: the figure is not steady. */
const NOISY_SPREAD_PCT = 20;

/** Every repetition of a configuration (the configuration itself when it was measured once). */
const repetitionsOf = (c: ConfigurationResult) => c.repetitions ?? [c];
const sumOf = (r: RunResult, count: (x: ReturnType<typeof repetitionsOf>[number]) => number | undefined) =>
  r.configurations.reduce((n, c) => n + repetitionsOf(c).reduce((m, x) => m + (count(x) ?? 0), 0), 0);

/** Tokens by label and slot (labels repeat), in a list: "tb (slot 7), tc (slot 9)". */
const tokenNames = (r: RunResult, tokens: readonly number[]) => tokens.map((t) => (r.tokens[t] ? `${r.tokens[t]!.label} (slot ${r.tokens[t]!.slotId})` : `token ${t}`)).join(', ');

/** Why a configuration is not whole, as clauses: "the run was killed in it", "the session of tb (slot 7) hung". */
function shortfallClauses(r: RunResult, s: Shortfall): string[] {
  const clauses: string[] = [];
  if (s.partial && (s.repetitions === undefined || s.repetitions.whole === 0)) clauses.push(`the run was ${s.partial} in it`);
  if (s.repetitions) clauses.push(`only ${s.repetitions.whole} of its ${s.repetitions.planned} repetitions ${s.repetitions.whole === 1 ? 'is' : 'are'} whole`);
  if (s.hungTokens.length > 0) clauses.push(`a session of ${tokenNames(r, s.hungTokens)} hung`);
  if (s.stoppedTokens.length > 0) clauses.push(`${tokenNames(r, s.stoppedTokens)} stopped before the end`);
  return clauses;
}

/** Why no efficiency is drawn from a configuration: its own shortfall, or its 1-token basis's. */
function withheldLine(r: RunResult, c: ConfigurationResult): string | null {
  const withheld = efficiencyWithheld(r, c);
  if (withheld === null) return null;
  const why = shortfallClauses(r, withheld.shortfall).join(', and ');
  const whose = withheld.configuration === c ? `${why}, so its figures are not those of the whole configuration` : `its basis, ${configurationName(withheld.configuration)}, is not whole: ${why}`;
  return `No scaling efficiency is drawn from ${configurationName(c)}: ${whose}.`;
}

/**
 * How throughput scaled, and what limited it, from a whole configuration set against its whole 1-token basis. A
 * signer that is inside C_Sign all the time (its rate × its mean latency ≈ 1) was never waiting for the harness;
 * then if each signature took longer than with one token, the tokens waited for something they share (the module,
 * a reader or hub, the host's CPU). A signer that is often outside the call was not given work fast enough. Which
 * of the two the data shows is said plainly, so that a flat line is blamed on the right thing.
 */
function scalingConclusion(r: RunResult, last: ConfigurationResult, previous: ConfigurationResult | undefined): string {
  const w = wordsOf(r);
  const e = last.efficiency!;
  const shapeOf = (x: number) => (x >= 0.9 ? 'near-linear' : x >= 0.6 ? 'sub-linear' : 'poor');
  // With repetitions, the efficiencies they allow round by round: the shape and the factor are said as a range.
  const range = efficiencyRange(r, last);
  const low = basisLooksLow(r, last);
  const shape = low ? 'above linear' : range && shapeOf(range.min) !== shapeOf(range.max) ? `${shapeOf(range.min)} to ${shapeOf(range.max)}` : shapeOf(e);
  const two = (v: number) => fixed(v, 2);
  const allowed = range && two(range.max) !== two(range.min) ? ` (${rangeText(range.min * last.tokens, range.max * last.tokens, two)}× over the repetitions)` : '';
  const effRange = range && two(range.max) !== two(range.min) ? `, ${rangeText(range.min, range.max, two)}` : '';
  const lines = [
    `Scaling is ${shape}: ${configurationName(last)} reached ${fixed(last.throughputPerS, 1)} ${w.nouns}/s, ${fixed(e * last.tokens, 2)}× one token${allowed} (efficiency ${fixed(e, 2)}${effRange}).`,
  ];
  // A ratio of two medians taken at different moments: with repetitions this far apart, it can land anywhere.
  const spread = Math.max(last.spread?.relativePct ?? 0, efficiencyBasisOf(r, last)?.spread?.relativePct ?? 0);
  if (spread > NOISY_SPREAD_PCT && range)
    lines.push(`Not settled: the repetitions differ by up to ${fixed(spread, 0)} %, so the efficiency is known only to that range; repeat on a quieter host, or more times.`);
  // Within 2 % the two are one figure, not a fall: a run-to-run difference of a shared host is larger. With
  // repetitions whose ranges overlap, no fall is shown either: the medians' order is the host's luck.
  const [was, now] = previous ? [throughputRange(previous), throughputRange(last)] : [null, null];
  const overlap = previous !== undefined && previous.spread !== undefined && last.spread !== undefined && was!.min <= now!.max && now!.min <= was!.max;
  if (previous && previous.throughputPerS > last.throughputPerS * 1.02 && overlap)
    lines.push(
      `Throughput with ${configurationName(previous)} (${rangeText(was!.min, was!.max)}/s over the repetitions) and ${configurationName(last)} (${rangeText(now!.min, now!.max)}/s) overlap: no gain from the tokens added, and no fall shown.`,
    );
  else if (previous && previous.throughputPerS > last.throughputPerS * 1.02)
    lines.push(`Throughput fell from ${fixed(previous.throughputPerS, 1)}/s with ${configurationName(previous)} to ${fixed(last.throughputPerS, 1)}/s.`);
  else if (previous && previous.throughputPerS >= last.throughputPerS)
    lines.push(`Throughput stayed flat from ${configurationName(previous)} (${fixed(previous.throughputPerS, 1)}/s) to ${configurationName(last)}: no gain from the tokens added.`);
  const signers = last.tokens * last.threadsPerToken;
  const busy = last.perToken.reduce((sum, t) => sum + t.throughputPerS * ((t.latencyMs?.mean ?? 0) / 1000), 0) / signers;
  const single = efficiencyBasisOf(r, last)?.latencyMs?.mean;
  const growth = single && last.latencyMs ? last.latencyMs.mean / single : undefined;
  const software =
    r.backend.kind === 'embedded-softhsm2'
      ? ` These are software tokens: what they share is ${mergedHostsCpuText(r) ?? `this host's ${r.host.cpuCount} CPU cores`}, and the ${w.nouns} they make are that CPU's work.`
      : '';
  if (low) return [...lines, basisLowLine(r, efficiencyBasisOf(r, last)!)].join(' ') + software;
  if (e >= 0.9) return [...lines, 'Nothing the tokens share held them back.'].join(' ');
  // What the host did during it grounds the diagnosis: its CPUs all busy, or CPU to spare; the harness's own stalls.
  const cpu = hostCpuClause(last);
  const harness = harnessClause(last);
  // Tokens far slower than the others, in every repetition, are theirs to answer for, not something every token shares.
  const slowTokens = (
    outliersOverRepetitions(
      last,
      last.perToken.filter((t) => t.operationsOk > 0).map((t) => t.token),
    )?.outliers ?? []
  ).filter((o) => o.slow && o.in === o.of);
  if (busy < 0.9) {
    lines.push(
      `Each session spent only ${fixed(busy * 100, 0)} % of the window inside ${w.call}: ${w.nouns} were not issued fast enough${cpu ? `; ${cpu}` : " — check the host's load"}${harness ? `; ${harness}` : ''}.`,
    );
  } else if (slowTokens.length > 0) {
    lines.push(
      `${plural(slowTokens.length, 'token')} of ${last.tokens} ran far slower than the others (named below): the shortfall is theirs, not something all the tokens share${cpu ? `; ${cpu}` : ''}.`,
    );
  } else if (growth !== undefined && growth >= 1.25) {
    const shared =
      last.cpu === undefined
        ? 'something they share — the module, a reader or hub, or the host'
        : hostBusyPct(last.cpu) >= HOST_CPU_LIMIT_PCT
          ? `the host: ${cpu}`
          : `something they share other than the host's CPU — the module, a reader or hub (${cpu})`;
    lines.push(
      `Each session was inside ${w.call} ${fixed(Math.min(1, busy) * 100, 0)} % of the time (the harness kept them busy), and a${/^[aeiou]/i.test(w.noun) ? 'n' : ''} ${w.noun} took ${fixed(growth, 1)}× as long on average as with one token (mean service time ${latencyText(single, MEAN_RESOLUTION_MS)} → ${latencyText(last.latencyMs!.mean, MEAN_RESOLUTION_MS)}): the tokens waited for ${shared}${harness ? `; ${harness}` : ''}.`,
    );
  } else {
    lines.push(
      `Each session was inside ${w.call} ${fixed(Math.min(1, busy) * 100, 0)} % of the time, at about its one-token latency; the shortfall is in how the tokens' windows overlapped (see throughput over time).`,
    );
  }
  return lines.join(' ') + software;
}

/**
 * An efficiency above 1 beyond the noise, said as what it is: identical tokens do not scale better than linearly, so
 * the 1-token basis was slowed. What in the basis's own window could have slowed it is named where the data has it.
 */
function basisLowLine(r: RunResult, basis: ConfigurationResult): string {
  const w = wordsOf(r);
  const stalls = basis.stalls && basis.stalls.count > 0 ? basis.stalls : undefined;
  const cpu = basis.cpu && hostBusyPct(basis.cpu) >= HOST_CPU_LIMIT_PCT ? hostCpuClause(basis) : null;
  const why = [
    ...(stalls
      ? [`the token stalled ${plural(stalls.count, 'time')} in it, the longest ${latencyText(1000 * Math.max(...stalls.episodes.map((x) => x.durationS)))} without a successful ${w.noun}`]
      : []),
    ...[harnessClause(basis), cpu].filter((x): x is string => x !== null),
    ...(basis.lowConfidence ?? []),
  ];
  const found = why.length > 0 ? `in its window, ${why.join('; ')}` : 'nothing in its figures shows why (no stall, no harness stall recorded): a cold start or a host busy elsewhere';
  return `Identical tokens do not scale better than linearly: the 1-token basis (${fixed(basis.throughputPerS, 1)} ${w.nouns}/s) looks low, and this efficiency is not a finding — ${found}. Measure it again (--repeat 3, a longer --warmup) before reading how the tokens scaled.`;
}

/** The harness's own stalls in a configuration that could have held its signers back; null when there were none. */
function harnessClause(c: ConfigurationResult): string | null {
  const host = c.stalls?.host;
  const parts = [
    ...(host && host.count > 0 ? [`the host stalled hsm-bench ${plural(host.count, 'time')} (${latencyText(host.totalMs)} in all)`] : []),
    ...((c.operationsVerifiedLate ?? 0) > 0 ? [`host verification fell behind (it went on ${fixed(c.verificationLagS ?? 0, 1)} s after the window)`] : []),
  ];
  return parts.length > 0 ? parts.join(' and ') : null;
}

/** Tokens named one by one in a conclusion on stalls; more are counted. */
const STALLED_TOKENS_NAMED = 4;

/**
 * A configuration's stalls, over every repetition (each one's own, where it was repeated): which tokens stalled, how
 * often, how long and (measured once) how much of the window each was silent; apart from them the whole cluster's
 * silence — all tokens at once, when no call succeeded on any — or how short it stayed while the others went on;
 * and the tokens that stalled in every repetition. Null without any.
 */
function stallsLine(r: RunResult, c: ConfigurationResult): string | null {
  const measured = c.repetitions?.every((x) => x.stalls) ? c.repetitions.map((x) => ({ stalls: x.stalls!, durationS: x.durationS })) : c.stalls ? [{ stalls: c.stalls, durationS: c.durationS }] : [];
  const stalled = measured.filter((m) => m.stalls.count > 0);
  if (stalled.length === 0) return null;
  const w = wordsOf(r);
  const repeated = measured.length > 1;
  const episodes = stalled.flatMap((m) => m.stalls.episodes);
  const count = stalled.reduce((n, m) => n + m.stalls.count, 0);
  const longestOf = (es: readonly { durationS: number }[]) => latencyText(1000 * Math.max(...es.map((e) => e.durationS)));
  const who = r.configurations.length > 1 ? `With ${configurationName(c)}, ` : '';
  const inRepetitions = repeated ? ` in ${stalled.length} of ${measured.length} repetitions (${measured.map((m) => m.stalls.count).join(', ')} times)` : '';
  const tokensCalled = (n: number) => (n === c.tokens ? (n === 2 ? 'both tokens' : `all ${n} tokens`) : `${n} of the ${c.tokens} tokens`);
  const see = repeated ? "see Gaps and stalls: the median repetition's" : 'see Gaps and stalls';
  const host = hostShareOf(episodes);
  // One token is its whole configuration: its silence is the cluster's.
  if (c.tokens === 1)
    return sentence(`${who}the token stalled ${repeated ? inRepetitions.slice(1) : plural(count, 'time')}, the longest ${longestOf(episodes)}: no ${w.noun} succeeded meanwhile (${see}).${host}`);
  // Each token's own stalls, exact where measured once: its count, silent time and longest gap (older runs and
  // repetitions: the stalls it was in, of those kept, and the longest of them, which may span other tokens' too).
  const byToken = c.perToken
    .map((t) => {
      const own = episodes.filter((e) => e.tokens.includes(t.token));
      const exact = !repeated && t.stalls !== undefined;
      const longestMs = exact ? t.longestGapMs : own.length > 0 ? 1000 * Math.max(...own.map((e) => e.durationS)) : undefined;
      return { t, count: exact ? t.stalls! : own.length, silentS: exact ? t.stalledS : undefined, longestMs };
    })
    .filter((x) => x.count > 0)
    .sort((a, b) => (b.silentS ?? 0) - (a.silentS ?? 0) || b.count - a.count);
  const named = byToken.slice(0, STALLED_TOKENS_NAMED).map(({ t, count: n, silentS, longestMs }) => {
    const silent =
      silentS !== undefined && c.durationS > 0 ? `, silent ${latencyText(silentS * 1000)} of the ${latencyText(c.durationS * 1000)} window (${fixed((100 * silentS) / c.durationS, 1)} %)` : '';
    return `${tokenCalled(t)} ${plural(n, 'time')}${silent}${longestMs === undefined ? '' : `, the longest ${latencyText(longestMs)}`}`;
  });
  const more = byToken.length > STALLED_TOKENS_NAMED ? `, and ${plural(byToken.length - STALLED_TOKENS_NAMED, 'token')} more` : '';
  // The whole cluster: silent only while every token stalled at once; otherwise the others went on signing.
  const together = episodes.filter((e) => e.allTokensS !== null);
  const clusterGapMs = Math.max(...measured.map((m) => m.stalls.clusterLongestGapMs));
  const cluster =
    together.length > 0
      ? `${tokensCalled(c.tokens)} stalled at once ${plural(together.length, 'time')}, the longest ${latencyText(1000 * Math.max(...together.map((e) => e.allTokensS!)))} while no ${w.noun} succeeded on any`
      : `never all at once: while some stalled the others went on, and the cluster as a whole never went longer than ${latencyText(clusterGapMs)} without a successful ${w.noun}`;
  const how = `a stall: ${latencyText((c.stalls ?? stalled[0]!.stalls).minMs)} or more without a successful ${w.noun}`;
  const when = repeated ? ` in ${stalled.length} of ${measured.length} repetitions (${measured.map((m) => m.stalls.count).join(', ')} times; ${how})` : ` (${how})`;
  // The same token in a stall in every repetition is that token's; in one of them, the run's.
  const everyTime = c.perToken.filter((t) => measured.every((m) => m.stalls.episodes.some((e) => e.tokens.includes(t.token))));
  const same = !repeated
    ? ''
    : everyTime.length > 0 && everyTime.length < c.tokens
      ? ` ${everyTime.map(tokenCalled).join(', ')} stalled in every repetition.`
      : everyTime.length === c.tokens
        ? ' Every token stalled in every repetition.'
        : '';
  return sentence(`${who}${tokensCalled(byToken.length)} stalled${when}: ${named.join('; ')}${more}; ${cluster} (${see}).${same}${host}`);
}

/** A stall the host stalled hsm-bench through (to rounding): nothing in it shows a token stalled. */
const hostCovered = (e: { durationS: number; hostStallS: number }) => e.hostStallS >= 0.95 * e.durationS;

/**
 * What of the stalls may be the host's rather than the tokens': those the host stalled hsm-bench through, the time
 * hsm-bench's own threads did not run in the others, and the time whose share nobody knows (the process was killed
 * before it saved its measurements).
 */
function hostShareOf(episodes: readonly { durationS: number; hostStallS: number; hostStallNotKnownS?: number }[]): string {
  const covered = episodes.filter(hostCovered);
  const hostS = episodes.filter((e) => !hostCovered(e)).reduce((sum, e) => sum + e.hostStallS, 0);
  const notKnownS = episodes.reduce((sum, e) => sum + (e.hostStallNotKnownS ?? 0), 0);
  if (covered.length === episodes.length)
    return ` The host stalled hsm-bench through ${episodes.length === 1 ? 'it' : `all ${episodes.length}`} (its own threads did not run): nothing shows a token stalled; ${episodes.length === 1 ? 'it is' : 'they are'} most likely the host's.`;
  const parts = [
    ...(covered.length > 0 ? [`the host stalled hsm-bench through ${plural(covered.length, 'stall')} of them (most likely the host's)`] : []),
    ...(hostS > 0 ? [`the host stalled hsm-bench for ${latencyText(hostS * 1000)} of the others`] : []),
    ...(notKnownS > 0 ? [`for ${latencyText(notKnownS * 1000)} of it the host's share is not known (the process was killed before it saved it)`] : []),
  ];
  return parts.length > 0 ? ` Not all of it need be the tokens': ${parts.join('; ')}.` : '';
}

/** A token as a reader finds it: label, slot and serial. */
const tokenCalled = (t: ConfigurationResult['perToken'][number]) => `${t.label} (slot ${t.slotId}, serial ${serialShown(t.serial)})`;

/**
 * How the tokens of a configuration differed: tokens that stand out from the others beyond their spread (median ±
 * MAD) and beyond the noise between repetitions, named with whether they did so in every configuration and
 * repetition; otherwise the spread, with no token named. Tokens that stopped are left out, and said why.
 */
function spreadLine(r: RunResult, c: ConfigurationResult): string | null {
  const s = shortfallOf(r, c);
  const why = (t: number) => (s.hungTokens.includes(t) ? 'a session hung' : s.stoppedTokens.includes(t) ? 'it stopped before the end' : 'no call succeeded');
  const left = c.perToken.filter((t) => s.hungTokens.includes(t.token) || s.stoppedTokens.includes(t.token) || t.operationsOk === 0);
  const signing = c.perToken.filter((t) => !left.includes(t));
  if (signing.length < 2) return null;
  const leftOut = left.length > 0 ? ` Left out of this: ${left.map((t) => `${tokenCalled(t)}, ${fixed(t.throughputPerS, 1)}/s: ${why(t.token)}`).join('; ')}.` : '';
  const rates = signing.map((t) => t.throughputPerS);
  const [low, high] = [Math.min(...rates), Math.max(...rates)];
  const apartPct = high > 0 ? (100 * (high - low)) / high : 0;
  const over = outliersOverRepetitions(
    c,
    signing.map((t) => t.token),
  );
  if (over === null)
    return `With ${configurationName(c)}, the ${signing.length === 2 ? 'two ' : ''}tokens ran at ${rangeText(low, high)}/s (${fixed(apartPct, 1)} % apart); ${signing.length} tokens cannot tell which one is off.${leftOut}`;
  const { spread } = over;
  const noise = `${fixed(spread.noisePct, 0)} % of it${spread.noisePct > NOISE_FLOOR_PCT ? ' (as far apart as its repetitions)' : ''}`;
  // A token is named only where it stood out in every repetition: in some of them only is the runs' noise, said apart.
  const outliers = over.outliers.filter((o) => o.in === o.of);
  const sometimes = sometimesText(
    c,
    over.outliers.filter((o) => o.in < o.of),
  );
  if (outliers.length === 0)
    return `With ${configurationName(c)}, no token stood out${c.repetitions ? ' in every repetition' : ''}: they ran at ${rangeText(low, high)}/s around a median of ${fixed(spread.medianPerS, 1)}/s (MAD ${fixed(spread.madPerS, 2)}/s), none with a modified z-score beyond ${OUTLIER_Z} (0.6745 × distance / MAD, about ${fixed(OUTLIER_Z / 0.6745, 1)} MADs) and further than ${noise}.${sometimes}${leftOut}`;
  const named = outliers.map((o) => {
    const t = c.perToken.find((x) => x.token === o.token)!;
    const seen = standsOutIn(r.configurations, o.token, o.offPct < 0);
    const every =
      seen.of > 1
        ? seen.in === seen.of
          ? `, and so in all ${seen.of} configurations and repetitions it ran in with two others or more`
          : `, but in only ${seen.in} of the ${seen.of} configurations and repetitions it ran in with two others or more`
        : '';
    return `${tokenCalled(t)} at ${fixed(o.ratePerS, 1)}/s, ${fixed(Math.abs(o.offPct), 0)} % ${o.offPct < 0 ? 'below' : 'above'} the median${every}`;
  });
  const slow = outliers.filter((o) => o.slow).length;
  const whose =
    slow > 0
      ? ` ${slow === 1 ? 'It was' : 'They were'} slow alone while the others were not: look at ${slow === 1 ? 'that token' : 'those tokens'}, ${slow === 1 ? 'its' : 'their'} reader or hub port, not at what all the tokens share.`
      : '';
  return `With ${configurationName(c)}, ${plural(outliers.length, 'token')} of ${signing.length} stood out from the others' median ${fixed(spread.medianPerS, 1)}/s (MAD ${fixed(spread.madPerS, 2)}/s), with a modified z-score beyond ${OUTLIER_Z} (about ${fixed(OUTLIER_Z / 0.6745, 1)} MADs) and further than ${noise}${c.repetitions ? `, in all ${c.repetitions.length} repetitions` : ''}: ${named.join('; ')}.${whose}${sometimes}${leftOut}`;
}

/** Tokens that stood out in some of a configuration's repetitions only: not named as outliers, but said, with how often. */
function sometimesText(c: ConfigurationResult, outliers: readonly RepeatedOutlier[]): string {
  if (outliers.length === 0) return '';
  const each = outliers.map((o) => `${tokenCalled(c.perToken.find((t) => t.token === o.token)!)} ${o.slow ? 'below' : 'above'} the others in ${o.in} of the ${o.of}`);
  return ` Not named, as ${outliers.length === 1 ? 'it' : 'they'} stood out in only some repetitions: ${each.join('; ')}.`;
}

/**
 * Sentences computed from the data. What went wrong comes first (how the run ended, sessions that hung, tokens that
 * stopped, failures, what was never checked), so that it is never read as the host's or the scaling's doing; then
 * how throughput scaled, drawn only from whole configurations; then how tokens differed and the rest.
 */
export function conclusions(r: RunResult): string[] {
  const lines: string[] = [];
  const last = r.configurations[r.configurations.length - 1];
  if (!last) return ['No configuration was measured.', ...notMeasuredLines(r)];
  const w = wordsOf(r);
  const end = runEnd(r);
  if (end === 'killed') lines.push('The run was killed: `report` counted its calls again from the records on disk, and these results are partial.');
  else if (end === 'interrupted') lines.push('The run was interrupted: these results are partial.');
  // Hung sessions first, then workers that stopped for other reasons, in every configuration and repetition.
  for (const c of r.configurations) {
    const hung = new Set(shortfallOf(r, c).hungTokens);
    const issues = repetitionsOf(c).flatMap((x) => x.workerIssues);
    for (const i of [...issues.filter((i) => hung.has(i.token)), ...issues.filter((i) => !hung.has(i.token))]) lines.push(`With ${configurationName(c)}, ${workerIssueText(r, i)}.`);
  }
  // Every repetition's operations, not only the reported ones'.
  const failed = r.configurations.reduce((n, c) => n + failuresOf(c), 0);
  const total = r.configurations.reduce((n, c) => n + operationsMadeOf(c), 0);
  const unverified = r.configurations.reduce((n, c) => n + uncountedOf(c, 'operationsUnverified'), 0);
  const lost = r.configurations.reduce((n, c) => n + uncountedOf(c, 'operationsLost'), 0);
  // Calls whose outcome died with a killed process are in no count: said beside every count of successes.
  const uncounted = lost > 0 ? `; ${lost} more were made whose outcome died with the killed process, and are not counted` : '';
  const repeated = r.configurations.some((c) => c.repetitions);
  if (total === 0) lines.push(`No ${w.noun} was counted${uncounted}.`);
  else if (failed === 0 && unverified === 0) lines.push(`${total === 1 ? `The one ${w.noun}` : `All ${total} ${w.nouns}`}${lost > 0 ? ' counted' : ''} succeeded${uncounted}.`);
  else if (failed === 0) lines.push(`None of the ${plural(total, w.noun, w.nouns)} failed; ${unverified} of them were never checked, and CKR_OK is all that is known of those${uncounted}.`);
  else {
    // With --repeat, the configurations' counts by status are the median repetition's: only the statuses are named.
    const byStatus = new Map<string, number>();
    for (const c of r.configurations) for (const [status, n] of Object.entries(c.failuresByCkr)) byStatus.set(status, (byStatus.get(status) ?? 0) + n);
    const statuses = repeated
      ? [...byStatus.keys()].map((status) => `${status}${statusMeaning(r, status) === undefined ? '' : `: ${statusMeaning(r, status)}`}`).join('; ')
      : failureList(r, Object.fromEntries(byStatus));
    lines.push(`${failed} of ${plural(total, w.noun, w.nouns)} failed (see Failures)${statuses === '' ? '' : ` — ${statuses}`}${uncounted}.`);
  }
  // Succeeding is not serving: calls that succeed after a token stalled for seconds are said beside the count.
  for (const c of r.configurations) {
    const line = stallsLine(r, c);
    if (line) lines.push(line);
  }
  const crashed = moduleCrashText(r);
  if (crashed) lines.push(`${sentence(crashed)}: the burn-in failed.`);
  const verified = sumOf(r, (x) => x.operationsVerified);
  const were = (n: number) => (n === 1 ? 'was' : 'were');
  if (r.operation?.hostCheck === 'not-checked') lines.push(`${w.Nouns} were counted and timed but ${w.checked}: ${r.operation.checkSkipped}.`);
  else if (r.plan.verify.mode === 'none') lines.push(`${w.Nouns} were not checked on the host (--verify none).`);
  else if (r.operation?.checkSkipped) lines.push(`${w.Nouns} could not be checked on the host: ${r.operation.checkSkipped}.`);
  else if (unverified > 0) {
    const due = r.plan.verify.mode === 'all' ? `${verified} of ${verified + unverified}` : `${verified} of the ${verified + unverified} due a check (every ${r.plan.verify.every}th)`;
    lines.push(`${due} ${w.nouns} ${were(verified)} ${w.checked}; ${unverified} returned CKR_OK but ${were(unverified)} never checked.`);
  } else if (sumOf(r, (x) => x.operationsOk) === 0) {
    // Only a successful call is checked: with none, no check happened, and none may be said to have.
    lines.push(`No ${w.noun} succeeded, so none was ${w.checked}.`);
  } else {
    lines.push(`${plural(verified, w.noun, w.nouns)} ${were(verified)} ${w.checked} (${r.plan.verify.mode === 'all' ? 'every one made' : `every ${r.plan.verify.every}th`}).`);
  }
  for (const c of r.configurations) {
    // Where the operation cannot be checked, every call is unverified, and the line above said why.
    const unchecked = r.operation?.checkSkipped ? 0 : uncountedOf(c, 'operationsUnverified');
    if (unchecked > 0) {
      const why = c.partial === 'killed' ? 'the run was killed before it verified them, and `report` counted them from the spill file' : 'a Ctrl-C skipped their verification';
      lines.push(`With ${configurationName(c)}, ${unchecked} ${w.nouns} were made but never verified: verification had fallen behind, they waited on disk, and ${why}; they count as made, unchecked.`);
    }
    const lostHere = uncountedOf(c, 'operationsLost');
    if (lostHere > 0) lines.push(`With ${configurationName(c)}, ${lostHere} ${w.nouns} were made but their outcome died with the killed process: they are not counted.`);
  }
  // How it scaled: from the largest whole configuration against a whole 1-token basis, at each data size (each its
  // own workload, with its own basis); why not from the others.
  const scaled = r.configurations.filter((c) => c.tokens > 1 && c.efficiency !== null);
  const standing = scaled.filter((c) => efficiencyWithheld(r, c) === null);
  for (const size of new Set(standing.map(dataSizeOf))) {
    const shown = standing.filter((c) => dataSizeOf(c) === size).at(-1)!;
    const basis = efficiencyBasisOf(r, shown);
    const earlier = [basis, ...standing.filter((c) => c.threadsPerToken === shown.threadsPerToken && dataSizeOf(c) === dataSizeOf(shown))].filter((c) => c !== undefined);
    lines.push(scalingConclusion(r, shown, earlier[earlier.indexOf(shown) - 1]));
  }
  for (const c of scaled) {
    const why = withheldLine(r, c);
    if (why !== null) lines.push(why);
  }
  const spread = spreadLine(r, last);
  if (spread !== null) lines.push(spread);
  if ((r.plan.repeat ?? 1) > 1) {
    const short = r.configurations.some((c) => shortfallOf(r, c).repetitions !== undefined);
    lines.push(
      `Each configuration was ${short ? 'to be ' : ''}measured ${r.plan.repeat} times, interleaved with the others; the tables give the median ${short ? 'whole ' : ''}repetition's figures${r.plan.repeat! % 2 === 0 ? ' (with an even number, the slower of the two middle ones: an odd --repeat gives a true median)' : ''}, with the range of its throughput over the repetitions in brackets.`,
    );
  }
  for (const c of r.configurations) {
    if ((c.spread?.relativePct ?? 0) > NOISY_SPREAD_PCT) {
      lines.push(
        `The repetitions of ${configurationName(c)} differ by ${fixed(c.spread!.relativePct, 0)} % (${rangeText(c.spread!.throughputPerS.min, c.spread!.throughputPerS.max)}/s): the host or the tokens were not steady; read its figures with care, or repeat more.`,
      );
    }
  }
  // Only where the tokens were judged behind: a call or two a kept-up rate could not start by its deadline is noise.
  const notStarted = sumOf(r, (x) => (x.openLoop && !x.openLoop.keptUp && !x.openLoop.hostStalled ? x.openLoop.notStarted : 0));
  if (notStarted > 0) {
    lines.push(
      `At the target rates the tokens could not keep up with, ${plural(notStarted, 'call')} of the schedules could not start before their windows closed: they were not made, and count against those rates: in their response percentiles, each with the wait it had reached when the window closed (a lower bound, shown ≥)${r.capacity ? '; see the sizing answer' : ''}.`,
    );
  }
  const busy = busyHost(r);
  if (busy) lines.push(`${sentence(busy)}.`);
  const harnessShare = harnessShareText(r);
  if (harnessShare) lines.push(`${sentence(harnessShare)}.`);
  lines.push(...rateNotEstablishedLines(r).map((l) => `${sentence(l)}.`));
  lines.push(...lowConfidenceLines(r).map((l) => `${sentence(l)}.`));
  for (const c of r.configurations) {
    if (!c.operationsVerifiedLate) continue;
    lines.push(
      `With ${configurationName(c)}, verification fell behind the tokens: ${c.operationsVerifiedLate} ${w.nouns} waited on disk and were verified after the measured window, which went on for ${fixed(c.verificationLagS ?? 0, 1)} s after it; the throughput does not include that time (more --verify-threads, or --verify with a sample, keeps up).`,
    );
  }
  if (r.backend.kind === 'embedded-softhsm2') {
    lines.push(
      `The tokens were SoftHSM2 software tokens: their ${w.nouns} are ${r.sources ? `the work of ${mergedHostsCpuText(r)}` : `this host's CPU's work (${r.host.cpuCount} cores)`}, shared with hsm-bench's own threads and its host check, so from the first token on the throughput measures the ${r.sources ? 'hosts' : 'host'}, not tokens.`,
    );
  }
  lines.push(...notMeasuredLines(r));
  return lines;
}

/** A sentence per configuration of the plan the run did not measure whole. */
const notMeasuredLines = (r: RunResult) => notMeasured(r).map((m) => `${sentence(configurationName(m))}: ${m.reason}.`);
