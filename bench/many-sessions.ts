/**
 * Many slow tokens at once: N SoftHSM2 tokens behind the test tree's wrapper module, which sleeps in every C_Sign
 * (a slow token, as a smart card or a loaded network HSM is), signed by `hsm-bench scale --tokens 1,N
 * --threads-per-token T`, and by the C pthread loop of bench/c/op-loop.c on the same wrapper and tokens,
 * interleaved (C, hsm-bench, C, hsm-bench, …). Prints the ratio of the medians, the efficiency against one token,
 * the peak RSS, and how long the process took before the N-token configuration's first signature (from the
 * process's start to the start barrier opening).
 *
 * usage: npm run build && node dist/bench/many-sessions.js [--tokens 64] [--threads 4] [--delay-ms 100] [--duration 5s] [--rounds 3]
 */
import { buildOpLoop } from './c-loop.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../src/model/run-result.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const tokens = Number(option('--tokens', '64'));
const threads = option('--threads', '4');
const delayMs = option('--delay-ms', '100');
const duration = option('--duration', '5s');
const rounds = Number(option('--rounds', '3'));
const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'hsm-bench-many-'));
const conf = join(work, 'softhsm2.conf');
mkdirSync(join(work, 'tokens'));
writeFileSync(conf, `directories.tokendir = ${join(work, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
const env = { ...process.env, SOFTHSM2_CONF: conf, CI: 'true' };
const softhsm = '/usr/lib/softhsm/libsofthsm2.so';
const pin = '246810';
for (let i = 0; i < tokens; i++) {
  const label = `many-${String(i).padStart(3, '0')}`;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', '13579135'], { env, stdio: 'pipe' });
  execFileSync('pkcs11-tool', ['--module', softhsm, '--token-label', label, '--login', '--pin', pin, '--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'mk'], { env, stdio: 'pipe' });
}
const wrapper = join(work, 'slow.so');
execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', wrapper, join(root, 'test/faults/faulty-pkcs11.c'), '-I', join(root, 'node_modules/pkcs11js/includes/pkcs11'), '-ldl']);

const loop = buildOpLoop(work);
const slowEnv = { ...env, HSM_BENCH_PIN: pin, FAULTY_PKCS11_MODULE: softhsm, FAULTY_EVERY: '1000000000', FAULTY_SIGN_DELAY_MS: delayMs };
const labels = Array.from({ length: tokens }, (_, i) => `many-${String(i).padStart(3, '0')}`);
const perToken = Math.round((Number(threads) * Number.parseFloat(duration) * 1000) / Number(delayMs));

function cLoop(): number {
  const out = execFileSync(loop, [wrapper, 'sign-ecdsa', 'mk', String(perToken), '-', ...labels], { env: { ...slowEnv, OP_LOOP_THREADS: threads }, encoding: 'utf8' });
  return (JSON.parse(out) as { throughputPerS: number }).throughputPerS;
}

function harness(): { run: RunResult; wallS: number } {
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'bin/hsm-bench'),
      'scale',
      '--module',
      wrapper,
      '--alg',
      'p256',
      '--key-label',
      'mk',
      '--token-label',
      'many-',
      '--tokens',
      `1,${tokens}`,
      '--threads-per-token',
      threads,
      '--duration',
      duration,
      '--warmup',
      '0',
      '--verify',
      'all',
      '--json',
      '--out',
      join(work, 'out'),
    ],
    { env: slowEnv, encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  if (r.status !== 0) throw new Error(`hsm-bench failed (${r.status}): ${r.stderr}`);
  return { run: JSON.parse(r.stdout) as RunResult, wallS: (Date.now() - started) / 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const c: number[] = [];
const h: { run: RunResult; wallS: number }[] = [];
for (let round = 0; round < rounds; round++) {
  c.push(cLoop());
  h.push(harness());
}
const many = (x: { run: RunResult }) => x.run.configurations[1]!;
const hs = h.map((x) => many(x).throughputPerS);
const mid = h[hs.indexOf(median(hs))]!;
const ideal = (tokens * Number(threads) * 1000) / Number(delayMs);
console.log(`machine: ${process.arch}, ${cpus().length} cores, ${cpus()[0]?.model}; node ${process.version}; engine ${mid.run.harness.engine}`);
console.log(`${tokens} tokens × ${threads} sessions, ${delayMs} ms per signature, ${duration} per configuration, ${rounds} interleaved rounds`);
console.log(`C loop sig/s: ${c.join(', ')}; hsm-bench sig/s: ${hs.join(', ')} (the sleep alone allows ${ideal.toFixed(0)})`);
console.log(`ratio of medians hsm-bench / C: ${(median(hs) / median(c)).toFixed(3)} (min ${(Math.min(...hs) / Math.max(...c)).toFixed(3)}, max ${(Math.max(...hs) / Math.min(...c)).toFixed(3)})`);
console.log(
  `median run: efficiency ${many(mid).efficiency}; peak RSS ${mid.run.harness.peakRssMb} MB; first signature of the ${tokens}-token configuration ${many(mid).setupS} s after it started (sessions, threads); longest event-loop stall ${many(mid).maxEventLoopStallMs} ms; wall ${mid.wallS.toFixed(1)} s`,
);
