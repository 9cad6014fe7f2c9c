/**
 * What p11-kit's remoting costs, and which way of remoting scales with tokens: the same two SoftHSM2 tokens (host A
 * of the emulated stacks) signed through libsofthsm2.so directly, through p11-kit-client.so (a p11-kit server on a
 * unix socket), and through p11-kit-proxy.so (the way tokens of other hosts reach one process) with one `remote:`
 * entry for the host, one `remote:` entry per token (its own `p11-kit remote` process), or one per token reaching a
 * `p11-kit server` socket of that token. Interleaved rounds, median throughput and p50 latency, ratios against direct
 * in the same invocation.
 *
 * usage: npm run build && bash test/emu/with-stacks.sh node dist/bench/remoting-cost.js [--rounds 5] [--alg rsa2048|bp256]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../src/model/run-result.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin', 'hsm-bench');
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const rounds = Number(option('--rounds', '5'));
const alg = option('--alg', 'rsa2048');
const perToken = alg === 'rsa2048' ? '1500' : '3000';
const env = process.env;
for (const name of ['HSM_BENCH_TEST_SHSM_CONF', 'HSM_BENCH_TEST_P11KIT_ADDRESS', 'HSM_BENCH_TEST_P11KIT_PROXY_RUN', 'HSM_BENCH_TEST_EMU']) {
  if (!env[name]) throw new Error(`${name} is not set: run this under test/emu/with-stacks.sh`);
}
const work = mkdtempSync(join(tmpdir(), 'hsm-bench-remoting-'));
const common = [
  'scale',
  '--json',
  '--alg',
  alg,
  '--key-label',
  alg,
  '--token-label',
  'shsm',
  '--tokens',
  '1,2',
  '--signatures-per-token',
  perToken,
  '--warmup',
  '20',
  '--verify',
  'none',
  '--out',
  join(work, 'reports'),
];
const base = { ...env, CI: 'true', HSM_BENCH_PIN: env.HSM_BENCH_TEST_SHSM_PIN ?? '648219' };

const softhsm = '/usr/lib/softhsm/libsofthsm2.so';
const tokenUris = ['pkcs11:token=shsm0', 'pkcs11:token=shsm1'];

/** A p11-kit-proxy module folder (what p11kit-proxy-run.sh shows the proxy) with one `remote:` line per file. */
function proxyModules(name: string, remotes: string[]): string {
  const emu = join(work, name);
  mkdirSync(join(emu, 'p11proxy', 'modules'), { recursive: true });
  remotes.forEach((remote, i) => writeFileSync(join(emu, 'p11proxy', 'modules', `remote-${i}.module`), `remote: ${remote}\n`));
  return emu;
}
const remoteCommand = (token: string) => `|/usr/bin/env SOFTHSM2_CONF=${env.HSM_BENCH_TEST_SHSM_CONF} p11-kit remote --provider ${softhsm} ${token}`;
const perTokenRemote = proxyModules('per-token-remote', tokenUris.map(remoteCommand));

// One p11-kit server per token, each on its own socket (what a forwarded socket per token gives another host).
const servers = tokenUris.map((token, i) => {
  const socket = join(work, `token-${i}.sock`);
  const server = spawn('p11-kit', ['server', '-f', '--provider', softhsm, '-n', socket, token], { env: { ...env, SOFTHSM2_CONF: env.HSM_BENCH_TEST_SHSM_CONF }, stdio: 'ignore' });
  return { socket, server };
});
for (let i = 0; i < 100 && !servers.every(({ socket }) => existsSync(socket)); i++) spawnSync('sleep', ['0.1']);
const perTokenSocket = proxyModules(
  'per-token-socket',
  servers.map(({ socket }) => `unix:path=${socket}`),
);

const hsmBench = [process.execPath, bin, ...common];
const throughProxy = (emu: string): [string[], NodeJS.ProcessEnv] => [
  [env.HSM_BENCH_TEST_P11KIT_PROXY_RUN!, ...hsmBench, '--module', '/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so'],
  { ...base, EMU: emu },
];
const transports: Record<string, () => [string[], NodeJS.ProcessEnv]> = {
  direct: () => [[...hsmBench, '--module', softhsm], { ...base, SOFTHSM2_CONF: env.HSM_BENCH_TEST_SHSM_CONF }],
  client: () => [[...hsmBench, '--module', '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so'], { ...base, P11_KIT_SERVER_ADDRESS: env.HSM_BENCH_TEST_P11KIT_ADDRESS }],
  'proxy, remote per host': () => throughProxy(env.HSM_BENCH_TEST_EMU!),
  'proxy, remote per token': () => throughProxy(perTokenRemote),
  'proxy, socket per token': () => throughProxy(perTokenSocket),
};

function measure(name: string): RunResult {
  const [argv, childEnv] = transports[name]!();
  const r = spawnSync(argv[0]!, argv.slice(1), { env: childEnv, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${name} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as RunResult;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const samples: Record<string, { rate: number[][]; p50: number[][] }> = Object.fromEntries(Object.keys(transports).map((t) => [t, { rate: [[], []], p50: [[], []] }]));
for (let i = 0; i < rounds; i++) {
  for (const name of Object.keys(transports)) {
    const run = measure(name);
    run.configurations.forEach((c, k) => {
      samples[name]!.rate[k]!.push(c.throughputPerS);
      samples[name]!.p50[k]!.push(c.latencyMs!.p50);
    });
  }
}
console.log(`machine: ${process.arch}, ${cpus().length} cores, ${cpus()[0]?.model}; node ${process.version}; ${alg}, ${perToken} signatures per token, ${rounds} interleaved rounds`);
console.log(`${'transport'.padEnd(24)}  tokens  sig/s (median)  vs direct  p50 ms  vs direct`);
for (const k of [0, 1]) {
  const direct = samples.direct!;
  for (const name of Object.keys(transports)) {
    const s = samples[name]!;
    const rate = median(s.rate[k]!);
    const p50 = median(s.p50[k]!);
    console.log(
      `${name.padEnd(24)}  ${String(k + 1).padStart(6)}  ${rate.toFixed(0).padStart(14)}  ${(rate / median(direct.rate[k]!)).toFixed(2).padStart(9)}  ${p50.toFixed(3).padStart(6)}  ${(p50 / median(direct.p50[k]!)).toFixed(2).padStart(9)}`,
    );
  }
}
for (const { server } of servers) server.kill();
