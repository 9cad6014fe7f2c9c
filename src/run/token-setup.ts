import { backendFlags, tokenFlags } from '../plan/token-flags.js';
import type { RunEvent } from '../model/run-events.js';
import { loadavg } from 'node:os';
import { prepareEmbedded, restoreUserSoftHsmConf, type EmbeddedBackend } from '../keys/embedded-softhsm.js';
import { setupError } from '../core/errors.js';
import { selectTokens, tokenName, type TokenRef } from '../pkcs11/discovery.js';
import { operationByName } from '../operations/registry.js';
import { withPayload } from '../operations/payload.js';
import type { PreparedOperation } from '../operations/operation-kind.js';
import { finalizeOpenModules, hasOpenModules, Pkcs11Module } from '../pkcs11/module.js';
import { threadsLeftInModule } from '../measure/threads-left.js';
import { PinGuard } from '../pkcs11/pin-guard.js';
import type { TokenIdentity } from '../model/run-result.js';
import { readPin, type PinSource } from '../secrets/pin.js';
import type { RunPlan } from '../model/plan.js';
import { chooseEngine, type EngineChoice } from '../measure/native-engine.js';
import { calibrate } from '../measure/calibration.js';
import type { CallOverhead } from '../model/run-result.js';
import { TokenSetupThread } from './token-setup-thread.js';
import type { ConfigurationSpec, ReadyToken } from './run-configuration.js';
import type { Workload } from '../model/workload.js';
import { serialShown } from '../model/serial.js';
import type { TrialFaults } from './trial-call.js';

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
  /** The harness's per-call overhead on this host, measured after the set-up (null: --no-calibrate). */
  callOverhead: CallOverhead | null;
  /** The host's load average (1, 5, 15 min) before signing: a busy host measures slower, and compare says so. */
  loadAverage: number[];
}

/** The part of every configuration that the set-up decides: module, engine, PIN, operation. */
export function signingWith(setup: TokenSetup): Pick<ConfigurationSpec, 'modulePath' | 'engine' | 'instances' | 'pin' | 'pinGuard' | 'workload' | 'hostChecks' | 'uncheckedOperations'> {
  return {
    modulePath: setup.modulePath,
    engine: setup.engine.engine,
    instances: setup.mod.info.instances,
    pin: setup.pin,
    pinGuard: setup.pinGuard,
    workload: setup.workload,
    hostChecks: setup.operations.map((o) => o.check),
    uncheckedOperations: setup.operations.filter((o) => o.checkSkipped !== undefined).map((o) => o.timed.name),
  };
}

/** The workload handed `dataSizeBytes` per call (--data-size, in parts with --multipart): a configuration's; null: as set up. */
export function sizedWorkload(plan: RunPlan, workload: Workload, dataSizeBytes: number | null): Workload {
  if (dataSizeBytes === null) return workload;
  const payload = { dataBytes: dataSizeBytes, chunkBytes: plan.multipartChunkBytes };
  return { ...workload, operations: workload.operations.map((op, i) => withPayload(operationByName(op.name), plan.workload[i]!.algorithm, op, payload)) };
}

/**
 * A later run of a lab file: the earlier runs' modules are done with (their results are out), and are finalized
 * before this run loads its own. A library still initialized is shared by every later load of it in this process,
 * configuration and all: a SoftHSM2 left open under the user's SOFTHSM2_CONF made the embedded workspace's tokens in
 * the user's token directory (and presented the workspace's PIN to them); the other way round, a user's run saw
 * hsm-bench's own tokens.
 */
