import type { ConfigurationResult, RunResult, StallEpisode } from '../model/run-result.js';
import { latencyText } from '../core/latency-text.js';
import { plural } from '../core/plural.js';
import { configurationName, fixed, tokenTitle } from './describe-run.js';

/** Tokens named one by one in a stall; more are counted. */
const TOKENS_NAMED = 4;
/** Stall lines shown per configuration; run.json keeps more. */
const STALLS_SHOWN = 10;
/** The main thread's wait and verification's lag worth saying: below these they bent nothing a reader sees. */
const EVENT_LOOP_STALL_SHOWN_MS = 100;
const VERIFICATION_LAG_SHOWN_S = 1;

/** A stall's length (a time, scaled as latencies are); `at` its start into the window, in seconds as the charts' axis has it. */
const seconds = (s: number) => latencyText(s * 1000);
const at = (s: number) => `${fixed(s, s < 10 ? 2 : 1)} s`;

/** The tokens of a stall: every one at once, or which. */
function whoStalled(r: RunResult, c: ConfigurationResult, e: StallEpisode): string {
  // One token is its whole configuration: "all at once" and "in turn" say nothing of it.
  if (c.tokens === 1) return 'the token';
  if (e.allTokensS !== null) return `all ${c.tokens} tokens at once (${seconds(e.allTokensS)} without a success on any)`;
  if (e.tokens.length === c.tokens) return `each of the ${c.tokens} tokens, in turn (never all at once for ${seconds(c.stalls!.minMs / 1000)})`;
  const names = e.tokens.slice(0, TOKENS_NAMED).map((t) => (r.tokens[t] ? tokenTitle(r.tokens[t]!) : `token ${t}`));
  const more = e.tokens.length > TOKENS_NAMED ? `, … ${e.tokens.length - TOKENS_NAMED} more` : '';
  return `${e.tokens.length} of ${c.tokens} tokens (${names.join(', ')}${more})`;
}

/** One stall: when, how long, which tokens, and the host's stall inside it that may have made it. */
function stallLine(r: RunResult, c: ConfigurationResult, e: StallEpisode): string {
  const host = e.hostStallS > 0 ? `; the host stalled ${seconds(e.hostStallS)} in it (hsm-bench's own threads did not run: the stall may be the host's, not the tokens')` : '';
  // Where the host's stalls were lost the stall is not the tokens' for sure: it is said, not blamed on them.
  const notKnown = e.hostStallNotKnownS ? `; for ${seconds(e.hostStallNotKnownS)} of it the host's share is not known (the process was killed before it saved it)` : '';
  const who = e.hostStallNotKnownS ? `${whoStalled(r, c, e)} or the host` : whoStalled(r, c, e);
  // The host stalled hsm-bench through it (to rounding): no token was seen to stall, so none is named first.
  if (e.hostStallS >= 0.95 * e.durationS)
    return `at ${at(e.atS)} into the window, ${seconds(e.durationS)}: the host (it stalled hsm-bench ${seconds(e.hostStallS)}: its own threads did not run; nothing shows ${whoStalled(r, c, e)} stalled)${notKnown}`;
  return `at ${at(e.atS)} into the window, ${seconds(e.durationS)}: ${who}${host}${notKnown}`;
}

/** The stretches of the window hsm-bench's facts of itself do not cover, in words; null when they cover all of it. */
export function harnessNotKnownText(c: ConfigurationResult): string | null {
  const lost = c.harnessNotKnown ?? [];
  if (lost.length === 0) return null;
  const totalS = lost.reduce((sum, h) => sum + h.durationS, 0);
  // A run killed before it saved any (a scale run's configuration saves them at its end): none of it, in so many words.
  if (totalS >= c.durationS - 0.002) return 'none of the window: the process was killed before it saved them';
  const where = lost.map((h) => `${seconds(h.durationS)} at ${at(h.atS)}`).join(', ');
  return `the window but ${seconds(totalS)} of it (${where}): the process was killed before it saved them`;
}

/**
 * hsm-bench's own stalls where they could have bent a figure: the host's (a call in flight then was timed that much
 * longer), the main thread's (progress and Ctrl-C waited; calls are timed in their own threads), verification's and
 * recording's lag (after the window: not in the throughput). Null when none is worth saying.
 */
