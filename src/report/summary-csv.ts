import { percentileSupported } from '../core/latency-text.js';
import { csvField } from '../result/records-csv.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import { payloadFields } from '../model/configuration.js';
import { firmwareOf, moduleOf } from './trend.js';
import { sourceName } from './sources-table.js';
import { verifySetting } from './describe-run.js';
import { efficiencyRange, shortfallOf, shownEfficiency, uncountedOf } from '../result/configuration-shortfall.js';
import { rateNotEstablished } from '../verdict/common-window-rate.js';
import { okInPercentiles, okInRate } from './latency-cells.js';

/** A percentile only where a call lies beyond it (p99 of 6 calls is their max): empty otherwise, as the reports show '–'. */
const supported = (v: number | undefined, percentile: number, calls: number) => (v !== undefined && percentileSupported(percentile, calls) ? v : '');

export const SUMMARY_COLUMNS = [
  'algorithm',
  'mechanism',
  'configurationTokens',
  'token',
  'slotId',
  'label',
  'serial',
  'operationsOk',
  'operationsFailed',
  'durationS',
  'throughputPerS',
  'efficiency',
  // The service time (each call alone, from its start to its return); at a target rate responseP50Ms… hold the response time.
  'serviceP50Ms',
  'serviceP90Ms',
  'serviceP99Ms',
  'serviceMaxMs',
  // Last, so that the summaries of many nightly runs stack into one table: which run, when, with which module and firmware.
  'runId',
  'startedAt',
  'module',
  'firmware',
  // After those (older summaries stack with empty cells): which configuration of a sweep, and at a target rate
  // the response time of the configuration (p50Ms … maxMs are then the service time).
  'threadsPerToken',
  'targetRatePerS',
  'responseP50Ms',
  'responseP99Ms',
  // After those: whether the configuration's figures are whole (empty) or not (killed, interrupted, or repetitions:
  // fewer whole repetitions than planned), its calls that returned CKR_OK and were never checked, its hung sessions.
  'partial',
  'operationsUnverified',
  'hungSessions',
  // After those: with --repeat, how many repetitions, and the range the figures took over them (`all` rows): the
  // throughput's, the efficiency's against the 1-token basis's, and the p99's (at a target rate, the response time's).
  'repetitions',
  'throughputMinPerS',
  'throughputMaxPerS',
  'efficiencyMin',
  'efficiencyMax',
  'p99MinMs',
  'p99MaxMs',
  // Whether the results were checked on the host while the throughput was measured: all, a rate (0.01), or none.
  'verify',
  // At a target rate (`all` rows): whether responseP50Ms/responseP99Ms are lower bounds (calls never started reach
  // them: the figure is at least that), the pace calls started at, the calls never started, whether the tokens kept
  // up, whether the rate held (every call succeeded, the schedule kept, every objective met: true, false, or empty
  // when not judged), and the capacity of its token count and sessions (the highest rate held; `none`).
  'responseP50AtLeast',
  'responseP99AtLeast',
  'achievedRatePerS',
  'notStarted',
  'keptUp',
  'held',
  'capacityPerS',
  // With --data-size: the bytes each call handed the token, the chunk of each C_*Update (empty: one call), and
  // the throughput in MB/s (1 MB = 1,000,000 bytes; per token on the token rows).
  'dataSizeBytes',
  'multipartChunkBytes',
  'mbPerS',
  // Last: a merged run's rows of each host (token `host`): its name, and the window its figures cover, its
  // own or the common one (the merged `all` row's window: `common`).
  'host',
  'window',
];

/** A configuration's data size cells (empty without --data-size), at `throughputPerS` (the token's or the configuration's). */
function dataCells(c: ConfigurationResult, throughputPerS: number): (number | string)[] {
  if (c.dataSizeBytes === undefined) return ['', '', ''];
  const f = payloadFields(c.dataSizeBytes, c.multipartChunkBytes ?? null, throughputPerS);
  return [c.dataSizeBytes, c.multipartChunkBytes ?? '', f.mbPerS!];
}

/** A target rate's cells (empty flat out): lower bounds, pace, backlog, and the sweep's verdict on it. */
function rateCells(r: RunResult, c: ConfigurationResult): (number | string | boolean)[] {
  const o = c.openLoop;
  if (!o) return ['', '', '', '', '', '', ''];
  const capacity = r.capacity?.find((x) => x.tokens === c.tokens && x.threadsPerToken === c.threadsPerToken);
  const verdict = capacity?.rates.find((x) => x.targetRatePerS === o.targetRatePerS);
  // A rate not judged (thin, interrupted, the host stalled) neither held nor missed.
  const held = verdict === undefined || verdict.thin || verdict.interrupted || verdict.hostStalled ? '' : verdict.held;
  const atLeast = (p: 'p50' | 'p99') => (o.responseMs?.[p] === undefined ? '' : (o.responseAtLeast ?? []).includes(p));
  return [atLeast('p50'), atLeast('p99'), o.achievedRatePerS, o.notStarted, o.keptUp, held, capacity === undefined ? '' : (capacity.capacityPerS ?? 'none')];
}

