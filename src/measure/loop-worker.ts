/**
 * One loop worker: a thread with its own session on one token, calling in a loop with synchronous pkcs11js
 * calls. Why threads with sync calls: on this 2-core machine they match a C pthread loop (bench/c-vs-harness:
 * 0.98–1.03) and a child process per token (bench/concurrency-models: 0.98), while the async API reaches only
 * 0.66 and its latency would include libuv queue wait (bench/README.md).
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { ckrOf } from '../model/ckr.js';
import { ModuleInstance } from '../pkcs11/module.js';
import { type ModuleInstances } from '../model/run-result.js';
import { PinGuard } from '../pkcs11/pin-guard.js';
import { TokenConnection, type ConnectOutcome } from '../pkcs11/token-connection.js';
import { NOT_A_CKR } from '../model/record-status.js';
import { BATCH_CAPACITY, StagedBatch, type CallBatch } from '../model/call-batch.js';
import { RunControl } from './control.js';
import type { InputTable } from '../model/workload.js';
import { jsTimedCall } from '../pkcs11/timed-call.js';
import { ABANDONED, boundedConnect, callLoop, hrtimeClock, type CallLoopInput, type LoopCalls, type LoopWorkerMessage } from './call-loop.js';

export interface LoopWorkerInput extends CallLoopInput {
  modulePath: string;
  /** Whether each load of the module is an instance of its own, to initialize (see ModuleInstance). */
  instances: ModuleInstances;
  /** The token's index in the run, for the PIN guard. */
  token: number;
  slot: Uint8Array;
  /** Null for a token that needs no login. */
  pin: string | null;
  pinGuard: SharedArrayBuffer;
  keyIds: Uint8Array[];
  tables: (InputTable | null)[];
  control: SharedArrayBuffer;
  /** The batch being filled, shared with the main thread (which takes it should a call never return), and its room per kept output. */
  staging: SharedArrayBuffer;
  keptBytes: number;
  /** Where the recorder sends recorded batches back for reuse. */
  recycle: MessagePort;
}

const input = workerData as LoopWorkerInput;
const port = parentPort!;
const post = (m: LoopWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

/**
 * The loop's calls on the session of `connection`, through pkcs11js. With --session-per-call each call opens the
 * session (logging in where the token is logged out: closing the last session logged it out), finds its key and
 * closes the session after; with --find-key-per-call it finds its key in the pooled session. A PIN refused or
 * withheld there loses the token for good: the guard never lets it be presented again.
 */
function pkcs11Calls(lib: ModuleInstance['lib'], connection: TokenConnection): LoopCalls {
  const timed = input.workload.operations.map((op, i) => jsTimedCall(lib, op, input.messageSeed, input.tables[i] ?? null));
  const perCall = input.workload.perCall;
  let outputLength: number | null = 0;
  let lost: string | undefined;
  /** The status of a call whose session or key could not be had. */
  const unconnected = (outcome: Exclude<ConnectOutcome, { ok: true }>) => {
    if (outcome.reason === 'pin-refused' || outcome.reason === 'pin-withheld') lost = outcome.detail;
    if (outcome.reason === 'pin-refused') post({ type: 'pin-refused' });
    return outcome.code ?? NOT_A_CKR;
  };
  return {
    call: (op, sequence, out) => {
      const held = perCall?.session ? connection.open() : perCall?.findKey ? connection.findKeys() : ({ ok: true } as const);
      if (!held.ok) {
        if (perCall?.session) connection.close();
        return unconnected(held);
      }
      try {
        outputLength = timed[op]!.call(connection.session!, connection.keys![op]!, sequence, out);
        return 0;
      } catch (error) {
        return ckrOf(error) ?? NOT_A_CKR;
      } finally {
        if (perCall?.session) connection.close();
      }
    },
    lost: () => lost,
    finish: (op, out) => {
      const finishing = timed[op]!.finish;
      if (finishing === undefined) return 0;
      try {
        outputLength = finishing(connection.session!, out);
        return 0;
      } catch (error) {
        return ckrOf(error) ?? NOT_A_CKR;
      }
    },
    get outputLength() {
      return outputLength;
    },
    connect: () => connection.connect(),
  };
}

function run(): void {
  const control = new RunControl(input.control);
  let instance: ModuleInstance;
  try {
    instance = ModuleInstance.load(input.modulePath, input.instances);
  } catch (error) {
    post({ type: 'failed', message: `cannot load the module: ${(error as Error).message}` });
    return;
  }
  const connection = new TokenConnection(
    instance.lib,
    Buffer.from(input.slot),
    input.pin,
    { guard: new PinGuard(input.pinGuard), token: input.token },
    input.workload.operations.map((op, i) => ({ key: op.key, id: Buffer.from(input.keyIds[i]!) })),
  );
  // Whatever happens while calling, the session is closed and an instance of the worker's own is finalized; but a
  // worker whose call was abandoned (it came back too late) leaves both alone: the run may be writing its results.
  let outcome: string | undefined | typeof ABANDONED;
  try {
    const first = boundedConnect(control, input.worker, hrtimeClock(control), () =>
      connection.connectAtStart(
        (ms) => control.sleep(ms),
        () => instance.renew(),
      ),
    );
    if (first === ABANDONED) outcome = ABANDONED;
    else if (!first.ok) post({ type: 'failed', message: first.detail });
    else {
      // Each call opens its own: a session held here would keep the token logged in.
      if (input.workload.perCall?.session) connection.close();
      const batches = {
        staged: new StagedBatch(input.staging, input.worker, BATCH_CAPACITY, input.keptBytes),
        recycled: () => receiveMessageOnPort(input.recycle)?.message as CallBatch | undefined,
        post,
      };
      outcome = callLoop(input, pkcs11Calls(instance.lib, connection), control, hrtimeClock(control), batches);
      if (outcome !== ABANDONED) post({ type: 'done', gaveUp: outcome });
    }
  } finally {
    if (outcome !== ABANDONED) {
      connection.close();
      instance.close();
    }
  }
}

run();
