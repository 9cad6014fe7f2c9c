/**
 * hsm-bench against a minimal C loop (bench/c/op-loop.c, signing) on the same embedded SoftHSM2 tokens, for
 * RSA-2048 and brainpoolP256r1 at 1 and 2 tokens. The protocol holds still on a shared, noisy machine: each round
 * runs both sides back to back, in alternating order (C first, then hsm-bench first), and yields the ratio of two
 * neighbouring measurements, so drift between rounds cancels; the bench prints every round's ratio, their median
 * (target ≥ 0.98) and their spread (min–max). Then hsm-bench's peak RSS for 20,000, 200,000 and 600,000
 * signatures, which must not grow with the count.
 *
 * usage: npm run build && node dist/bench/c-vs-harness.js [--rounds 7] [--alg rsa2048|bp256] [--skip-ratio] [--skip-rss]
 */
import { alternatingRounds, buildOpLoop, median } from './c-loop.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../src/model/run-result.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin', 'hsm-bench');
const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 3) || 3;
const work = mkdtempSync(join(tmpdir(), 'hsm-bench-bench-'));
const env = { ...process.env, HSM_BENCH_WORKSPACE: join(work, 'ws'), CI: 'true' };

function harness(extra: string[]): RunResult {
  const r = spawnSync(process.execPath, [bin, 'scale', '--json', '--out', join(work, 'reports'), ...extra], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`hsm-bench failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as RunResult;
}

const loop = buildOpLoop(work);

const onlyAlg = args.includes('--alg') ? args[args.indexOf('--alg') + 1] : undefined;
const cases = [
  { alg: 'rsa2048', cOp: 'sign-rsa', perToken: 2000 },
  { alg: 'bp256', cOp: 'sign-ecdsa', perToken: 4000 },
].filter((c) => !args.includes('--skip-ratio') && (onlyAlg === undefined || c.alg === onlyAlg));
console.log(`machine: ${process.arch}, ${(await import('node:os')).cpus().length} cores, ${(await import('node:os')).cpus()[0]?.model}; node ${process.version}; ${rounds} rounds, interleaved`);
console.log('alg      tokens  C sig/s (median)  hsm-bench sig/s (median)  ratio: median [min–max] of rounds  target');
for (const c of cases) {
  // Provision the tokens and keys once, outside the measurements.
  const labels = harness(['--alg', c.alg, '--tokens', '2', '--signatures-per-token', '1']).tokens.map((t) => t.label);
  const softhsmEnv = { ...env, SOFTHSM2_CONF: join(env.HSM_BENCH_WORKSPACE, 'softhsm2.conf'), HSM_BENCH_PIN: readFileSync(join(env.HSM_BENCH_WORKSPACE, 'user-pin'), 'utf8') };
  const modulePath = harness(['--alg', c.alg, '--tokens', '1', '--signatures-per-token', '1']).module.path;
  for (const tokens of [1, 2]) {
    const cLoop = () => {
      const out = execFileSync(loop, [modulePath, c.cOp, `hsm-bench-${c.alg}`, String(c.perToken), '-', ...labels.slice(0, tokens)], { env: softhsmEnv, encoding: 'utf8' });
      return JSON.parse(out).throughputPerS as number;
    };
    const hsmBench = () => harness(['--alg', c.alg, '--tokens', String(tokens), '--signatures-per-token', String(c.perToken), '--warmup', '0', '--verify', 'none']).configurations[0]!.throughputPerS;
    const { cRates, hRates, ratios } = alternatingRounds(rounds, cLoop, hsmBench);
    const ratio = median(ratios);
    const target = 0.98;
    console.log(
      `${c.alg.padEnd(8)} ${String(tokens).padStart(6)}  ${median(cRates).toFixed(0).padStart(16)}  ${median(hRates).toFixed(0).padStart(24)}  ${ratio.toFixed(3)} [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]  ≥ ${target} ${ratio >= target ? 'ok' : 'BELOW'}`,
    );
    console.log(`         rounds: ${ratios.map((r) => r.toFixed(3)).join(' ')}`);
  }
}

if (!args.includes('--skip-rss')) {
  // A third, larger count shows where the curve flattens: V8's heap and the allocator warm up over the first ~100,000.
  console.log('\npeak RSS of hsm-bench (bp256, 2 tokens, every signature verified):');
  for (const total of [20_000, 200_000, 600_000]) {
    const run = harness(['--alg', 'bp256', '--tokens', '2', '--signatures-per-token', String(total / 2)]);
    const c = run.configurations[0]!;
    console.log(`  ${String(total).padStart(7)} signatures: peak RSS ${run.harness.peakRssMb} MB (${c.throughputPerS.toFixed(0)} sig/s, ${c.operationsVerified} verified)`);
  }
}
