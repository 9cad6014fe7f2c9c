/**
 * A burn-in of 1,000,000 ECDSA brainpoolP256r1 signatures on 2 embedded SoftHSM2 tokens: prints the time, the
 * resident memory of the hsm-bench process at 10 %, 50 % and 100 % of the signatures, its peak, and the size of
 * the run directory. Memory must stay flat; 1,000,000 records must take well under 100 MB.
 *
 * usage: npm run build && node dist/bench/burn-in-million.js [--signatures 1000000] [--verify all]
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const total = Number(arg('--signatures', '1000000'));
const verify = arg('--verify', 'all');
const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'hsm-bench-burnin-bench-'));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const startMs = Date.now();
const child = spawn(
  process.execPath,
  [join(root, 'bin/hsm-bench'), 'burn-in', '--alg', 'bp256', '--tokens', '2', '--signatures', String(total), '--verify', verify, '--progress-interval', '1s', '--out', join(work, 'reports')],
  {
    env: { ...process.env, HSM_BENCH_WORKSPACE: join(work, 'ws'), CI: 'true' },
    stdio: ['ignore', 'ignore', 'pipe'],
  },
);
const marks = [0.1, 0.5];
const samples: string[] = [];
child.stderr.on('data', (chunk: Buffer) => {
  for (const m of chunk.toString().matchAll(/, (\d+) \/ \d+ signatures/g)) {
    const done = Number(m[1]);
    while (marks.length > 0 && done >= marks[0]! * total)
      samples.push(`${marks.shift()! * 100} %: RSS ${rssMb(child.pid!).toFixed(0)} MB (${done} signatures, ${((Date.now() - startMs) / 1000).toFixed(0)} s)`);
  }
});
const status: number = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? -1)));
const runDir = join(work, 'reports', readdirSync(join(work, 'reports'))[0]!);
const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
const c = run.configurations[0];
console.log(`machine: ${process.arch}, node ${process.version}; burn-in of ${total} bp256 signatures on 2 embedded SoftHSM2 tokens, --verify ${verify}; exit ${status}`);
console.log(
  `time: ${((Date.now() - startMs) / 1000).toFixed(0)} s wall, ${c.durationS.toFixed(0)} s signing, ${c.throughputPerS.toFixed(0)} sig/s, ${c.operationsOk} OK, ${c.operationsFailed} failed`,
);
for (const s of samples) console.log(s);
console.log(`100 %: peak RSS ${run.harness.peakRssMb} MB (process maxRSS, as in run.json)`);
console.log(
  `run directory: ${execFileSync('du', ['-sh', runDir], { encoding: 'utf8' }).split('\t')[0]}, records: ${execFileSync('du', ['-sh', join(runDir, 'records')], { encoding: 'utf8' }).split('\t')[0]}`,
);
