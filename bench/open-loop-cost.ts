/**
 * What the open-loop scheduler costs. On embedded SoftHSM2 tokens (CPU-bound on this host), in alternating rounds:
 *  - flat out (closed loop) for 2 s: the throughput;
 *  - at a target rate far above it (50 000/s) for 2 s: the achieved rate, i.e. what the tokens serve while every
 *    call also takes its slot from the shared counter and checks its intended start.
 * The ratio open/closed is the scheduler's cost at saturation (1.0: none). Then, at half the measured throughput,
 * how precisely calls start on time: the share of late calls and the start lag of the on-time ones (the host's
 * wake-up delay), per engine.
 *
 * usage: npm run build && node dist/bench/open-loop-cost.js [--rounds 3] [--tokens 1]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../src/model/run-result.js';
import { alternatingRounds, median } from './c-loop.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const rounds = Number(flag('--rounds', '3'));
const tokens = flag('--tokens', '1');
const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'hsm-bench-open-loop-'));

function scale(extra: string[], engine: string): RunResult {
  const r = spawnSync(
    process.execPath,
    [join(root, 'bin/hsm-bench'), 'scale', '--alg', 'p256', '--tokens', tokens, '--duration', '2s', '--verify', 'none', '--json', '--out', join(work, 'reports'), ...extra],
    { env: { ...process.env, CI: 'true', HSM_BENCH_WORKSPACE: join(work, 'ws'), ...(engine === 'threads' ? { HSM_BENCH_ENGINE: 'threads' } : {}) }, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`hsm-bench exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as RunResult;
}

console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; node ${process.version}; ${tokens} token(s), p256, --verify none`,
);
for (const engine of ['native', 'threads']) {
  const {
    cRates: closed,
    hRates: open,
    ratios,
  } = alternatingRounds(
    rounds,
    () => scale([], engine).configurations[0]!.throughputPerS,
    () => scale(['--rate', '50000'], engine).configurations[0]!.openLoop!.achievedRatePerS,
  );
  const half = Math.round(median(closed) / 2);
  const c = scale(['--rate', String(half)], engine).configurations[0]!;
  console.log(
    `${engine}: flat out ${closed.map((x) => x.toFixed(0)).join(', ')}/s; at 50000/s served ${open.map((x) => x.toFixed(0)).join(', ')}/s; ` +
      `open/closed ${ratios.map((x) => x.toFixed(2)).join(', ')} (median ${median(ratios).toFixed(2)}); ` +
      `at ${half}/s: achieved ${c.openLoop!.achievedRatePerS}/s, late ${c.openLoop!.late.sharePct} %, response p50 ${c.openLoop!.responseMs?.p50} ms vs service p50 ${c.latencyMs?.p50} ms, response p99 ${c.openLoop!.responseMs?.p99} ms`,
  );
}
