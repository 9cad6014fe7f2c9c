/**
 * The PKCS#11 part of a run's set-up, in a thread of its own: listing the tokens, a session on each and its login,
 * the keys, the operations prepared and a trial call on each token. Any of these calls may never return (a token
 * behind a busy reader, a module waiting for its server): here it holds this thread only, and the main thread,
 * which bounds each step (token-setup-thread.ts), names the token and ends the command, or honours a Ctrl-C.
 * The sessions stay open after a set-up that succeeded (closing a token's last session logs it out); the module's
 * C_Finalize at the end of the command closes them.
 */
import type { KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import pkcs11 from 'pkcs11js';
import { addSecret, commandLine, quote } from '../core/quote.js';
import { HsmBenchError, setupError } from '../core/errors.js';
import type { PrepareContext, PreparedOperation } from '../operations/operation-kind.js';
import { prepareAsGiven } from '../operations/as-given.js';
import { operationByName } from '../operations/registry.js';
import { moduleFailure } from '../model/ckr.js';
import { listTokens, tokenName, type TokenRef } from '../pkcs11/discovery.js';
import { defaultKeyLabel, findKeyPair, missingUsage, type KeyUsage } from '../pkcs11/keys.js';
import { mechanismList } from '../pkcs11/list-counts.js';
import { ModuleInstance } from '../pkcs11/module.js';
import type { ModuleInstances } from '../model/run-result.js';
import { PinGuard } from '../pkcs11/pin-guard.js';
import { closeSessionQuietly, login, openSession, PinRefusedError } from '../pkcs11/session.js';
import { publicKeyFromAttributes } from '../pkcs11/public-key.js';
import { trialCall, type TrialFaults } from './trial-call.js';
import { WrongAnswerError, type WrongAnswer } from '../model/wrong-answer.js';
import type { SetupStep } from '../model/run-events.js';
import type { WorkloadEntry } from '../model/plan.js';
import { withPayload } from '../operations/payload.js';

export interface SetupWorkerInput {
  modulePath: string;
  instances: ModuleInstances;
  workload: WorkloadEntry[];
  /** --data-size and --multipart: the operation is prepared for every size and tried with its largest (null: with its message). */
  payloads: PrepareContext['payloads'];
  /** What a trial call's failure that is not a refusal does (trial-call.ts). */
  trialFaults: TrialFaults;
  /**
   * The flags that point `hsm-bench keys` at the run's module and tokens, and at its module alone (a hint's command on
   * one token adds its --slots), for the commands the hints give (src/plan/token-flags.ts).
   */
  tokenFlags: string[];
  backendFlags: string[];
}

/**
 * The step in flight, for the main thread's bound and its messages. `token`: the index into the tokens of the
 * request (null: none in particular, or before they are chosen).
 */

/** The main thread's choice after the listing: the run's tokens, the PIN (null: none needs one) and the run's PIN guard. */
export interface SetupRequest {
  tokens: TokenRef[];
  pin: string | null;
  pinGuard: SharedArrayBuffer;
  /** Close the set-up's sessions once done (--session-per-call: a session kept open would keep the token logged in). */
  closeSessions: boolean;
}

/** Per operation of the workload: as prepared, its key pair's CKA_ID per token, and how long each token's trial call took. */
export interface PreparedEntry {
  prepared: PreparedOperation;
  keyIds: Uint8Array[];
  trialCallNs: number[];
}

/** An error as it crosses to the main thread, which throws it again (token-setup-thread.ts). */
export type SetupError =
  | { kind: 'hsm-bench'; message: string; hint?: string; exitCode: HsmBenchError['exitCode']; pinRefusedToken?: number; wrongAnswer?: WrongAnswer }
  | { kind: 'module'; code: number; method: string }
  | { kind: 'other'; message: string; stack?: string };

export type SetupReply =
  { type: 'step'; step: SetupStep; token: number | null } | { type: 'listed'; tokens: TokenRef[] } | { type: 'prepared'; operations: PreparedEntry[] } | { type: 'failed'; error: SetupError };

const input = workerData as SetupWorkerInput;
const port = parentPort!;
const say = (m: SetupReply) => port.postMessage(m);
const step = (s: SetupStep, token: number | null = null) => say({ type: 'step', step: s, token });

function asSetupError(error: unknown): SetupError {
  if (error instanceof HsmBenchError) {
    return {
      kind: 'hsm-bench',
      message: error.message,
      hint: error.hint,
      exitCode: error.exitCode,
      ...(error instanceof PinRefusedError ? { pinRefusedToken: error.token } : {}),
      ...(error instanceof WrongAnswerError ? { wrongAnswer: error.wrongAnswer } : {}),
    };
  }
  const failure = moduleFailure(error);
  if (failure) return { kind: 'module', ...failure };
  return { kind: 'other', message: (error as Error)?.message ?? String(error), stack: (error as Error)?.stack };
}

/** The key pair --key-label names on a token, checked for the usage the operation needs. */
function findUsableKeyPair(lib: pkcs11.PKCS11, entry: WorkloadEntry, usage: KeyUsage, token: TokenRef, session: Buffer) {
  const key = findKeyPair(lib, session, token, entry.algorithm, entry.keyLabel, usage, input.tokenFlags);
  const missing = missingUsage(lib, session, key, usage);
  if (missing !== null) {
    // Created on the run's tokens (keys create leaves those that have the label alone); deleted on this token only.
    const create = commandLine('hsm-bench', 'keys', 'create', ...input.tokenFlags, '--alg', entry.algorithm.id, '--usage', usage);
    throw setupError(
      `key ${quote(entry.keyLabel)} on token ${tokenName(token)} cannot ${usage}: ${missing} is false`,
      entry.keyLabel === defaultKeyLabel(entry.algorithm, usage)
        ? `delete it (${commandLine('hsm-bench', 'keys', 'delete', ...input.backendFlags, '--slots', token.slotId, '--label', entry.keyLabel)}) and make one for it: ${create}`
        : `make one for it: ${create}, then run with --key-label ${defaultKeyLabel(entry.algorithm, usage)}`,
    );
  }
  return { id: key.id, privateKey: key.privateKey, publicKey: publicKeyFromAttributes(key.publicKey) };
}

/**
 * One operation of the workload on the run's tokens (logged in, `sessions`): its key pair found on each and checked
 * for the usage, its inputs and host check prepared, and one trial call on each token.
 */
function prepareOperation(lib: pkcs11.PKCS11, entry: WorkloadEntry, tokens: readonly TokenRef[], sessions: readonly Buffer[], pinGuard: PinGuard): PreparedEntry {
  const op = operationByName(entry.operation);
  // Found when the operation first asks, after it has checked its mechanisms: a token that lacks the mechanism is
  // told so, not sent to create a key it could not use.
  const found = new Map<number, { id: Buffer; privateKey: Buffer; publicKey: KeyObject }>();
  const keyOf = (index: number) => {
    if (!found.has(index)) {
      step('key', index);
      found.set(index, findUsableKeyPair(lib, entry, op.keyUsage!(entry.algorithm)!, tokens[index]!, sessions[index]!));
      step('prepare');
    }
    return found.get(index)!;
  };
  const withMechanisms = tokens.map((token, index) => {
    step('mechanisms', index);
    return { token, index, mechanisms: mechanismList(lib, token.slot) };
  });
  step('prepare');
  const ctx: PrepareContext = {
    lib,
    algorithm: entry.algorithm,
    mechanismChoice: entry.mechanismChoice,
    keyLabel: entry.keyLabel,
    payloads: input.payloads,
    tokens: withMechanisms.map(({ token, index, mechanisms }) => ({
      name: tokenName(token),
      session: sessions[index]!,
      mechanisms,
      get keyPair() {
        return op.keyUsage?.(entry.algorithm) === undefined ? undefined : keyOf(index);
      },
    })),
  };
  // A mechanism as given finds its key by label whatever its type: no key pair of --alg is looked for.
  const asGiven = entry.asGiven ? prepareAsGiven(op, entry.asGiven, ctx) : null;
  const prepared = asGiven?.prepared ?? op.prepare(ctx);
  const keyIds = asGiven?.keyIds ?? tokens.map((_, index) => (op.keyUsage?.(entry.algorithm) === undefined ? Buffer.alloc(0) : keyOf(index).id));
  const p = input.payloads;
  const sized = p === null ? prepared : { ...prepared, timed: withPayload(op, entry.algorithm, prepared.timed, { dataBytes: Math.max(...p.dataSizesBytes), chunkBytes: p.chunkBytes }) };
  const trialCallNs = trialCall(
    lib,
    op,
    sized,
    tokens.map((token, index) => ({ token, keyId: keyIds[index]! })),
    pinGuard,
    (s, token) => step(s, token),
    input.trialFaults,
  );
  return { prepared: sized, keyIds, trialCallNs };
}

let instance: ModuleInstance | undefined;
const sessions: Buffer[] = [];

/** Sessions on the run's tokens, each logged in once, then every operation prepared and tried. */
function prepareAll(request: SetupRequest): PreparedEntry[] {
  const tokens = request.tokens.map((t) => ({ ...t, slot: Buffer.from(t.slot) }));
  if (request.pin !== null) addSecret(request.pin);
  const pinGuard = new PinGuard(request.pinGuard);
  const lib = instance!.lib;
  for (const [index, token] of tokens.entries()) {
    step('session', index);
    const session = openSession(lib, token);
    sessions.push(session);
    if (token.loginRequired) {
      step('login', index);
      login(lib, session, token, request.pin!, { guard: pinGuard, token: index });
    }
  }
  const prepared = input.workload.map((entry) => prepareOperation(lib, entry, tokens, sessions, pinGuard));
  if (request.closeSessions) for (const session of sessions.splice(0)) closeSessionQuietly(lib, session);
  return prepared;
}

function failed(error: unknown): void {
  for (const session of sessions) closeSessionQuietly(instance!.lib, session);
  say({ type: 'failed', error: asSetupError(error) });
}

try {
  step('listing');
  instance = ModuleInstance.load(input.modulePath, input.instances);
  say({ type: 'listed', tokens: listTokens(instance.lib) });
  port.once('message', (request: SetupRequest) => {
    try {
      say({ type: 'prepared', operations: prepareAll(request) });
    } catch (error) {
      failed(error);
    }
  });
} catch (error) {
  failed(error);
}
