import { rangeText } from '../core/range-text.js';
import { byteSizeName } from '../core/byte-size.js';
import { wordsOf } from '../operations/words.js';
import { latencyText } from '../core/latency-text.js';
import type { ConfigurationResult, RunResult, TokenIdentity } from '../model/run-result.js';
import { plural } from '../core/plural.js';
import { basisLooksLow, shortfallOf, type Shortfall } from '../result/configuration-shortfall.js';
import { shown } from '../core/quote.js';
import { callsToJudge, callsToJudgeAll, rateWindowS } from '../stats/rate-window.js';

/** Words shared by every renderer, so the terminal table, Markdown and CSV name things alike. */
import { configurationName } from '../model/configuration.js';
import { percentileName, plannedConfigurations } from '../model/plan.js';
import { rateNotEstablished } from '../verdict/common-window-rate.js';
export { configurationName };

/**
 * What keeps a configuration from being whole, in words: "partial: killed", "1 of 2 repetitions whole", "1 token
 * hung", "1 token stopped"; none for a whole configuration. With --repeat the figures shown are a whole
 * repetition's where there is one, so only the count of whole ones is said then.
 */
export function shortfallWords(s: Shortfall): string[] {
  const words: string[] = [];
  if (s.partial && (s.repetitions === undefined || s.repetitions.whole === 0)) words.push(`partial: ${s.partial}`);
  if (s.repetitions) words.push(`${s.repetitions.whole} of ${s.repetitions.planned} repetitions whole`);
  if (s.hungTokens.length > 0) words.push(`${plural(s.hungTokens.length, 'token')} hung`);
  if (s.stoppedTokens.length > 0) words.push(`${plural(s.stoppedTokens.length, 'token')} stopped`);
  return words;
}

/** Said after a configuration's name wherever its figures are shown: they are not those of a whole configuration. */
export function shortfallMark(r: RunResult, c: ConfigurationResult): string {
  const words = shortfallWords(shortfallOf(r, c));
  return words.length > 0 ? ` (${words.join('; ')})` : '';
}

/** After an efficiency above 1 beyond the noise, wherever it is shown: its 1-token basis looks low (basisLooksLow). */
export const basisLowMark = (r: RunResult, c: ConfigurationResult) => (basisLooksLow(r, c) ? '†' : '');

/** Said under a table whose efficiencies carry the mark; null where none does. */
export function basisLowNote(r: RunResult): string | null {
  const low = r.configurations.filter((c) => basisLooksLow(r, c));
  if (low.length === 0) return null;
  return `† efficiency above 1 beyond the noise (${low.map(configurationName).join(', ')}): identical tokens do not scale better than linearly, so the 1-token basis looks low; not a finding`;
}

/** How the run ended, where it did not end as planned: killed (`report` recounted it from disk) or interrupted. */
export function runEnd(r: RunResult): 'killed' | 'interrupted' | null {
  if (!r.interrupted) return null;
  return r.configurations.some((c) => [c, ...(c.repetitions ?? [])].some((x) => x.partial === 'killed')) ? 'killed' : 'interrupted';
}

/** The run's end in words, for headers: "killed (recounted from disk)", "interrupted". */
export const runEndText = (end: NonNullable<ReturnType<typeof runEnd>>) => (end === 'killed' ? 'killed (recounted from disk)' : 'interrupted');

export function backendLine(r: RunResult): string {
  const m = r.module;
  const lib = `${m.libraryDescription} ${m.libraryVersion} by ${m.manufacturer}, ${shown(m.path)}`;
  return r.backend.kind === 'embedded-softhsm2' ? `embedded SoftHSM2 tokens made by hsm-bench (${lib}; workspace ${shown(r.backend.workspace)})` : `PKCS#11 module ${lib}`;
}

