import { loadavg } from 'node:os';
import { prepareEmbedded, restoreUserSoftHsmConf, type EmbeddedBackend } from '../embedded/softhsm.js';
import { setupError } from '../errors.js';
import { listTokens, selectTokens, tokenName, type TokenRef } from '../pkcs11/discovery.js';
import { defaultKeyLabel, findKeyPair, missingUsage } from '../pkcs11/keys.js';
import { operationByName } from '../operations/registry.js';
import type { PreparedOperation } from '../operations/operation-kind.js';
import { Pkcs11Module } from '../pkcs11/module.js';
import { PinGuard } from '../pkcs11/pin-guard.js';
import { closeSessionQuietly, login, openSession } from '../pkcs11/session.js';
import type { TokenIdentity } from '../result/run-result.js';
import { readPin, type PinSource } from '../secrets/pin.js';
import { publicKeyFromAttributes } from '../verify/public-key.js';
import type { RunPlan } from './plan.js';
import { chooseEngine, type Engine } from './native-signers.js';
import { trialCall } from './trial-call.js';
import type { ConfigurationSpec, ReadyToken } from './run-configuration.js';

/** The module opened, the tokens selected and logged in, the mechanism chosen: everything a run signs with. */
export interface TokenSetup {
  mod: Pkcs11Module;
  modulePath: string;
  embedded: EmbeddedBackend | undefined;
  /** The run's tokens: a token's index here is its identity in run.json, the records and the checkpoint. */
  tokens: TokenRef[];
  ready: ReadyToken[];
  /** The operation as its seam prepared it: the timed call, the tokens' input tables, the host check. */
  operation: PreparedOperation;
  /** The PIN, kept only for workers that must log in on their own (own module instance, token re-plugged). */
  pin: string | null;
  pinGuard: PinGuard;
  /** What runs the timed loop, and why (run.json states both). */
  engine: { engine: Engine; why: string };
  /** The host's load average (1, 5, 15 min) before signing: a busy host measures slower, and compare says so. */
  loadAverage: number[];
  close(): void;
}

/** The part of every configuration that the set-up decides: module, engine, PIN, operation. */
export function signingWith(setup: TokenSetup): Pick<ConfigurationSpec, 'modulePath' | 'engine' | 'instances' | 'pin' | 'pinGuard' | 'operation' | 'hostCheck'> {
  return {
    modulePath: setup.modulePath,
    engine: setup.engine.engine,
    instances: setup.mod.info.instances,
    pin: setup.pin,
    pinGuard: setup.pinGuard,
    operation: setup.operation.timed,
    hostCheck: setup.operation.check,
  };
}

/** A resumed run: the tokens it had, and those whose PIN failed (never presented again). */
export interface ResumeTokens {
  tokens: TokenIdentity[];
  pinRefused: number[];
}

/**
 * Opens the module once (in the main thread), selects `tokenCount` tokens, logs each in once on a session kept
 * open for the whole run (closing a token's last session logs it out), and finds the key pairs.
 */
export async function setUpTokens(plan: RunPlan, tokenCount: number, pinSource: PinSource, log: (line: string) => void, resume?: ResumeTokens): Promise<TokenSetup> {
  // Refused in an earlier segment: stopped before the module is even loaded, let alone the PIN presented.
  const refused = resume?.pinRefused[0];
  if (refused !== undefined) {
    throw setupError(
      `the PIN failed on token ${tokenName(resume!.tokens[refused]!)} during the run being resumed; hsm-bench does not present it again`,
      'check the PIN and the token, then start a new burn-in',
    );
  }
  if (plan.backend.kind === 'module') restoreUserSoftHsmConf();
  const embedded =
    plan.backend.kind === 'embedded'
      ? prepareEmbedded(
          plan.backend.workspace,
          tokenCount,
          operationByName(plan.operation).keyUsage === undefined ? null : { alg: plan.algorithm, label: plan.keyLabel, usage: operationByName(plan.operation).keyUsage! },
          log,
        )
      : undefined;
  const mod = Pkcs11Module.open(embedded?.modulePath ?? (plan.backend as { path: string }).path);
  const modulePath = mod.info.path;
  const loginSessions: Buffer[] = [];
  const close = () => {
    for (const session of loginSessions) closeSessionQuietly(mod.lib, session);
    mod.close();
  };
  try {
    const candidates = selectTokens(listTokens(mod.lib), plan.selection, tokenCount, mod.info);
    const tokens = resume ? sameTokens(candidates, resume.tokens) : candidates.slice(0, tokenCount);
    const pinGuard = new PinGuard(tokens.length);
    const op = operationByName(plan.operation);
    const pin = embedded?.pin ?? (tokens.some((t) => t.loginRequired) ? await readPin(pinSource) : null);
    const opened = tokens.map((token, index) => {
      const session = openSession(mod.lib, token);
      loginSessions.push(session);
      if (token.loginRequired) login(mod.lib, session, token, pin!, { guard: pinGuard, token: index });
      if (op.keyUsage === undefined) return { token, session, key: undefined };
      const key = findKeyPair(mod.lib, session, token, plan.algorithm, plan.keyLabel);
      const missing = missingUsage(mod.lib, session, key, op.keyUsage);
      if (missing !== null) {
        throw setupError(
          `key '${plan.keyLabel}' on token ${tokenName(token)} cannot ${op.keyUsage}: ${missing} is false`,
          `create one with 'hsm-bench keys create --alg ${plan.algorithm.id} --usage ${op.keyUsage}' and run with --key-label ${defaultKeyLabel(plan.algorithm, op.keyUsage)}`,
        );
      }
      return { token, session, key: { ...key, publicKeyObject: publicKeyFromAttributes(key.publicKey) } };
    });
    const operation = op.prepare({
      lib: mod.lib,
      algorithm: plan.algorithm,
      mechanismChoice: plan.mechanismChoice,
      keyLabel: plan.keyLabel,
      tokens: opened.map((o) => ({
        name: tokenName(o.token),
        session: o.session,
        mechanisms: mod.lib.C_GetMechanismList(o.token.slot),
        keyPair: o.key && { privateKey: o.key.privateKey, publicKey: o.key.publicKeyObject },
      })),
    });
    trialCall(
      mod.lib,
      op,
      operation,
      opened.map((o) => ({ token: o.token, keyId: o.key?.id ?? Buffer.alloc(0) })),
      pinGuard,
      operation.timed.maxOutputBytes,
    );
    const ready = opened.map((o, index): ReadyToken => ({ token: o.token, keyId: o.key?.id ?? Buffer.alloc(0), publicKey: o.key?.publicKeyObject ?? null, table: operation.tables[index]! }));
    return {
      mod,
      modulePath,
      embedded,
      tokens,
      ready,
      operation,
      pin,
      pinGuard,
      engine: chooseEngine(mod.info.instances, operation.timed),
      loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
      close,
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
