import pkcs11js from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATIVE } from '../src/core/native-abi.js';
import { newBatch, type CallBatch } from '../src/model/call-batch.js';
import { nativeLoop, type NativeLoop, type NativeLoopSpec } from '../src/measure/native-engine.js';
import { ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

/** P-256's OID, DER: the public key template's CKA_EC_PARAMS. */
const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

describe("the native loop's clock: one read per call in a closed loop", () => {
  const hsm = new ExternalSoftHsm();
  const lib = new pkcs11js.PKCS11();
  let session: Buffer;
  let native: NativeLoop;

  beforeAll(() => {
    hsm.initToken('clock');
    process.env.SOFTHSM2_CONF = hsm.conf;
    lib.load(hsm.module);
    lib.C_Initialize();
    session = lib.C_OpenSession(lib.C_GetSlotList(true)[0]!, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    lib.C_Login(session, pkcs11js.CKU_USER, TEST_PIN);
    native = nativeLoop()!;
  });

  afterAll(() => {
    lib.C_CloseSession(session);
    lib.C_Finalize();
  });

  /** One job of `calls` calls of `operation` on the token, closed loop; its records once done. */
  async function closedLoop(operation: NativeLoopSpec['operations'][number], calls: number): Promise<CallBatch> {
    const loop = native.start(hsm.module, {
      operations: [operation],
      cumulative: [1],
      bufferBytes: 513,
      keptBytes: Math.max(...operation.outputBytes),
      keepEvery: 0,
      durationNs: -1,
      sharedTotal: -1,
      recovery: false,
      ringBytes: 1 << 20,
      unrecordedMaxNs: -1,
      schedule: null,
      jobs: [{ session, keys: [Buffer.alloc(8)], seed: Buffer.alloc(NATIVE.seedBytes), rows: [[]], aux: [[]], warmup: 0, firstSequence: 0, count: calls }],
    });
    const view = { state: new Int32Array(1), available: new Int32Array(1), callBeginNs: new Float64Array(1) };
    const batch = newBatch(0, calls, 0);
    try {
      native.release(loop, process.hrtime.bigint());
      for (let waited = 0; view.state[0] !== NATIVE.jobState.done && waited < 20_000; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        native.states(loop, view);
      }
      batch.count = native.drain(loop, 0, batch);
    } finally {
      native.close(loop);
    }
    expect(batch.count).toBe(calls);
    expect([...batch.status.subarray(0, calls)]).toEqual(Array(calls).fill(0));
    return batch;
  }

  /** Per call after the first: the time between the end of the call before it and its own start, in ns. */
  const gapsNs = (b: CallBatch) => Array.from({ length: b.count - 1 }, (_, i) => b.startOffsetNs[i + 1]! - (b.startOffsetNs[i]! + b.latencyNs[i]!));

  it("each call starts where the one before it ended: no clock read, and no time, is lost between a session's calls", async () => {
    const random = { call: NATIVE.call.random, mechanism: 0, parameter: { kind: NATIVE.parameter.none }, input: NATIVE.input.none, outputBytes: [32], templates: [], readBack: -1 };
    const batch = await closedLoop(random, 200);
    expect(gapsNs(batch)).toEqual(Array(199).fill(0));
    expect(Math.min(...batch.latencyNs.subarray(0, 200))).toBeGreaterThan(0);
  });

  it("after a keygen the clock is read again: reading the key back and destroying it is in no call's latency", async () => {
    const keygen = {
      call: NATIVE.call.keygen,
      mechanism: Number(pkcs11js.CKM_EC_KEY_PAIR_GEN),
      parameter: { kind: NATIVE.parameter.none },
      input: NATIVE.input.none,
      outputBytes: [65, 67],
      templates: [
        [
          { type: pkcs11js.CKA_TOKEN, value: false },
          { type: pkcs11js.CKA_EC_PARAMS, value: P256 },
          { type: pkcs11js.CKA_VERIFY, value: true },
        ],
        [
          { type: pkcs11js.CKA_TOKEN, value: false },
          { type: pkcs11js.CKA_SIGN, value: true },
        ],
      ],
      readBack: pkcs11js.CKA_EC_POINT,
    };
    const batch = await closedLoop(keygen, 20);
    // C_GetAttributeValue and two C_DestroyObject calls come between one keygen's end and the next one's start.
    for (const gap of gapsNs(batch)) expect(gap).toBeGreaterThan(0);
  });
});
