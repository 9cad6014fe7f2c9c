/**
 * hsm-bench's operations against a minimal C loop (bench/c/op-loop.c) on the same embedded SoftHSM2 tokens: for
 * each operation (sign, verify, decrypt, encrypt, mac, derive, keygen, digest, random) at 1 and 2 tokens, R rounds,
 * each round both sides back to back in alternating order (C first, then hsm-bench first), the same count of
 * operations per token on both sides. Prints per operation and token count the medians of both sides, the median
 * of the per-round ratios hsm-bench / C with their range, and the rounds.
 *
 * The C loop makes the calls of hsm-bench's timed call for the operation (jsTimedCall, src/model/workload.ts);
 * for derive and keygen it also reads back and destroys what the call made, which hsm-bench does after its clock
 * stops but within the configuration's window. Inputs the host must make (decrypt: ciphertexts made with the
 * token's public key; verify: SHA-256 digests and the token's ECDSA signatures, 1 in 8 spoiled; derive: host P-256
 * points) are written here, with pkcs11js and node:crypto, to a file the C loop reads, 64 rows per token as
 * hsm-bench makes them.
 *
 * usage: npm run build && node dist/bench/ops-vs-c.js [--rounds 3] [--op verify]
 */
import { alternatingRounds, buildOpLoop, median } from './c-loop.js';
import { spawnSync } from 'node:child_process';
import { constants, createECDH, hash, publicEncrypt, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pkcs11 from 'pkcs11js';
import type { RunResult } from '../src/model/run-result.js';
import { findObjects, readPublicKey } from '../src/pkcs11/keys.js';
import { pkcs11Text } from '../src/pkcs11/module.js';
import { publicKeyFromAttributes } from '../src/pkcs11/public-key.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin', 'hsm-bench');
const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const rounds = Number(option('--rounds') ?? 3) || 3;
const onlyOp = option('--op');
const work = mkdtempSync(join(tmpdir(), 'hsm-bench-ops-'));
const workspace = join(work, 'ws');
const env = { ...process.env, HSM_BENCH_WORKSPACE: workspace, CI: 'true' };
const ROWS = 64;

interface Case {
  op: string;
  alg?: string;
  /** The operation's name in op-loop.c. */
  cOp: string;
  /** The token key's label, for operations that use one. */
  key?: string;
  /** Operations per token per measurement: about 0.5–2 s on a 2-core machine. */
  perToken: number;
  /** Rows of the C loop's input file for a token (hex; verify: data:signature). */
  rows?: (t: PreparedToken) => string[];
}

interface PreparedToken {
  lib: pkcs11.PKCS11;
  session: Buffer;
  label: string;
}

const find = (t: PreparedToken, cls: number, label: string) => {
  const found = findObjects(t.lib, t.session, [
    { type: pkcs11.CKA_CLASS, value: cls },
    { type: pkcs11.CKA_LABEL, value: label },
  ]);
  if (found.length !== 1) throw new Error(`${found.length} objects of class ${cls} labelled ${label} on ${t.label}`);
  return found[0]!;
};

/** As src/operations/verify.ts: SHA-256 of a random message, signed by the token with CKM_ECDSA, every 8th spoiled. */
function verifyRows(t: PreparedToken): string[] {
  const key = find(t, pkcs11.CKO_PRIVATE_KEY, 'hsm-bench-p256');
  return Array.from({ length: ROWS }, (_, i) => {
    const data = hash('sha256', randomBytes(32), 'buffer');
    t.lib.C_SignInit(t.session, { mechanism: pkcs11.CKM_ECDSA }, key);
    const signature = Buffer.from(t.lib.C_Sign(t.session, data, Buffer.alloc(512)));
    if (i % 8 === 7) signature[signature.length >> 1]! ^= 0x01;
    return `${data.toString('hex')}:${signature.toString('hex')}`;
  });
}

/** As src/operations/decrypt.ts: random 32-byte plaintexts encrypted with the token's public key, PKCS#1 v1.5. */
function decryptRows(t: PreparedToken): string[] {
  const publicKey = publicKeyFromAttributes(readPublicKey(t.lib, t.session, find(t, pkcs11.CKO_PUBLIC_KEY, 'hsm-bench-rsa2048-decrypt'), 'rsa'));
  return Array.from({ length: ROWS }, () => publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, randomBytes(32)).toString('hex'));
}

/** As src/operations/derive.ts: uncompressed public points of host P-256 key pairs. */
function deriveRows(): string[] {
  return Array.from({ length: ROWS }, () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    return ecdh.getPublicKey().toString('hex');
  });
}

const CASES: Case[] = [
  { op: 'sign', alg: 'p256', cOp: 'sign-ecdsa', key: 'hsm-bench-p256', perToken: 10_000 },
  { op: 'verify', alg: 'p256', cOp: 'verify-ecdsa', key: 'hsm-bench-p256', perToken: 5000, rows: verifyRows },
  { op: 'decrypt', alg: 'rsa2048', cOp: 'decrypt', key: 'hsm-bench-rsa2048-decrypt', perToken: 1000, rows: decryptRows },
  { op: 'encrypt', alg: 'aes256', cOp: 'encrypt', perToken: 50_000 },
  { op: 'mac', cOp: 'mac', perToken: 100_000 },
  { op: 'derive', alg: 'p256', cOp: 'derive', key: 'hsm-bench-p256-derive', perToken: 3000, rows: deriveRows },
  { op: 'keygen', alg: 'p256', cOp: 'keygen', perToken: 4000 },
  { op: 'digest', cOp: 'digest', perToken: 400_000 },
  { op: 'random', cOp: 'random', perToken: 400_000 },
];
const cases = CASES.filter((c) => onlyOp === undefined || c.op === onlyOp);
if (cases.length === 0) throw new Error(`no operation ${onlyOp}; one of ${CASES.map((c) => c.op).join(', ')}`);

