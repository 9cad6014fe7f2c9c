/**
 * The concurrency models of DESIGN.md on the same 2 embedded SoftHSM2 tokens, interleaved:
 *   threads — hsm-bench itself: one worker thread per token, synchronous C_SignInit + C_Sign (--verify none);
 *   async   — one Node thread, one session per token, C_SignInit + await C_SignAsync, tokens in parallel;
 *   process — one child process per token, each with its own module instance, login and synchronous loop.
 * Prints the median throughput of each and its ratio to the thread model.
 *
 * usage: npm run build && node dist/bench/concurrency-models.js [--rounds 3] [--alg bp256] [--per-token 3000]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkcs11 from 'pkcs11js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const root = new URL('../..', import.meta.url).pathname;
const CKM = (alg: string) => (alg.startsWith('rsa') ? pkcs11.CKM_SHA256_RSA_PKCS : pkcs11.CKM_ECDSA);

/** Opens the module, logs in, finds the key on the tokens labelled `labels`; returns sessions and keys. */
function open(modulePath: string, labels: string[], keyLabel: string, pin: string) {
  const lib = new pkcs11.PKCS11();
  lib.load(modulePath);
  lib.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
  const slots = lib.C_GetSlotList(true);
  const tokens = labels.map((label) => {
    const slot = slots.find((s) => lib.C_GetTokenInfo(s).label.trim() === label)!;
    const session = lib.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION);
    lib.C_Login(session, pkcs11.CKU_USER, pin);
    lib.C_FindObjectsInit(session, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
      { type: pkcs11.CKA_LABEL, value: keyLabel },
    ]);
    const [key] = lib.C_FindObjects(session, 1);
    lib.C_FindObjectsFinal(session);
    return { session, key: key! };
  });
  return { lib, tokens };
}

if (args[0] === '--child') {
  // One token's synchronous loop in its own process; starts when the parent writes a line, prints its count.
  const [, modulePath, label, keyLabel, count, alg] = args as [string, string, string, string, string, string];
  const { lib, tokens } = open(modulePath, [label], keyLabel, process.env.HSM_BENCH_PIN!);
  const { session, key } = tokens[0]!;
  const out = Buffer.alloc(512);
  process.stdout.write('ready\n');
  process.stdin.once('data', () => {
    for (let i = 0; i < Number(count); i++) {
      lib.C_SignInit(session, { mechanism: CKM(alg) }, key);
      lib.C_Sign(session, Buffer.alloc(32, i & 0xff), out);
    }
    process.stdout.write('done\n');
    lib.C_Finalize();
    process.exit(0);
  });
} else {
  const rounds = Number(arg('--rounds', '3'));
  const alg = arg('--alg', 'bp256');
  const perToken = Number(arg('--per-token', '3000'));
  const work = mkdtempSync(join(tmpdir(), 'hsm-bench-models-'));
  const env = { ...process.env, HSM_BENCH_WORKSPACE: join(work, 'ws'), CI: 'true' };
  const harness = (extra: string[]) => {
    const r = spawnSync(process.execPath, [join(root, 'bin/hsm-bench'), 'scale', '--alg', alg, '--json', '--out', join(work, 'reports'), ...extra], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout);
  };
  const provisioned = harness(['--tokens', '2', '--signatures-per-token', '1']);
  const labels: string[] = provisioned.tokens.map((t: { label: string }) => t.label);
  const modulePath: string = provisioned.module.path;
  process.env.SOFTHSM2_CONF = join(env.HSM_BENCH_WORKSPACE, 'softhsm2.conf');
  const pin = readFileSync(join(env.HSM_BENCH_WORKSPACE, 'user-pin'), 'utf8');
  const keyLabel = `hsm-bench-${alg}`;

  const threads = () => harness(['--tokens', '2', '--signatures-per-token', String(perToken), '--warmup', '0', '--verify', 'none']).configurations[0].throughputPerS as number;

  const asyncModel = async () => {
    const { lib, tokens } = open(modulePath, labels, keyLabel, pin);
    const start = process.hrtime.bigint();
    await Promise.all(
      tokens.map(async ({ session, key }) => {
        for (let i = 0; i < perToken; i++) {
          lib.C_SignInit(session, { mechanism: CKM(alg) }, key);
          await lib.C_SignAsync(session, Buffer.alloc(32, i & 0xff), Buffer.alloc(512));
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    lib.C_Finalize();
    lib.close();
    return (perToken * tokens.length) / seconds;
  };

  const processModel = async () => {
    const children = labels.map((label) =>
      spawn(process.execPath, [new URL(import.meta.url).pathname, '--child', modulePath, label, keyLabel, String(perToken), alg], {
        env: { ...env, SOFTHSM2_CONF: process.env.SOFTHSM2_CONF, HSM_BENCH_PIN: pin },
      }),
    );
    const line = (c: (typeof children)[0], text: string) => new Promise<void>((resolve) => c.stdout.on('data', (d: Buffer) => d.toString().includes(text) && resolve()));
    await Promise.all(children.map((c) => line(c, 'ready')));
    const start = process.hrtime.bigint();
    const done = children.map((c) => line(c, 'done'));
    children.forEach((c) => c.stdin.write('go\n'));
    await Promise.all(done);
    return (perToken * children.length) / (Number(process.hrtime.bigint() - start) / 1e9);
  };

  const results: Record<string, number[]> = { threads: [], async: [], process: [] };
  for (let i = 0; i < rounds; i++) {
    results.threads!.push(threads());
    results.async!.push(await asyncModel());
    results.process!.push(await processModel());
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`${alg}, 2 embedded SoftHSM2 tokens, ${perToken} signatures per token, ${rounds} interleaved rounds; node ${process.version}`);
  for (const [model, xs] of Object.entries(results))
    console.log(`${model.padEnd(8)} ${median(xs).toFixed(0).padStart(6)} sig/s   ratio to threads ${(median(xs) / median(results.threads!)).toFixed(2)}`);
}