/** A sweep's windows at target rates: as long as the objectives' percentiles need, up to a cap (src/stats/rate-window.ts). */
function rateWindows(r: RunResult): string {
  const p = r.plan;
  const calls = callsToJudgeAll(p.objectives ?? []);
  if (r.command !== 'scale' || p.rateWindowMaxS === undefined || p.durationS === null || calls === 0) return '';
  // Said where a rate needs it: at the rates that hold the calls in --duration, nothing changes.
  const rates = plannedConfigurations(p.tokenCounts, p.threadsPerToken, p.targetRate ?? null, p.dataSizesBytes ?? null).map((c) => c.targetRatePerS!);
  if (!rates.some((rate) => rateWindowS(p.durationS!, p.rateWindowMaxS!, rate, p.objectives ?? []) > p.durationS!)) return '';
  const strictest = p.objectives!.reduce((a, b) => (callsToJudge(b.percentile) > callsToJudge(a.percentile) ? b : a));
  return ` (a rate's window longer where ${p.durationS} s holds under ${calls} calls, for ${percentileName(strictest.percentile)}, up to ${p.rateWindowMaxS} s, --max-window)`;
}

/** The --verify setting of a run: all, none, or the share checked (0.01). */
export const verifySetting = (r: Pick<RunResult, 'plan' | 'operation'>): string =>
  r.operation?.hostCheck === 'not-checked' ? 'not-checked' : r.plan.verify.mode === 'sample' ? String(Math.round(1e6 / r.plan.verify.every) / 1e6) : r.plan.verify.mode;

/** Whether the results were checked on the host, as said beside every throughput: the checks share the host's CPU. */
export function verifyText(r: RunResult): string {
  const { mode, every } = r.plan.verify;
  const w = wordsOf(r);
  if (r.operation?.hostCheck === 'not-checked') return `${w.checked} (${r.mechanism.name} given by PKCS#11 name or number)`;
  return mode === 'all' ? `every ${w.noun} checked on the host` : mode === 'none' ? 'no host check' : `every ${every}th ${w.noun} checked on the host`;
}

/**
 * What a throughput counts and what ran beside it, said under every throughput table: checks on the host take CPU,
 * which software tokens share (on 2 cores a quarter or more of a P-256 rate).
 */
export function throughputCaption(r: RunResult): string {
  const w = wordsOf(r);
  const software = r.backend.kind === 'embedded-softhsm2' && r.plan.verify.mode !== 'none' ? `; the checks share the host's CPU with these software tokens (--verify none measures without them)` : '';
  const setting = r.operation?.hostCheck === 'not-checked' ? '' : ` (--verify ${verifySetting(r)})`;
  return `Throughput counts successful ${w.nouns} per second, ${verifyText(r)}${setting}${software}`;
}

export function planLine(r: RunResult): string {
  const p = r.plan;
  const w = wordsOf(r);
  const stop =
    p.operationsPerToken !== null
      ? `${p.operationsPerToken} ${w.nouns} per token`
      : p.totalOperations !== null && p.totalOperations !== undefined
        ? `${p.totalOperations} ${w.nouns} in all`
        : `${p.durationS} s${r.command === 'burn-in' ? '' : ' per configuration'}${rateWindows(r)}`;
  const verify = verifyText(r);
  const repeat = (p.repeat ?? 1) > 1 ? `, each configuration ${p.repeat} times (interleaved)` : '';
  const sessions = p.threadsPerToken.length > 1 ? `${p.threadsPerToken.join(', ')} sessions per token` : `${plural(p.threadsPerToken[0]!, 'thread')} per token`;
  const rates = p.targetRate ? `, target rate${p.targetRate.perS.length > 1 ? 's' : ''} ${p.targetRate.perS.join(', ')}/s${p.targetRate.per === 'token' ? ' per token' : ''}` : '';
  const objectives = (p.objectives ?? []).length > 0 ? `, objectives ${p.objectives!.map((o) => `${percentileName(o.percentile)} ≤ ${latencyText(o.ms)}`).join(', ')}` : '';
  const perCall = perCallText(r);
  return `${stop}, ${p.warmupOperationsPerToken} warm-up, ${sessions}${perCall ? `, ${perCall}` : ''}${dataText(p, w.call)}${rates}${objectives}, ${verify}${repeat}`;
}