/** A configuration's repetitions and the ranges its figures took over them; empty cells when it ran once. */
function spreadCells(r: RunResult, c: ConfigurationResult): (number | string)[] {
  if (!c.repetitions || !c.spread) return ['', '', '', '', '', '', ''];
  const efficiency = shownEfficiency(r, c) === null ? null : efficiencyRange(r, c);
  const p99s = c.repetitions.map((x) => (c.openLoop ? x.openLoop?.responseMs?.p99 : x.latencyMs?.p99)).filter((v): v is number => v !== undefined);
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return [
    c.repetitions.length,
    c.spread.throughputPerS.min,
    c.spread.throughputPerS.max,
    efficiency === null ? '' : round(efficiency.min),
    efficiency === null ? '' : round(efficiency.max),
    p99s.length > 0 ? Math.min(...p99s) : '',
    p99s.length > 0 ? Math.max(...p99s) : '',
  ];
}

/** One row per configuration and token (its index in run.json's tokens), then the configuration's total as token "all". */
export function renderSummaryCsv(r: RunResult): string {
  const rows: (string | number | boolean | null | undefined)[][] = [];
  const run = [r.runId, r.startedAt, moduleOf(r), firmwareOf(r)];
  const verify = verifySetting(r);
  for (const c of r.configurations) {
    const s = shortfallOf(r, c);
    const partial = s.repetitions && s.repetitions.whole > 0 ? 'repetitions' : (s.partial ?? '');
    const hung = (c.repetitions ?? [c]).flatMap((x) => x.hungSessions ?? []);
    for (const t of c.perToken) {
      rows.push([
        r.algorithm.id,
        r.mechanism.name,
        c.tokens,
        t.token,
        t.slotId,
        t.label,
        t.serial,
        t.operationsOk,
        t.operationsFailed,
        '',
        t.throughputPerS,
        '',
        supported(t.latencyMs?.p50, 50, t.operationsOk),
        supported(t.latencyMs?.p90, 90, t.operationsOk),
        supported(t.latencyMs?.p99, 99, t.operationsOk),
        t.latencyMs?.max,
        ...run,
        c.threadsPerToken,
        c.openLoop?.targetRatePerS,
        '',
        '',
        partial,
        '',
        hung.filter((h) => h.token === t.token).length,
        ...spreadCells(r, c).map(() => ''),
        verify,
        ...rateCells(r, c).map(() => ''),
        ...dataCells(c, t.throughputPerS),
        '',
        // A merged run's token: counted by its own host, over that host's window.
        r.sources ? 'own' : '',
      ]);
    }
    // A merged rate over too brief a common window is not established: its cells empty, never a figure to gate on.
    const commonRate = (perS: number) => (rateNotEstablished(c) ? '' : perS);
    for (const h of c.bySource ?? []) {
      const own = { ...h, window: 'own' };
      const common = h.inCommonWindow && { ...h.inCommonWindow, durationS: c.durationS, window: 'common' };
      for (const x of common ? [own, common] : [own])
        rows.push([
          r.algorithm.id,
          r.mechanism.name,
          c.tokens,
          'host',
          '',
          '',
          '',
          x.operationsOk,
          x.operationsFailed,
          x.durationS,
          x.window === 'common' ? commonRate(x.throughputPerS) : x.throughputPerS,
          '',
          supported(x.latencyMs?.p50, 50, x.operationsOk),
          supported(x.latencyMs?.p90, 90, x.operationsOk),
          supported(x.latencyMs?.p99, 99, x.operationsOk),
          x.latencyMs?.max,
          ...run,
          c.threadsPerToken,
          c.openLoop?.targetRatePerS,
          ...Array.from({ length: 5 }, () => ''),
          ...spreadCells(r, c).map(() => ''),
          verify,
          ...rateCells(r, c).map(() => ''),
          ...dataCells(c, x.throughputPerS),
          sourceName(r.sources!, h.source),
          x.window,
        ]);
    }
    rows.push([
      r.algorithm.id,
      r.mechanism.name,
      c.tokens,
      'all',
      '',
      '',
      '',
      // A merged run's row is the common window's (window = common): its calls are those the rate counts.
      okInRate(c),
      c.commonWindow?.operationsFailed ?? c.operationsFailed,
      c.durationS,
      commonRate(c.throughputPerS),
      shownEfficiency(r, c),
      supported(c.latencyMs?.p50, 50, okInPercentiles(c)),
      supported(c.latencyMs?.p90, 90, okInPercentiles(c)),
      supported(c.latencyMs?.p99, 99, okInPercentiles(c)),
      c.latencyMs?.max,
      ...run,
      c.threadsPerToken,
      c.openLoop?.targetRatePerS,
      supported(c.openLoop?.responseMs?.p50, 50, c.operationsOk),
      supported(c.openLoop?.responseMs?.p99, 99, c.operationsOk),
      partial,
      uncountedOf(c, 'operationsUnverified'),
      hung.length,
      ...spreadCells(r, c),
      verify,
      ...rateCells(r, c),
      ...dataCells(c, c.throughputPerS),
      '',
      c.commonWindow ? 'common' : '',
    ]);
  }
  return [SUMMARY_COLUMNS.join(','), ...rows.map((row) => row.map((v) => csvField(v === null || v === undefined ? '' : String(v))).join(','))].join('\n') + '\n';
}
