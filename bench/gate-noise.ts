/**
 * Does the baseline gate flip on noise, and does it catch a real slowdown? Nightly-style pairs of runs of one plan
 * (`scale --tokens 1,2 --repeat 3 --duration 2s`), the second judged against the first with `--baseline`
 * and `--max-regression 10` (the noise rule):
 *  - plain: both runs alike, on embedded SoftHSM2 tokens whose signing is CPU-bound on this shared host (the noisy case);
 *  - slowed: tokens behind test/faults/faulty-pkcs11.c, the baseline at 10 ms per signature, the candidate at 13 ms
 *    (a 30 % slower token).
 * Prints each try's exit code: plain pairs must pass (0), slowed pairs must fail (5).
 *
 * usage: npm run build && node dist/bench/gate-noise.js [--tries 5]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const tries = args.includes('--tries') ? Number(args[args.indexOf('--tries') + 1]) : 5;
const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'hsm-bench-gate-'));
const plan = ['--tokens', '1,2', '--repeat', '3', '--duration', '2s', '--warmup', '10'];

function run(extra: string[], env: NodeJS.ProcessEnv): number {
  const r = spawnSync(process.execPath, [join(root, 'bin/hsm-bench'), 'scale', ...plan, ...extra], { env: { ...env, CI: 'true' }, encoding: 'utf8' });
  if (![0, 5].includes(r.status ?? -1)) throw new Error(`hsm-bench exited ${r.status}: ${r.stderr}`);
  return r.status!;
}

/** One nightly pair: the first run saves the baseline, the second is judged against it; returns the second's exit code. */
function pair(name: string, first: [string[], NodeJS.ProcessEnv], second: [string[], NodeJS.ProcessEnv]): number {
  const baseline = join(work, name, 'baseline');
  const out = ['--out', join(work, name, 'reports')];
  run([...first[0], ...out, '--save-baseline', baseline], first[1]);
  return run([...second[0], ...out, '--baseline', baseline, '--max-regression', '10'], second[1]);
}

// The noisy case: embedded tokens, CPU-bound.
const embedded: [string[], NodeJS.ProcessEnv] = [['--alg', 'p256'], { ...process.env, HSM_BENCH_WORKSPACE: join(work, 'ws') }];

// The slowdown: two SoftHSM2 tokens behind the slow-token wrapper.
const conf = join(work, 'softhsm2.conf');
mkdirSync(join(work, 'tokens'));
writeFileSync(conf, `directories.tokendir = ${join(work, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
const pin = '246810';
const softhsm = '/usr/lib/softhsm/libsofthsm2.so';
const hsmEnv = { ...process.env, SOFTHSM2_CONF: conf };
for (const label of ['gate-0', 'gate-1']) {
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', '13579135'], { env: hsmEnv, stdio: 'pipe' });
  execFileSync('pkcs11-tool', ['--module', softhsm, '--token-label', label, '--login', '--pin', pin, '--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'gk'], { env: hsmEnv, stdio: 'pipe' });
}
const wrapper = join(work, 'slow.so');
execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', wrapper, join(root, 'test/faults/faulty-pkcs11.c'), '-I', join(root, 'node_modules/pkcs11js/includes/pkcs11'), '-ldl']);
const slow = (ms: number): [string[], NodeJS.ProcessEnv] => [
  ['--module', wrapper, '--alg', 'p256', '--key-label', 'gk', '--token-label', 'gate-'],
  { ...hsmEnv, HSM_BENCH_PIN: pin, FAULTY_PKCS11_MODULE: softhsm, FAULTY_EVERY: '1000000000', FAULTY_SIGN_DELAY_MS: String(ms) },
];

console.log(`machine: ${process.arch}, ${cpus().length} cores, ${cpus()[0]?.model}; node ${process.version}; plan: ${plan.join(' ')}`);
const plain: number[] = [];
const slowed: number[] = [];
for (let i = 0; i < tries; i++) {
  plain.push(pair(`plain-${i}`, embedded, embedded));
  slowed.push(pair(`slowed-${i}`, slow(10), slow(13)));
  console.log(`try ${i + 1}: plain rerun exit ${plain[i]}, 30 % slower tokens exit ${slowed[i]}`);
}
console.log(`plain reruns failed ${plain.filter((s) => s === 5).length} of ${tries} (must be 0); slowdowns caught ${slowed.filter((s) => s === 5).length} of ${tries} (must be ${tries})`);