/**
 * ", data 32 B, 1 KiB, 64 KiB per call, in parts of 4 KiB (C_SignInit/C_SignUpdate/C_SignFinal)": what each call
 * handed the token, with --data-size; `calls`: the functions each made.
 */
function dataText(p: RunResult['plan'], calls: string): string {
  if (!p.dataSizesBytes) return '';
  const parts = p.multipartChunkBytes === undefined ? ' in one call' : `, in parts of ${byteSizeName(p.multipartChunkBytes)} (${calls})`;
  return `, data ${p.dataSizesBytes.map(byteSizeName).join(', ')} per call${parts} (MB = 10⁶ bytes)`;
}

/** How each call held its session and key, where not pooled: "a session per call (opened, logged in where needed, closed)". */
export function perCallText(r: Pick<RunResult, 'plan'>): string {
  const p = r.plan.perCall;
  if (p?.session) return 'a session per call (opened, logged in where the token was logged out, key found, closed)';
  return p?.findKey ? 'the key found per call (C_FindObjects)' : '';
}

/**
 * What one timed call is, after "each": "C_Sign call alone"; the whole C_*Init/C_*Update/C_*Final sequence with
 * --multipart; the session's opening to its closing with --session-per-call; the key's lookup and the call with
 * --find-key-per-call.
 */
export function timedCallText(r: Pick<RunResult, 'plan' | 'operation' | 'algorithm'>): string {
  const call = wordsOf(r).call;
  const made = r.plan.multipartChunkBytes === undefined ? call : `${call} sequence`;
  if (r.plan.perCall?.session) return `C_OpenSession, login where the token was logged out, key found, ${made} and C_CloseSession, timed as one call`;
  if (r.plan.perCall?.findKey) return `key lookup (C_FindObjects) and ${made}, timed as one call`;
  return r.plan.multipartChunkBytes === undefined ? `${call} call alone` : `${made}, timed as one call`;
}

/** How a run's calls are named beside its mechanism where not one pooled call ("session per call", "in parts of 4 KiB"). */
export function callPatternText(r: Pick<RunResult, 'plan'>): string {
  const p = r.plan;
  const pattern = p.perCall?.session ? ['session per call'] : p.perCall?.findKey ? ['key found per call'] : [];
  return [...pattern, ...(p.multipartChunkBytes === undefined ? [] : [`in parts of ${byteSizeName(p.multipartChunkBytes)}`])].map((t) => `, ${t}`).join('');
}

/** The run's tokens on one line: each one when there are a few, else the count, the first and last, the models and the slots. */
export function tokenLine(r: Pick<RunResult, 'tokens'>): string {
  const t = r.tokens;
  if (t.length <= 4) return t.map((x) => `${x.label} (${x.model}, ${x.serial ? `serial ${x.serial}` : 'no serial'}, slot ${x.slotId})`).join(', ');
  const models = [...new Set(t.map((x) => x.model))].join(', ');
  return `${t.length} tokens, ${t[0]!.label} … ${t[t.length - 1]!.label} (${models}; slots ${t[0]!.slotId} … ${t[t.length - 1]!.slotId})`;
}

/** A worker issue as a sentence: the token by its slot (labels repeat), the thread where there are several. */
export const workerIssueText = (r: RunResult, i: ConfigurationResult['workerIssues'][number]) =>
  `token ${r.tokens[i.token] ? tokenTitle(r.tokens[i.token]!) : i.token}${Math.max(...r.plan.threadsPerToken) > 1 ? ` thread ${i.thread}` : ''}: ${i.message}`;

/** A token as a reader tells it apart: its slot first, since labels and serials can repeat. */
export const tokenTitle = (t: Pick<TokenIdentity, 'slotId' | 'label'>) => `slot ${t.slotId}: ${t.label}`;

/** The slowest and fastest token's rate, by `shownAs` (one decimal by default); '–' without tokens. */
export function perTokenRange(c: ConfigurationResult, shownAs?: (value: number) => string): string {
  const rates = c.perToken.map((t) => t.throughputPerS);
  return rates.length === 0 ? '–' : rangeText(Math.min(...rates), Math.max(...rates), shownAs);
}

