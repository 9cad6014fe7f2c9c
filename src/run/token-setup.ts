import type { RunEvent } from '../model/run-events.js';
import type { KeyObject } from 'node:crypto';
import { loadavg } from 'node:os';
import { prepareEmbedded, restoreUserSoftHsmConf, type EmbeddedBackend } from '../keys/embedded-softhsm.js';
import { setupError } from '../core/errors.js';
import { listTokens, selectTokens, tokenName, type TokenRef } from '../pkcs11/discovery.js';
import { defaultKeyLabel, findKeyPair, missingUsage, type KeyUsage } from '../pkcs11/keys.js';
import { operationByName } from '../operations/registry.js';
import type { PreparedOperation } from '../operations/operation-kind.js';
import { Pkcs11Module } from '../pkcs11/module.js';
import { PinGuard } from '../pkcs11/pin-guard.js';
import { closeSessionQuietly, login, openSession } from '../pkcs11/session.js';
import type { TokenIdentity } from '../model/run-result.js';
import { readPin, type PinSource } from '../secrets/pin.js';
import { publicKeyFromAttributes } from '../pkcs11/public-key.js';
import type { RunPlan } from '../model/plan.js';
import { chooseEngine, type EngineChoice } from '../measure/native-engine.js';
import { threadsLeftInModule } from '../measure/threads-left.js';
import { trialCall } from './trial-call.js';
import type { ConfigurationSpec, ReadyToken } from './run-configuration.js';
import type { Workload } from '../model/workload.js';
import type { WorkloadEntry } from '../model/plan.js';
import { quote } from '../core/quote.js';
import { mechanismList } from '../pkcs11/list-counts.js';

/** The module opened, the tokens selected and logged in, the mechanism chosen: everything a run signs with. */
export interface TokenSetup {
  mod: Pkcs11Module;
  modulePath: string;
  embedded: EmbeddedBackend | undefined;
  /** The run's tokens: a token's index here is its identity in run.json, the records and the checkpoint. */
  tokens: TokenRef[];
  ready: ReadyToken[];
  /** Each operation of the workload as its seam prepared it: the timed call, the tokens' input tables, the host check. */
  operations: PreparedOperation[];
  /** What the timed loop runs: the operations and their weights. */
  workload: Workload;
  /** The PIN, kept only for workers that must log in on their own (own module instance, token re-plugged). */
  pin: string | null;
  pinGuard: PinGuard;
  /** What runs the timed loop, and why (run.json states both). */
  engine: EngineChoice;
  /** The host's load average (1, 5, 15 min) before signing: a busy host measures slower, and compare says so. */
  loadAverage: number[];
}

/** The part of every configuration that the set-up decides: module, engine, PIN, operation. */
export function signingWith(setup: TokenSetup): Pick<ConfigurationSpec, 'modulePath' | 'engine' | 'instances' | 'pin' | 'pinGuard' | 'workload' | 'hostChecks'> {
  return {
    modulePath: setup.modulePath,
    engine: setup.engine.engine,
    instances: setup.mod.info.instances,
    pin: setup.pin,
    pinGuard: setup.pinGuard,
    workload: setup.workload,
    hostChecks: setup.operations.map((o) => o.check),
  };
}

/**
 * One operation of the workload on the run's tokens (logged in, `sessions`): its key pair found on each and checked
 * for the usage, its inputs and host check prepared, and one trial call on each token.
 */
function prepareOperation(
  mod: Pkcs11Module,
  entry: WorkloadEntry,
  tokens: readonly TokenRef[],
  sessions: readonly Buffer[],
  pinGuard: PinGuard,
): { prepared: PreparedOperation; keyIds: Buffer[]; trialCallNs: number[] } {
  const op = operationByName(entry.operation);
  // Found when the operation first asks, after it has checked its mechanisms: a token that lacks the mechanism is
  // told so, not sent to create a key it could not use.
  const found = new Map<number, { id: Buffer; privateKey: Buffer; publicKey: KeyObject }>();
  const keyOf = (index: number) => {
    if (!found.has(index)) found.set(index, findUsableKeyPair(mod, entry, op.keyUsage!, tokens[index]!, sessions[index]!));
    return found.get(index)!;
  };
  const prepared = op.prepare({
    lib: mod.lib,
    algorithm: entry.algorithm,
    mechanismChoice: entry.mechanismChoice,
    keyLabel: entry.keyLabel,
    tokens: tokens.map((token, index) => ({
      name: tokenName(token),
      session: sessions[index]!,
      mechanisms: mechanismList(mod.lib, token.slot),
      get keyPair() {
        return op.keyUsage === undefined ? undefined : keyOf(index);
      },
    })),
  });
  const keyIds = tokens.map((_, index) => (op.keyUsage === undefined ? Buffer.alloc(0) : keyOf(index).id));
  const trialCallNs = trialCall(
    mod.lib,
    op,
    prepared,
    tokens.map((token, index) => ({ token, keyId: keyIds[index]! })),
    pinGuard,
  );
  return { prepared, keyIds, trialCallNs };
}

