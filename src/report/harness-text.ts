import type { RunResult } from '../model/run-result.js';
import { latencyText } from '../core/latency-text.js';
import { HARNESS_SHARE_MULTIPLE } from '../stats/harness-overhead.js';
import { configurationName, measuringHost } from './describe-run.js';

/** The harness's own cost per call, as measured before the run (null: not calibrated, or an older run). */
export function harnessOverheadText(r: RunResult): string | null {
  const o = r.harness.callOverheadUs;
  if (!o) return null;
  const engine = o.engine === 'native' ? 'the native loop' : "the worker threads' loop";
  return `the harness's own cost per call on ${measuringHost(r)}: ${latencyText(o.p50 / 1000)} (median; p99 ${latencyText(o.p99 / 1000)}), timed over ${o.calls.toLocaleString('en-US')} null calls (no PKCS#11 call) through ${engine}`;
}

/** The configurations whose median service time is within 10× of that cost, in one sentence (null: none). */
export function harnessShareText(r: RunResult): string | null {
  const o = r.harness.callOverheadUs;
  const near = r.configurations.filter((c) => c.harnessPartOfNumber === true);
  if (!o || near.length === 0) return null;
  const which = near.map((c) => `${configurationName(c)} (${latencyText(c.latencyMs!.p50)})`).join(', ');
  return `the harness is part of the number: the median service time with ${which} is within ${HARNESS_SHARE_MULTIPLE}× of the harness's own cost per call (${latencyText(o.p50 / 1000)}), or too short to tell from it (service times resolve 1 µs), so the tokens may be faster than measured; a C loop (bench/) measures such a token more closely`;
}
