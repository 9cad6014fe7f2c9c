/**
 * What a run costs beyond its measurement: a tiny scale run (`scale --alg p256 --tokens 1 --signatures-per-token 10` on the
 * embedded SoftHSM2 token, made once before the rounds) timed end to end, minus its measured window (run.json's
 * configurations' durationS), with every default report (charts too) and with `--format md` (no charts); and
 * `hsm-bench --version`; each against `node -e 0` (a bare Node start) measured in the same rounds. The rounds
 * interleave the commands, so that a change in the machine's load hits all of them alike. Prints per command the
 * median wall time and range, the fixed cost (wall − window) and the same less Node's start, the CPU time (user +
 * system, which a loaded machine inflates less than wall time) and the peak RSS (GNU time's maximum resident set
 * size). With --baseline DIR (a built checkout of another commit), its hsm-bench runs the same commands in the same
 * rounds: before and after under the same load.
 *
 * usage: npm run build && node dist/bench/fixed-cost.js [--rounds 7] [--baseline /tmp/old-checkout]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../src/model/run-result.js';
import { median } from './c-loop.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin', 'hsm-bench');
const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const rounds = Number(option('--rounds') ?? 7) || 7;
const baseline = option('--baseline');
const work = mkdtempSync(join(tmpdir(), 'hsm-bench-fixed-'));
const env = { ...process.env, HSM_BENCH_WORKSPACE: join(work, 'ws'), CI: 'true' };
const TINY = ['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '10'];

interface Sample {
  wallS: number;
  windowS: number;
  cpuS: number;
  rssMb: number;
}

/** One command, timed from spawn to exit, with its CPU time and peak RSS (GNU time: user s, system s, KiB). */
function timed(command: string[], out?: string): Sample {
  const begin = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', ...command], { env, encoding: 'utf8' });
  const wallS = Number(process.hrtime.bigint() - begin) / 1e9;
  if (r.status !== 0) throw new Error(`${command.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [user, system, rssKb] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  const cpuS = user! + system!;
  const rssMb = rssKb! / 1024;
  let windowS = 0;
  if (out !== undefined) {
    const [dir] = readdirSync(out);
    const run = JSON.parse(readFileSync(join(out, dir!, 'run.json'), 'utf8')) as RunResult;
    windowS = run.configurations.reduce((sum, c) => sum + c.durationS, 0);
    rmSync(out, { recursive: true, force: true });
  }
  return { wallS, windowS, cpuS, rssMb };
}

/** The commands of one build of hsm-bench, named after it. */
const commandsOf = (name: string, bin: string): [string, () => Sample][] => [
  [`${name} --version`, () => timed([process.execPath, bin, '--version'])],
  [`${name}: tiny scale run, --format md`, () => timed([process.execPath, bin, ...TINY, '--format', 'md', '--out', join(work, 'md')], join(work, 'md'))],
  [`${name}: tiny scale run, default reports (md csv png html)`, () => timed([process.execPath, bin, ...TINY, '--out', join(work, 'all')], join(work, 'all'))],
];
const cases: [string, () => Sample][] = [
  ['node -e 0', () => timed([process.execPath, '-e', '0'])],
  ...commandsOf('hsm-bench', bin),
  ...(baseline === undefined ? [] : commandsOf('baseline', join(baseline, 'bin', 'hsm-bench'))),
];

// The token and its key are made by the first run; no round pays for them.
timed([process.execPath, bin, ...TINY, '--format', 'md', '--out', join(work, 'first')], join(work, 'first'));
const samples = new Map<string, Sample[]>(cases.map(([name]) => [name, []]));
for (let round = 0; round < rounds; round++) {
  // Each round in another order: no command always follows the same one.
  const order = round % 2 === 0 ? cases : [...cases].reverse();
  for (const [name, run] of order) samples.get(name)!.push(run());
}

console.log(
  `machine: ${process.arch}, ${cpus().length} cores, ${cpus()[0]?.model}; node ${process.version}; ${rounds} rounds, interleaved; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const nodeStartS = median(samples.get('node -e 0')!.map((s) => s.wallS));
const seconds = (xs: number[]) => `${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]`;
console.log(`\n${baseline === undefined ? '' : `baseline: ${baseline}\n`}`);
console.log('| command | wall s: median [min–max] | window s | fixed s (wall − window) | fixed − node start s | CPU s (user + system) | peak RSS MB |\n|---|---|---:|---|---:|---|---:|');
for (const [name] of cases) {
  const s = samples.get(name)!;
  const fixed = s.map((x) => x.wallS - x.windowS);
  console.log(
    `| ${name} | ${seconds(s.map((x) => x.wallS))} | ${median(s.map((x) => x.windowS)).toFixed(3)} | ${seconds(fixed)} | ${(median(fixed) - nodeStartS).toFixed(2)} | ${seconds(s.map((x) => x.cpuS))} | ${median(s.map((x) => x.rssMb)).toFixed(0)} |`,
  );
}
rmSync(work, { recursive: true, force: true });