/** The key pair --key-label names on a token, checked for the usage the operation needs. */
function findUsableKeyPair(mod: Pkcs11Module, entry: WorkloadEntry, usage: KeyUsage, token: TokenRef, session: Buffer) {
  const key = findKeyPair(mod.lib, session, token, entry.algorithm, entry.keyLabel, usage);
  const missing = missingUsage(mod.lib, session, key, usage);
  if (missing !== null) {
    throw setupError(
      `key ${quote(entry.keyLabel)} on token ${tokenName(token)} cannot ${usage}: ${missing} is false`,
      entry.keyLabel === defaultKeyLabel(entry.algorithm, usage)
        ? `delete it (hsm-bench keys delete --label ${entry.keyLabel}) and make one for it: hsm-bench keys create --alg ${entry.algorithm.id} --usage ${usage}`
        : `make one for it: hsm-bench keys create --alg ${entry.algorithm.id} --usage ${usage}, then run with --key-label ${defaultKeyLabel(entry.algorithm, usage)}`,
    );
  }
  return { id: key.id, privateKey: key.privateKey, publicKey: publicKeyFromAttributes(key.publicKey) };
}

/** A resumed run: the tokens it had, and those whose PIN failed (presented again only with `pinCorrected`). */
export interface ResumeTokens {
  tokens: TokenIdentity[];
  pinRefused: number[];
  /** The user says the PIN was corrected (--pin-corrected): it is presented, once, to the tokens that refused one. */
  pinCorrected: boolean;
}

/**
 * Opens the module once (in the main thread), selects `tokenCount` tokens, logs each in once on a session kept
 * open for the whole run (closing a token's last session logs it out; C_Finalize at the end of the command closes
 * it), and finds the key pairs.
 */
