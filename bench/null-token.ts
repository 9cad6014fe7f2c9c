/**
 * The harness's ceiling: hsm-bench against the C loop (bench/c/op-loop.c, sign-ecdsa) on a null-speed token
 * (bench/c/null-speed-pkcs11.c: C_SignInit and C_Sign return at once with a dummy signature), at 1 and 2 tokens.
 * Against such a token both sides measure only themselves: the C loop its bare calls, hsm-bench its loop, records
 * and statistics. Rounds alternate the order of the two sides (bench/c-loop.ts); the bench prints each round's
 * ratio, their median and range against the goals (≥ 0.9 at 1 token, ≥ 0.7 at 2), and hsm-bench's calibrated
 * per-call overhead (run.json harness.callOverheadUs).
 *
 * The tokens are two embedded SoftHSM2 tokens with a P-256 key pair, provisioned by hsm-bench; the wrapper forwards
 * everything else to their module. hsm-bench runs `scale --module <wrapper> --verify none --warmup 0` (its trial
 * call, one per token, is a real signature: the wrapper forwards that many) with its default outputs.
 *
 * usage: npm run build && node dist/bench/null-token.js [--rounds 5] [--per-token 2000000] [--records none]
 */
import { alternatingRounds, buildOpLoop, median } from './c-loop.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../src/model/run-result.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin', 'hsm-bench');
const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const rounds = Number(option('--rounds') ?? 5) || 5;
const perToken = Number(option('--per-token') ?? 2_000_000) || 2_000_000;
const records = option('--records');
const work = mkdtempSync(join(tmpdir(), 'hsm-bench-null-'));
const workspace = join(work, 'ws');
const env = { ...process.env, HSM_BENCH_WORKSPACE: workspace, CI: 'true' };
const GOALS: Record<number, number> = { 1: 0.9, 2: 0.7 };

function harness(extra: string[], extraEnv: Record<string, string> = {}): RunResult {
  const r = spawnSync(process.execPath, [bin, 'scale', '--json', '--out', join(work, 'reports'), ...extra], { env: { ...env, ...extraEnv }, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`hsm-bench failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as RunResult;
}

/** Compiles the null-speed wrapper into `dir`; returns its path. */
function buildNullSpeedModule(dir: string): string {
  const out = join(dir, 'null-speed-pkcs11.so');
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', out, join(root, 'bench/c/null-speed-pkcs11.c'), '-I', join(root, 'node_modules/pkcs11js/includes/pkcs11'), '-ldl', '-lpthread']);
  return out;
}

const loop = buildOpLoop(work);
const nullModule = buildNullSpeedModule(work);
// Provision two tokens and their P-256 key pairs once, through the real module.
const provisioned = harness(['--alg', 'p256', '--tokens', '2', '--signatures-per-token', '1']);
const labels = provisioned.tokens.map((t) => t.label);
const serials = provisioned.tokens.map((t) => t.serial);
const realModule = provisioned.module.path;
const tokenEnv = {
  SOFTHSM2_CONF: join(workspace, 'softhsm2.conf'),
  HSM_BENCH_PIN: readFileSync(join(workspace, 'user-pin'), 'utf8'),
  NULL_SPEED_PKCS11_MODULE: realModule,
  NULL_SPEED_SIGNATURE_BYTES: '64',
};

console.log(
  `machine: ${process.arch}, ${cpus().length} × ${cpus()[0]?.model}; node ${process.version}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')}`,
);
console.log(`null-speed token (P-256 key, 64-byte dummy signatures), ${perToken} signatures per token, ${rounds} rounds, interleaved${records ? `, hsm-bench --records ${records}` : ''}`);
console.log('tokens  C sig/s (median)  hsm-bench sig/s (median)  ratio: median [min–max]  goal   overhead p50/p99 µs');
// Beside the bare loop, in every round, the C loop timing each call in three ways (bench/c/op-loop.c,
// $OP_LOOP_TIME_EACH): two clock reads per call, one (a call starts where the one before ended, as hsm-bench's native
// loop times a closed loop), and one read of the CPU's time-stamp counter. Their loops' CPU time per call, robust to a
// busy host where rates are not, gives the ceiling each way of timing leaves any harness: bare ÷ timed.
const TIMINGS = [
  { mode: '1', name: 'two clock reads' },
  { mode: 'once', name: 'one clock read' },
  { mode: 'tsc', name: 'one TSC read' },
] as const;
const ceilingLines: string[] = [];
for (const tokens of [1, 2]) {
  const overheads: string[] = [];
  const cpuNs: Record<string, number[]> = { '0': [] };
  for (const t of TIMINGS) cpuNs[t.mode] = [];
  const cSide = (mode: string) => {
    const out = execFileSync(loop, [nullModule, 'sign-ecdsa', 'hsm-bench-p256', String(perToken), '-', ...labels.slice(0, tokens)], {
      env: { ...env, ...tokenEnv, OP_LOOP_TIME_EACH: mode },
      encoding: 'utf8',
    });
    const r = JSON.parse(out) as { operationsOk: number; throughputPerS: number; loopCpuS: number };
    cpuNs[mode]!.push((r.loopCpuS * 1e9) / r.operationsOk);
    return r.throughputPerS;
  };
  const cLoop = () => {
    for (const t of TIMINGS) cSide(t.mode);
    return cSide('0');
  };
  const hsmBench = () => {
    const r = harness(
      [
        '--module',
        nullModule,
        '--serials',
        serials.slice(0, tokens).join(','),
        '--alg',
        'p256',
        '--tokens',
        String(tokens),
        '--signatures-per-token',
        String(perToken),
        '--warmup',
        '0',
        '--verify',
        'none',
        ...(records ? ['--records', records] : []),
      ],
      // The trial call of each token is checked on the host: those signatures are real.
      { ...tokenEnv, NULL_SPEED_REAL_SIGNS: String(tokens) },
    );
    const o = r.harness.callOverheadUs;
    if (o) overheads.push(`${o.p50}/${o.p99}`);
    return r.configurations[0]!.throughputPerS;
  };
  const { cRates, hRates, ratios } = alternatingRounds(rounds, cLoop, hsmBench);
  const ratio = median(ratios);
  const goal = GOALS[tokens]!;
  console.log(
    `${String(tokens).padStart(6)}  ${median(cRates).toFixed(0).padStart(16)}  ${median(hRates).toFixed(0).padStart(24)}  ${ratio.toFixed(3)} [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]  ≥ ${goal} ${ratio >= goal ? 'ok' : 'BELOW'}  ${overheads[0] ?? '–'}`,
  );
  console.log(`        rounds: ${ratios.map((r) => r.toFixed(3)).join(' ')}`);
  const bare = median(cpuNs['0']!);
  ceilingLines.push(
    `${String(tokens).padStart(6)}  ${bare.toFixed(1).padStart(7)}  ${TIMINGS.map((t) => {
      const timed = median(cpuNs[t.mode]!);
      return `${timed.toFixed(1).padStart(6)} → ${(bare / timed).toFixed(3)}`;
    }).join('  ')}  ≥ ${goal}`,
  );
}
console.log("\nthe ceiling of timing each call: the C loop's CPU per call (ns, median of the rounds) and bare ÷ timed:");
console.log(`tokens  bare ns  ${TIMINGS.map((t) => t.name.padEnd(15)).join(' ')}  goal`);
for (const line of ceilingLines) console.log(line);
