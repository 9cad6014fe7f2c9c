import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareEmbedded } from '../src/keys/embedded-softhsm.js';
import { BatchBuilder, StagedBatch } from '../src/model/call-batch.js';
import { messageFor } from '../src/model/message.js';
import { ConfigurationRecorder } from '../src/pipeline/recorder.js';
import { VERIFY_FAILED } from '../src/model/record-status.js';
import { verifyBatch } from '../src/pipeline/verify-batch.js';
import { algorithmById } from '../src/model/algorithms.js';
import { listTokens } from '../src/pkcs11/discovery.js';
import { PinGuard } from '../src/pkcs11/pin-guard.js';
import { findKeyPair } from '../src/pkcs11/keys.js';
import { chooseSignMechanism, type MechanismChoice } from '../src/pkcs11/mechanisms.js';
import { toPkcs11Mechanism } from '../src/pkcs11/timed-call.js';
import { signInput, signMechanism } from '../src/operations/sign.js';
import { Pkcs11Module } from '../src/pkcs11/module.js';
import { login, openSession } from '../src/pkcs11/session.js';
import { readRecords, RecordsFileWriter } from '../src/result/records-file.js';
import { type CallRecord } from '../src/model/record.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { publicKeyFromAttributes, unwrapEcPoint } from '../src/pkcs11/public-key.js';
import { tempDir } from './helpers/cli.js';

const workspace = tempDir('verify');
const cases: [string, MechanismChoice][] = [
  ['rsa2048', 'pkcs1'],
  ['rsa2048', 'pss'],
  ['bp256', 'ecdsa'],
  ['p384', 'ecdsa'],
];
let mod: Pkcs11Module;
let session: Buffer;

beforeAll(async () => {
  let backend;
  for (const [alg] of cases) backend = await prepareEmbedded(workspace, 1, [{ alg: algorithmById(alg), label: `k-${alg}`, usage: 'sign' }], () => {});
  mod = await Pkcs11Module.open(backend!.modulePath);
  const token = listTokens(mod.lib)[0]!;
  session = openSession(mod.lib, token);
  login(mod.lib, session, token, backend!.pin, { guard: new PinGuard(1), token: 0 });
});

afterAll(() => {
  mod.lib.C_CloseSession(session);
  mod.close();
});

describe('host verification against the public key read from a real token', () => {
  for (const [algId, choice] of cases) {
    it(`${algId}/${choice}: a good signature verifies, a corrupted one is a VERIFY_FAILED failure`, async () => {
      const alg = algorithmById(algId);
      const token = listTokens(mod.lib)[0]!;
      const key = findKeyPair(mod.lib, session, token, alg, `k-${algId}`, 'sign', []);
      const mechanism = chooseSignMechanism(choice, [{ name: 'test', mechanisms: mod.lib.C_GetMechanismList(token.slot) }]);
      const seed = Buffer.alloc(24, 7);
      const sign = (sequence: number) => {
        mod.lib.C_SignInit(session, toPkcs11Mechanism(signMechanism(mechanism)), key.privateKey);
        return Buffer.from(mod.lib.C_Sign(session, signInput(mechanism, messageFor(seed, sequence)), Buffer.alloc(512)));
      };
      const good = sign(0);
      const corrupted = sign(1);
      corrupted[corrupted.length >> 1]! ^= 0x01;
      const batch = new BatchBuilder(StagedBatch.create(0, 4, 512), 0, () => undefined);
      batch.add(0, 500_000, 0, good);
      batch.add(600_000, 500_000, 0, corrupted);
      batch.add(1_200_000, 500_000, 0, sign(1)); // signed for sequence 1, recorded as sequence 2: wrong message
      const path = join(tempDir('verify-records'), 'r.rec');
      const writer = new RecordsFileWriter(path);
      const stats = new ConfigurationStats(1);
      const taken = batch.take(3);
      verifyBatch(taken, { operations: [{ name: 'sign', data: { publicKeys: [publicKeyFromAttributes(key.publicKey)], mechanism }, dataBytes: 32 }], messageSeeds: [seed], workerTokens: [0] });
      new ConfigurationRecorder('1', [{ token: 0, thread: 0, messageSeed: seed }], writer, stats, ['sign']).add(taken);
      writer.close();
      expect(stats.operationsOk).toBe(1);
      expect(stats.operationsVerified).toBe(3);
      expect(Object.fromEntries(stats.failuresByStatus)).toEqual({ [VERIFY_FAILED]: 2 });
      const records: CallRecord[] = [];
      for await (const r of readRecords(path)) records.push(r);
      expect(records.map((r) => [r.sequence, r.status, r.verified])).toEqual([
        [0, 'CKR_OK', true],
        [1, 'CKR_OK', false],
        [2, 'CKR_OK', false],
      ]);
      expect(records[1]!.latencyUs).toBe(500);
    });
  }
});

describe('CKA_EC_POINT', () => {
  it('is unwrapped from its DER OCTET STRING, and a bare point is taken as is', () => {
    const point = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 9)]);
    expect(unwrapEcPoint(Buffer.concat([Buffer.from([0x04, 65]), point]))).toEqual(point);
    expect(unwrapEcPoint(point)).toEqual(point);
    const p384 = Buffer.concat([Buffer.from([4]), Buffer.alloc(96, 3)]);
    expect(unwrapEcPoint(Buffer.concat([Buffer.from([0x04, 0x61]), p384]))).toEqual(p384);
  });
});