export async function setUpTokens(plan: RunPlan, tokenCount: number, pinSource: PinSource, emit: (event: RunEvent) => void, resume?: ResumeTokens): Promise<TokenSetup> {
  // Refused in an earlier segment: stopped before the module is even loaded, let alone the PIN presented. hsm-bench
  // keeps no trace of a PIN (not even a hash, which a short PIN cannot hide), so it cannot tell whether the PIN given
  // now is another one: only the user can say so, and a wrong one costs the token a try.
  const refused = resume?.pinRefused ?? [];
  if (refused.length > 0 && !resume!.pinCorrected) {
    const names = refused.map((t) => tokenName(resume!.tokens[t]!)).join(', ');
    throw setupError(
      `the PIN was refused by token ${names} during the run being resumed; hsm-bench does not present a refused PIN again on its own`,
      "if the PIN given now is the right one (the variable or file corrected, or the token's PIN reset), resume with --pin-corrected: it is presented once to that token (a token locks after a few wrong tries); otherwise start a new burn-in",
    );
  }
  if (refused.length > 0) emit({ type: 'pin-presented-again', tokens: refused.map((t) => tokenName(resume!.tokens[t]!)) });
  if (plan.backend.kind === 'module') restoreUserSoftHsmConf();
  // The key pairs the workload uses, each with the usage its operation needs.
  const keyNeeds = plan.workload.flatMap((e) => {
    const usage = operationByName(e.operation).keyUsage;
    return usage === undefined ? [] : [{ alg: e.algorithm, label: e.keyLabel, usage }];
  });
  const embedded = plan.backend.kind === 'embedded' ? prepareEmbedded(plan.backend.workspace, tokenCount, keyNeeds, emit) : undefined;
  const mod = Pkcs11Module.open(embedded?.modulePath ?? (plan.backend as { path: string }).path);
  const modulePath = mod.info.path;
  const loginSessions: Buffer[] = [];
  // The module itself is finalized at the end of the command, after the error message or the results.
  const close = () => {
    // A thread left inside the module (a call that never returned) may hold what C_CloseSession or C_Finalize
    // would wait for, or use what they free: the module is left as it is, and the process leaves without it.
    if (threadsLeftInModule() > 0) return;
    for (const session of loginSessions) closeSessionQuietly(mod.lib, session);
  };
  try {
    // A resumed run's tokens are named by its checkpoint: those it logged in to before.
    const candidates = selectTokens(listTokens(mod.lib), resume ? { ...plan.selection, named: true } : plan.selection, tokenCount, mod.info);
    const tokens = resume ? sameTokens(candidates, resume.tokens) : candidates.slice(0, tokenCount);
    const pinGuard = new PinGuard(tokens.length, { allowFinalPinTry: pinSource.allowFinalPinTry === true });
    const pin = embedded?.pin ?? (tokens.some((t) => t.loginRequired) ? await readPin(pinSource) : null);
    const sessions = tokens.map((token, index) => {
      const session = openSession(mod.lib, token);
      loginSessions.push(session);
      if (token.loginRequired) login(mod.lib, session, token, pin!, { guard: pinGuard, token: index });
      return session;
    });
    const operations = plan.workload.map((entry) => prepareOperation(mod, entry, tokens, sessions, pinGuard));
    const ready = tokens.map((token, index): ReadyToken => ({
      token,
      keyIds: operations.map((o) => o.keyIds[index]!),
      tables: operations.map((o) => o.prepared.tables[index] ?? null),
      trialCallNs: Math.max(...operations.map((o) => o.trialCallNs[index]!)),
    }));
    const workload: Workload = {
      operations: operations.map((o) => o.prepared.timed),
      cumulative: plan.workload.map((_, i) => plan.workload.slice(0, i + 1).reduce((sum, e) => sum + e.weight, 0)),
    };
    const engine = chooseEngine(mod.info.instances, workload);
    if (engine.staleNativeLoop) emit({ type: 'native-loop-refused', why: engine.why });
    return {
      mod,
      modulePath,
      embedded,
      tokens,
      ready,
      operations: operations.map((o) => o.prepared),
      workload,
      pin,
      pinGuard,
      engine,
      loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    };
  } catch (error) {
    close();
    throw error;
  }
}

type Kind = Pick<TokenIdentity, 'label' | 'serial' | 'manufacturer' | 'model'>;
const sameKind = (t: Kind, s: Kind) => t.label === s.label && t.serial === s.serial && t.manufacturer === s.manufacturer && t.model === s.model;
const sameSlot = (t: TokenRef, s: TokenIdentity) => t.slotId === s.slotId && t.slotDescription === s.slotDescription;

/**
 * The tokens of a run being resumed, in the run's order. A token whose label, serial, manufacturer and model are
 * unique (among the run's tokens and those present) is found wherever it is now; identical tokens are told apart
 * only by their slot, and must be in the same slot as before.
 */
export function sameTokens(candidates: TokenRef[], saved: TokenIdentity[]): TokenRef[] {
  const taken = new Set<TokenRef>();
  return saved.map((s) => {
    const alike = candidates.filter((t) => sameKind(t, s));
    const unique = alike.length === 1 && saved.filter((o) => sameKind(o, s)).length === 1;
    const found = unique ? alike : alike.filter((t) => sameSlot(t, s));
    const name = `'${s.label}' (serial ${s.serial}, slot ${s.slotId} '${s.slotDescription}')`;
    if (found.length === 0) {
      throw setupError(
        `token ${name} of the run being resumed is not ${alike.length > 0 ? 'in its slot' : 'present'}`,
        alike.length > 0 ? 'identical tokens are told apart by their slot: put it back where it was, or start a new run' : 'connect it again, or start a new run',
      );
    }
    if (found.length > 1 || taken.has(found[0]!)) {
      throw setupError(`cannot tell which present token is ${name} of the run being resumed`, 'identical tokens must stay in the same slots across a resume; start a new run');
    }
    taken.add(found[0]!);
    return found[0]!;
  });
}
