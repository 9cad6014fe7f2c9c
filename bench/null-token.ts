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
// The C loop timing each call (two clock reads and a 16-byte store per call) runs beside the bare one in every round:
// its ratio to the bare loop is the ceiling of any harness that records every call's latency on this token.
const timedLines: string[] = [];
for (const tokens of [1, 2]) {
  const overheads: string[] = [];
  const timedRates: number[] = [];
  const cSide = (timeEach: boolean) => {
    const out = execFileSync(loop, [nullModule, 'sign-ecdsa', 'hsm-bench-p256', String(perToken), '-', ...labels.slice(0, tokens)], {
      env: { ...env, ...tokenEnv, OP_LOOP_TIME_EACH: timeEach ? '1' : '0' },
      encoding: 'utf8',
    });
    return JSON.parse(out).throughputPerS as number;
  };
  const cLoop = () => {
    timedRates.push(cSide(true));
    return cSide(false);
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
  const ceilings = timedRates.map((t, i) => t / cRates[i]!);
  const againstTimed = hRates.map((h, i) => h / timedRates[i]!);
  timedLines.push(
    `${String(tokens).padStart(6)}  ${median(timedRates).toFixed(0).padStart(22)}  ${median(ceilings).toFixed(3)} [${Math.min(...ceilings).toFixed(2)}–${Math.max(...ceilings).toFixed(2)}]${' '.repeat(14)}${median(againstTimed).toFixed(3)} [${Math.min(...againstTimed).toFixed(2)}–${Math.max(...againstTimed).toFixed(2)}]`,
  );
}
console.log('\nagainst a C loop that times every call (OP_LOOP_TIME_EACH=1 of bench/c/op-loop.c):');
console.log('tokens  C timing each call sig/s  it ÷ bare C: median [min–max]  hsm-bench ÷ it: median [min–max]');
for (const line of timedLines) console.log(line);