function releaseEarlierRuns(): void {
  if (!hasOpenModules()) return;
  if (threadsLeftInModule() > 0)
    throw setupError(
      'a call of an earlier run in this process never returned, so its module cannot be finalized before this run loads one',
      'run the rest of the lab file in a new process (--only NAME)',
    );
  finalizeOpenModules();
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
 * it; with --session-per-call it is closed once set up, so that each call's own session logs in again), finds the key pairs and makes a trial call on each token. The tokens' calls are made in a thread of their
 * own, each step bounded (token-setup-thread.ts): a token that does not answer is exit 3, named.
 */
export async function setUpTokens(
  plan: RunPlan,
  tokenCount: number,
  pinSource: PinSource,
  emit: (event: RunEvent) => void,
  resume?: ResumeTokens,
  trialFaults: TrialFaults = 'stop',
): Promise<TokenSetup> {
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
  releaseEarlierRuns();
  if (plan.backend.kind === 'module') restoreUserSoftHsmConf();
  // The key pairs the workload uses, each with the usage its operation needs (a mechanism as given uses the key it names, of a type hsm-bench cannot tell).
  const keyNeeds = plan.workload.flatMap((e) => {
    const usage = operationByName(e.operation).keyUsage?.(e.algorithm);
    return usage === undefined || e.asGiven ? [] : [{ alg: e.algorithm, label: e.keyLabel, usage }];
  });
  const embedded = plan.backend.kind === 'embedded' ? await prepareEmbedded(plan.backend.workspace, tokenCount, keyNeeds, emit) : undefined;
  const mod = await Pkcs11Module.open(embedded?.modulePath ?? (plan.backend as { path: string }).path);
  const modulePath = mod.info.path;
  // The module itself is finalized at the end of the command, after the error message or the results.
  const payloads = plan.dataSizesBytes === null ? null : { dataSizesBytes: plan.dataSizesBytes, chunkBytes: plan.multipartChunkBytes };
  const thread = new TokenSetupThread(
    { modulePath, instances: mod.info.instances, workload: plan.workload, payloads, trialFaults, tokenFlags: tokenFlags(plan.backend, plan.selection), backendFlags: backendFlags(plan.backend) },
    plan.callTimeoutMs,
    emit,
  );
  try {
    // A resumed run's tokens are named by its checkpoint: those it logged in to before.
    const candidates = selectTokens(await thread.listed(), resume ? { ...plan.selection, named: true } : plan.selection, tokenCount, mod.info);
    const tokens = resume ? sameTokens(candidates, resume.tokens) : candidates.slice(0, tokenCount);
    const pinGuard = new PinGuard(tokens.length, { allowFinalPinTry: pinSource.allowFinalPinTry === true });
    const pin = embedded?.pin ?? (tokens.some((t) => t.loginRequired) ? await readPin(pinSource) : null);
    const operations = (await thread.prepared({ tokens, pin, pinGuard: pinGuard.buffer, closeSessions: plan.perCall.session })).map((o) => ({ ...o, keyIds: o.keyIds.map((id) => Buffer.from(id)) }));
    const ready = tokens.map((token, index): ReadyToken => ({
      token,
      keyIds: operations.map((o) => o.keyIds[index]!),
      tables: operations.map((o) => o.prepared.tables[index] ?? null),
      trialCallNs: Math.max(...operations.map((o) => o.trialCallNs[index]!)),
    }));
    const workload: Workload = {
      operations: operations.map((o) => o.prepared.timed),
      cumulative: plan.workload.map((_, i) => plan.workload.slice(0, i + 1).reduce((sum, e) => sum + e.weight, 0)),
      perCall: plan.perCall,
    };
    const engine = chooseEngine(mod.info.instances, workload);
    if (engine.staleNativeLoop) emit({ type: 'native-loop-refused', why: engine.why });
    // Before any window, with the tokens idle: null calls make no PKCS#11 call, so no count of calls made changes.
    const callOverhead = plan.calibrate ? await calibrate(engine.engine, modulePath, workload) : null;
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
      callOverhead,
      loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    };
  } finally {
    thread.close();
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
    const name = `'${s.label}' (serial ${serialShown(s.serial)}, slot ${s.slotId} '${s.slotDescription}')`;
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
