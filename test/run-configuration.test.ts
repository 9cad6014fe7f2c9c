import { generateKeyPairSync, sign as signOnHost } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as pkcs11 from 'pkcs11js';
import { describe, expect, it } from 'vitest';
import { algorithmById } from '../src/model/algorithms.js';
import type { CallRecord } from '../src/model/record.js';
import { RunControl } from '../src/measure/control.js';
import { sign } from '../src/operations/sign.js';
import { PinGuard } from '../src/pkcs11/pin-guard.js';
import { readRecords } from '../src/result/records-file.js';
import type { ConfigurationSpec } from '../src/run/run-configuration.js';
import type { TokenRef } from '../src/pkcs11/discovery.js';
import { tempDir } from './helpers/cli.js';
import { scriptedEngine, type ScriptedAnswer } from './helpers/scripted-engine.js';

/**
 * One configuration run whole (verification threads, spill file, recorder, records file) on the scripted engine:
 * two tokens whose P-256 keys live on the host, so every answer is checked for real, in a second or two.
 */
// Built: its verification threads load their workers' .js files beside it (the suite builds before it runs).
const { runConfiguration } = (await import(new URL('../dist/src/run/run-configuration.js', import.meta.url).href)) as typeof import('../src/run/run-configuration.js');
const TOKENS = 2;
const CALLS_PER_TOKEN = 200;
const keys = Array.from({ length: TOKENS }, () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
const prepared = sign.prepare({
  lib: undefined as never,
  algorithm: algorithmById('p256'),
  mechanismChoice: undefined,
  keyLabel: 'scripted',
  tokens: keys.map((k, i) => ({ name: `scripted-${i}`, session: Buffer.alloc(0), mechanisms: [pkcs11.CKM_ECDSA_SHA256], keyPair: { privateKey: Buffer.alloc(0), publicKey: k.publicKey } })),
});
const token = (i: number): TokenRef => ({ slotId: String(i), label: `scripted-${i}`, serial: String(i), loginRequired: false, slot: Buffer.alloc(8, i) }) as TokenRef;

/** A token that signs each message with its key (P-256, r‖s), as CKM_ECDSA_SHA256 does. */
const signs: ScriptedAnswer = (worker, _sequence, message) => signOnHost('sha256', message, { key: keys[worker]!.privateKey, dsaEncoding: 'ieee-p1363' });

async function run(answer: ScriptedAnswer, spill: { skip?: boolean } = {}) {
  const dir = tempDir('run-configuration');
  mkdirSync(join(dir, 'records'));
  let toCheckAfter: number | undefined;
  let lagWhenCheckedAfterS: number | undefined;
  const control = new RunControl(TOKENS);
  const spec: ConfigurationSpec = {
    modulePath: 'scripted',
    engine: 'threads',
    // 20 ms a call: a batch every 100 ms of the session's clock is 5 calls, 40 batches a session.
    startEngine: scriptedEngine(answer, 20),
    instances: 'shared',
    callTimeoutMs: null,
    pin: null,
    pinGuard: new PinGuard(TOKENS),
    workload: { operations: [prepared.timed], cumulative: [1] },
    hostChecks: [prepared.check],
    tokens: Array.from({ length: TOKENS }, (_, i) => ({ token: token(i), keyIds: [Buffer.alloc(0)], tables: [null], trialCallNs: 0 })),
    threadsPerToken: 1,
    warmupPerToken: 0,
    verifyEvery: 1,
    verifyThreads: 1,
    stop: { callsPerToken: CALLS_PER_TOKEN, sharedSuccesses: null, durationNs: null, schedule: null },
    recovery: null,
    runDir: dir,
    configurationName: 'tokens-2',
    recordsFile: 'records/tokens-2.rec',
    spillFile: 'unverified-tokens-2.bin',
    onVerifyingSpill: (calls, skip) => {
      toCheckAfter = calls;
      lagWhenCheckedAfterS = control.checkLagS();
      if (spill.skip) skip();
    },
  };
  const result = await runConfiguration(spec, control, () => {});
  const records: CallRecord[] = [];
  for await (const r of readRecords(join(dir, spec.recordsFile))) records.push(r);
  return { result, records, toCheckAfter, spillLeft: existsSync(join(dir, spec.spillFile!)), lagWhenCheckedAfterS, lagAtEndS: control.checkLagS() };
}

const byToken = (records: CallRecord[], t: number) => records.filter((r) => r.token === t);

describe('a configuration whose verification falls behind (scripted engine)', () => {
  it('spills what it cannot check in time, checks it after the window, and records every call once, in order', async () => {
    const { result, records, toCheckAfter, spillLeft, lagWhenCheckedAfterS, lagAtEndS } = await run(signs);
    // Verification fell behind at once (no batch is checked while a session runs): most calls were kept for after.
    expect(toCheckAfter).toBeGreaterThan(CALLS_PER_TOKEN);
    // The live metrics' lag counts the calls kept for after from when they were kept; none is left at the end.
    expect(lagWhenCheckedAfterS).toBeGreaterThan(0);
    expect(lagAtEndS).toBe(0);
    expect(result.operationsVerifiedLate).toBe(toCheckAfter);
    expect(spillLeft).toBe(false);
    expect(records).toHaveLength(TOKENS * CALLS_PER_TOKEN);
    for (let t = 0; t < TOKENS; t++) expect(byToken(records, t).map((r) => r.sequence)).toEqual(Array.from({ length: CALLS_PER_TOKEN }, (_, i) => i));
    expect(records.every((r) => r.verified === true && r.status === 'CKR_OK' && r.configuration === 'tokens-2')).toBe(true);
    expect(result.stats.operationsOk).toBe(TOKENS * CALLS_PER_TOKEN);
  });

  it('a wrong answer kept for after the window is still found wrong, where it was made', async () => {
    const wrongAt = new Set([3, 77, 150]);
    const { result, records } = await run((worker, sequence, message) => (worker === 1 && wrongAt.has(sequence) ? Buffer.alloc(64, 1) : signs(worker, sequence, message)));
    expect(records.filter((r) => r.verified === false).map((r) => [r.token, r.sequence])).toEqual([...wrongAt].map((s) => [1, s]));
    expect(result.stats.operationsFailed).toBe(wrongAt.size);
    expect(records).toHaveLength(TOKENS * CALLS_PER_TOKEN);
  });

  it('a backlog skipped (a Ctrl-C while it is checked) is recorded unchecked, counted as such, in order', async () => {
    const { result, records, toCheckAfter, spillLeft } = await run(signs, { skip: true });
    expect(result.operationsUnverified).toBe(toCheckAfter);
    expect(records.filter((r) => r.verified === null)).toHaveLength(toCheckAfter!);
    // What was checked in time was checked; nothing is lost or out of order.
    expect(records.filter((r) => r.verified === true)).toHaveLength(TOKENS * CALLS_PER_TOKEN - toCheckAfter!);
    for (let t = 0; t < TOKENS; t++) expect(byToken(records, t).map((r) => r.sequence)).toEqual(Array.from({ length: CALLS_PER_TOKEN }, (_, i) => i));
    expect(spillLeft).toBe(false);
  });
});