/** A schedule the tokens did not keep, in brackets after its achieved rate: theirs, or the host's stall (not judged). */
export function scheduleMissMark(o: NonNullable<ConfigurationResult['openLoop']>, short = false): string {
  if (o.keptUp) return '';
  if (o.hostStalled) return ` (host stalled ${latencyText(o.hostStallMs ?? 0)}${short ? '' : ': not judged'})`;
  return short ? ' (behind)' : ' (fell behind)';
}

/** The host was busy before the run (its 1-minute load at least half its cores): said wherever figures are read. */
export function busyHost(r: RunResult): string | null {
  const load = r.host.loadAverage?.[0];
  // A merge keeps the first run's host figures: its name is said, as the others' load is not known here.
  const host = r.sources ? `the first of the merged hosts, ${r.sources[0]!.hostname},` : 'the host';
  return load !== undefined && load >= r.host.cpuCount / 2 ? `${host} was busy before the run (load average ${load} on ${r.host.cpuCount} cores): other work shared the CPU with the run` : null;
}

/**
 * The host whose figures run.json's `host` and `harness` hold: this host, or in a merged run the first of its hosts,
 * by name (a merge keeps the first run's; each host's own are in its run).
 */
export const measuringHost = (r: Pick<RunResult, 'sources'>) => (r.sources ? `${r.sources[0]!.hostname} (the first of the merged hosts)` : 'this host');

/** A merged run's hosts, whose CPUs made its software tokens' work, each its own: "each host's own CPU (ha, hb)"; null for one host's run. */
export const mergedHostsCpuText = (r: Pick<RunResult, 'sources'>) => (r.sources ? `each host's own CPU (${[...new Set(r.sources.map((s) => s.hostname))].join(', ')})` : null);

export const fixed = (value: number | null | undefined, digits: number) => (value === null || value === undefined ? '–' : value.toFixed(digits));

/** MB/s to 3 significant digits at least (0.00032, 1.25, 812, 1234): a small rate is never shown as 0.0. */
export const mbPerSText = (value: number | null | undefined) => (value === null || value === undefined ? '–' : value >= 100 ? value.toFixed(0) : value.toPrecision(3));

/** ", 12.3 MB/s" after a rate where the calls were handed a data size (--data-size); nothing otherwise. */
export const mbPerSSuffix = (c: Pick<ConfigurationResult, 'mbPerS'>) => (c.mbPerS === undefined ? '' : `, ${mbPerSText(c.mbPerS)} MB/s`);

/**
 * A rate in a terminal cell: whole from 100/s up (18262, not 18261.6: the tenth is noise there and costs a column),
 * one decimal below.
 */
export const rateCell = (v: number | null | undefined) => (v === null || v === undefined ? '–' : fixed(v, Math.abs(v) >= 100 || Number.isInteger(v) ? 0 : 1));

/** Signatures/s: the value, or with --repeat the median and its range over the repetitions. */
export function throughputText(c: ConfigurationResult): string {
  if (rateNotEstablished(c)) return 'not established';
  const s = c.spread?.throughputPerS;
  return s ? `${fixed(c.throughputPerS, 1)} (${rangeText(s.min, s.max)})` : fixed(c.throughputPerS, 1);
}

/** A sentence per merged configuration whose hosts overlapped too briefly to count a rate in. */
export function rateNotEstablishedLines(r: RunResult): string[] {
  return r.configurations.flatMap((c) => {
    const why = rateNotEstablished(c);
    return why ? [`${configurationName(c)}: ${why}: its ${fixed(c.throughputPerS, 1)}/s is not judged: gates on it are inconclusive`] : [];
  });
}

/** A sentence per configuration whose latency percentiles are too thin to fail a gate on. */
export function lowConfidenceLines(r: RunResult): string[] {
  return r.configurations
    .filter((c) => (c.lowConfidence ?? []).length > 0)
    .map((c) => `${configurationName(c)}: latency percentiles from ${c.lowConfidence!.join(' and ')} are indicative only; latency gates do not fail on them`);
}
