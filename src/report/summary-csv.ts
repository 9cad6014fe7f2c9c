import { csvField } from '../result/records-csv.js';
import type { RunResult } from '../model/run-result.js';
import { firmwareOf, moduleOf } from './trend.js';
import { verifySetting } from './describe-run.js';
import { shortfallOf, shownEfficiency, uncountedOf } from '../result/configuration-shortfall.js';

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
  'p50Ms',
  'p90Ms',
  'p99Ms',
  'maxMs',
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
  // Whether the results were checked on the host while the throughput was measured: all, a rate (0.01), or none.
  'verify',
];

/** One row per configuration and token (its index in run.json's tokens), then the configuration's total as token "all". */
export function renderSummaryCsv(r: RunResult): string {
  const rows: (string | number | null | undefined)[][] = [];
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
        t.latencyMs?.p50,
        t.latencyMs?.p90,
        t.latencyMs?.p99,
        t.latencyMs?.max,
        ...run,
        c.threadsPerToken,
        c.openLoop?.targetRatePerS,
        '',
        '',
        partial,
        '',
        hung.filter((h) => h.token === t.token).length,
        verify,
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
      c.operationsOk,
      c.operationsFailed,
      c.durationS,
      c.throughputPerS,
      shownEfficiency(r, c),
      c.latencyMs?.p50,
      c.latencyMs?.p90,
      c.latencyMs?.p99,
      c.latencyMs?.max,
      ...run,
      c.threadsPerToken,
      c.openLoop?.targetRatePerS,
      c.openLoop?.responseMs?.p50,
      c.openLoop?.responseMs?.p99,
      partial,
      uncountedOf(c, 'operationsUnverified'),
      hung.length,
      verify,
    ]);
  }
  return [SUMMARY_COLUMNS.join(','), ...rows.map((row) => row.map((v) => csvField(v === null || v === undefined ? '' : String(v))).join(','))].join('\n') + '\n';
}