function harness(extra: string[]): RunResult {
  const out = join(work, 'reports');
  const r = spawnSync(process.execPath, [bin, 'scale', '--json', '--out', out, ...extra], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  // The run directories of the large counts are tens of MB: keep none.
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`hsm-bench ${extra.join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as RunResult;
}

const algArgs = (c: Case) => ['--op', c.op, ...(c.alg === undefined ? [] : ['--alg', c.alg])];

const loop = buildOpLoop(work);

// Provision the tokens and every operation's key once, outside the measurements (hsm-bench makes keys on first use).
let modulePath = '';
let labels: string[] = [];
for (const c of cases) {
  const run = harness([...algArgs(c), '--tokens', '2', '--signatures-per-token', '1', '--warmup', '0']);
  modulePath = run.module.path;
  labels = run.tokens.map((t) => t.label);
}
const pin = readFileSync(join(workspace, 'user-pin'), 'utf8');
const softhsmEnv = { ...env, SOFTHSM2_CONF: join(workspace, 'softhsm2.conf'), HSM_BENCH_PIN: pin };

// The C loop's input rows, made on the tokens' own keys; the module is finalized before any measurement.
const inputFiles = new Map<string, string>();
if (cases.some((c) => c.rows !== undefined)) {
  process.env.SOFTHSM2_CONF = softhsmEnv.SOFTHSM2_CONF;
  const lib = new pkcs11.PKCS11();
  lib.load(modulePath);
  lib.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
  try {
    const tokens: PreparedToken[] = labels.map((label) => {
      const slot = lib.C_GetSlotList(true).find((s) => pkcs11Text(lib.C_GetTokenInfo(s).label) === label);
      if (slot === undefined) throw new Error(`no token ${label}`);
      const session = lib.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION);
      lib.C_Login(session, pkcs11.CKU_USER, pin);
      return { lib, session, label };
    });
    for (const c of cases) {
      if (c.rows === undefined) continue;
      const file = join(work, `${c.op}.rows`);
      writeFileSync(file, tokens.flatMap((t) => c.rows!(t).map((row) => `${t.label} ${row}\n`)).join(''));
      inputFiles.set(c.op, file);
    }
    for (const t of tokens) {
      lib.C_Logout(t.session);
      lib.C_CloseSession(t.session);
    }
  } finally {
    lib.C_Finalize();
  }
}

console.log(
  `machine: ${process.arch}, ${cpus().length} cores, ${cpus()[0]?.model}; node ${process.version}; ${rounds} rounds, interleaved; load average ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('op       alg          tokens  ops/token  C ops/s (median)  hsm-bench ops/s (median)  ratio: median [min–max]  engine');
const summary: string[] = [];
for (const c of cases) {
  for (const tokens of [1, 2]) {
    const engines = new Set<string>();
    const expected = c.perToken * tokens;
    const cLoop = () => {
      const r = spawnSync(loop, [modulePath, c.cOp, c.key ?? '-', String(c.perToken), inputFiles.get(c.op) ?? '-', ...labels.slice(0, tokens)], { env: softhsmEnv, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`op-loop ${c.cOp} failed (${r.status}): ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { operationsOk: number; throughputPerS: number };
      if (out.operationsOk !== expected) console.log(`  warning: C loop ${c.cOp} made ${out.operationsOk} of ${expected} operations`);
      return out.throughputPerS;
    };
    const hsmBench = () => {
      // verify is judged by the host's check of each answer, so it refuses --verify none: a 1 % sample instead.
      const verify = c.op === 'verify' ? '0.01' : 'none';
      const run = harness([...algArgs(c), '--tokens', String(tokens), '--signatures-per-token', String(c.perToken), '--warmup', '0', '--verify', verify]);
      const conf = run.configurations[0]!;
      if (conf.operationsOk !== expected) console.log(`  warning: hsm-bench ${c.op} made ${conf.operationsOk} of ${expected} operations`);
      engines.add(run.harness.engine ?? '?');
      return conf.throughputPerS;
    };
    const { cRates, hRates, ratios } = alternatingRounds(rounds, cLoop, hsmBench);
    const ratio = `${median(ratios).toFixed(3)} [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]`;
    const engine = [...engines].join(',');
    console.log(
      `${c.op.padEnd(8)} ${(c.alg ?? '-').padEnd(12)} ${String(tokens).padStart(6)}  ${String(c.perToken).padStart(9)}  ${median(cRates).toFixed(0).padStart(16)}  ${median(hRates).toFixed(0).padStart(24)}  ${ratio.padEnd(23)}  ${engine}`,
    );
    console.log(`         rounds: ${ratios.map((r) => r.toFixed(3)).join(' ')}  (C: ${cRates.map((r) => r.toFixed(0)).join(' ')}; hsm-bench: ${hRates.map((r) => r.toFixed(0)).join(' ')})`);
    summary.push(`| ${c.op} | ${c.alg ?? '–'} | ${tokens} | ${c.perToken.toLocaleString('en')} | ${median(cRates).toFixed(0)} | ${median(hRates).toFixed(0)} | ${ratio} | ${engine} |`);
  }
}
console.log('\n| op | alg | tokens | ops/token | C ops/s | hsm-bench ops/s | ratio: median [min–max] | engine |\n|---|---|---:|---:|---:|---:|---|---|');
console.log(summary.join('\n'));
rmSync(work, { recursive: true, force: true });