function harnessLine(c: ConfigurationResult): string | null {
  const parts: string[] = [];
  const host = c.stalls?.host;
  if (host && host.count > 0)
    parts.push(
      `the host stalled ${plural(host.count, 'time')} for 100 ms or more (longest ${seconds(host.longestMs / 1000)}, ${seconds(host.totalMs / 1000)} in all): calls in flight then were timed that much longer (max latency ${latencyText(c.latencyMs?.max)})`,
    );
  if ((c.maxEventLoopStallMs ?? 0) >= EVENT_LOOP_STALL_SHOWN_MS)
    parts.push(`its main thread waited up to ${seconds(c.maxEventLoopStallMs! / 1000)} (progress and Ctrl-C waited; calls are timed in their own threads)`);
  // Verification is named only where the host checked something: with nothing checked, the lag was recording's alone.
  if ((c.verificationLagS ?? 0) >= VERIFICATION_LAG_SHOWN_S)
    parts.push(
      `${c.operationsVerified > 0 ? 'host verification and recording' : 'recording (nothing was checked on the host)'} went on ${seconds(c.verificationLagS!)} after the window (not in its throughput)`,
    );
  const notKnown = harnessNotKnownText(c);
  if (notKnown) parts.push(`what it knows of the host's stalls, its main thread's waits and its CPU use covers ${notKnown}`);
  return parts.length > 0 ? `stalls of hsm-bench itself: ${parts.join('; ')}` : null;
}

/**
 * A configuration's gaps and stalls in lines: the longest time without a successful call for the whole cluster and
 * for one token, each stall (when, how long, which tokens, the host's share) and hsm-bench's own stalls. Empty for a
 * run without them (older run.json).
 */
export function stallLines(r: RunResult, c: ConfigurationResult): string[] {
  const s = c.stalls;
  if (!s) return [];
  const worst = c.perToken.reduce<ConfigurationResult['perToken'][number] | undefined>((a, t) => (a === undefined || t.longestGapMs > a.longestGapMs ? t : a), undefined);
  const longest =
    c.tokens > 1 && worst
      ? `longest time without a successful call: ${seconds(s.clusterLongestGapMs / 1000)} for the whole cluster (no token made one), ${seconds(worst.longestGapMs / 1000)} for one token (${tokenTitle(worst)})`
      : `longest time without a successful call: ${seconds(s.clusterLongestGapMs / 1000)}`;
  const together = s.episodes.filter((e) => e.allTokensS !== null).length;
  const count =
    s.count === 0
      ? `no stall (no token went ${seconds(s.minMs / 1000)} without a successful call)`
      : `${plural(s.count, 'stall')} (a token ${seconds(s.minMs / 1000)} or more without a successful call)${c.tokens > 1 ? `: ${together} with every token at once, ${s.episodes.length - together} with only some${s.count > s.episodes.length ? ` among the ${s.episodes.length} longest` : ''}` : ''}`;
  const shown = [...s.episodes]
    .sort((a, b) => b.durationS - a.durationS)
    .slice(0, STALLS_SHOWN)
    .sort((a, b) => a.atS - b.atS);
  const harness = harnessLine(c);
  return [
    longest,
    count,
    ...shown.map((e) => `  ${stallLine(r, c, e)}`),
    ...(s.count > shown.length ? [`  … ${s.count - shown.length} shorter (run.json keeps the ${s.episodes.length} longest)`] : []),
    ...(harness ? [harness] : []),
  ];
}

/** The configurations of a scale run worth a word on stalls: one stalled, or its harness did. */
export const stalledConfigurations = (r: RunResult) => r.configurations.filter((c) => c.stalls && (c.stalls.count > 0 || harnessLine(c) !== null));

/** A scale run's stalls: per configuration that had one, or whose harness stalled, its lines after its name. */
export function scaleStallLines(r: RunResult): string[] {
  return stalledConfigurations(r).flatMap((c) => {
    const [first, ...rest] = stallLines(r, c);
    return [`${configurationName(c)}: ${first}`, ...rest.map((l) => `  ${l}`)];
  });
}
