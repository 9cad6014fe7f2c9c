/**
 * The verification stage's throughput per thread count: signatures made in this process with node:crypto (no
 * token needed), each batch of 256 verified by VerifyPool with 1, 2 … threads, against the same batches verified
 * inline on the main thread (the engine before the pool) in the same invocation.
 *
 * usage: npm run build && node dist/bench/verify-pool.js [--alg bp256|p256|rsa2048] [--signatures 20000] [--threads 1,2]
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { BatchBuilder, StagedBatch, type CallBatch } from '../src/model/call-batch.js';
import { messageFor } from '../src/model/message.js';
import type { SignMechanism } from '../src/pkcs11/mechanisms.js';
import { verifyBatch, type VerifyContext } from '../src/pipeline/verify-batch.js';
import { VerifyPool } from '../src/pipeline/verify-pool.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const alg = option('--alg', 'bp256');
const total = Number(option('--signatures', '20000'));
const threadCounts = option('--threads', '1,2').split(',').map(Number);
const BATCH = 256;

const pair = alg === 'rsa2048' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: alg === 'p256' ? 'prime256v1' : 'brainpoolP256r1' });
const mechanism: SignMechanism = alg === 'rsa2048' ? { name: 'CKM_SHA256_RSA_PKCS', ckm: 0x40, pss: false, hostDigest: 'none' } : { name: 'CKM_ECDSA', ckm: 0x1041, pss: false, hostDigest: 'sha256' };
const seeds = [randomBytes(24), randomBytes(24)];
const context: VerifyContext = { operations: [{ name: 'sign', data: { publicKeys: [pair.publicKey as KeyObject], mechanism }, dataBytes: 32 }], messageSeeds: seeds, workerTokens: [0, 0] };

// The signatures, made once: what a token would have returned, in batches as the signing workers post them.
const privateKey = createPrivateKey(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
const signatures = Array.from({ length: total }, (_, i) =>
  sign('sha256', messageFor(seeds[i % 2]!, Math.floor(i / 2)), alg === 'rsa2048' ? privateKey : { key: privateKey, dsaEncoding: 'ieee-p1363' }),
);
function batches(): CallBatch[] {
  const out: CallBatch[] = [];
  for (const worker of [0, 1]) {
    const keptBytes = alg === 'rsa2048' ? 256 : 64;
    const builder = new BatchBuilder(StagedBatch.create(worker, BATCH, keptBytes), 0, () => undefined);
    for (let sequence = 0; sequence < total / 2; sequence++) {
      builder.add(0, 0, 0, signatures[sequence * 2 + worker]!);
      if (builder.count === BATCH) out.push(builder.take(sequence + 1));
    }
    if (builder.count > 0) out.push(builder.take(total / 2));
  }
  return out;
}
const countVerified = (bs: CallBatch[]) => bs.reduce((n, b) => n + b.verified.subarray(0, b.count).filter((v) => v === 1).length, 0);

console.log(`machine: ${process.arch}, ${cpus().length} cores, ${cpus()[0]?.model}; node ${process.version}; ${alg}, ${total} signatures in batches of ${BATCH}`);
const inline = batches();
let t0 = performance.now();
for (const b of inline) verifyBatch(b, context);
const inlineRate = (total * 1000) / (performance.now() - t0);
if (countVerified(inline) !== total) throw new Error('inline verification failed');
console.log(`inline (main thread)   ${inlineRate.toFixed(0).padStart(7)} verifications/s  1.00`);
for (const threads of threadCounts) {
  const pool = new VerifyPool(threads, context);
  await pool.verify(batches()[0]!); // start the threads outside the measurement
  const pending = batches();
  t0 = performance.now();
  const done = await Promise.all(pending.map((b) => pool.verify(b)));
  const rate = (total * 1000) / (performance.now() - t0);
  await pool.close();
  if (countVerified(done) !== total) throw new Error(`pool of ${threads} verified ${countVerified(done)} of ${total}`);
  console.log(`pool, ${threads} thread${threads > 1 ? 's' : ' '}       ${rate.toFixed(0).padStart(7)} verifications/s  ${(rate / inlineRate).toFixed(2)}`);
}
