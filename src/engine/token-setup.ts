import { prepareEmbedded, type EmbeddedBackend } from '../embedded/softhsm.js';
import { setupError } from '../errors.js';
import { listTokens, selectTokens, tokenName, type TokenRef } from '../pkcs11/discovery.js';
import { findKeyPair } from '../pkcs11/keys.js';
import { chooseSignMechanism, type SignMechanism } from '../pkcs11/mechanisms.js';
import { Pkcs11Module } from '../pkcs11/module.js';
import { login, openSession } from '../pkcs11/session.js';
import { readPin, type PinSource } from '../secrets/pin.js';
import { publicKeyFromAttributes } from '../verify/public-key.js';
import type { RunPlan } from './plan.js';
import type { ReadyToken } from './run-configuration.js';

/** The module opened, the tokens selected and logged in, the mechanism chosen: everything a run signs with. */
export interface TokenSetup {
  mod: Pkcs11Module;
  modulePath: string;
  embedded: EmbeddedBackend | undefined;
  tokens: TokenRef[];
  ready: ReadyToken[];
  mechanism: SignMechanism;
  /** The PIN, kept only for a burn-in worker to log in again after its token dropped the login. */
  pin: string | null;
  close(): void;
}

/**
 * Opens the module once (in the main thread), selects `tokenCount` tokens, logs each in once on a session kept
 * open for the whole run (closing a token's last session logs it out, pitfall 9), and finds the key pairs.
 */
export async function setUpTokens(plan: RunPlan, tokenCount: number, pinSource: PinSource, log: (line: string) => void, expectSerials?: string[]): Promise<TokenSetup> {
  const embedded = plan.backend.kind === 'embedded' ? prepareEmbedded(plan.backend.workspace, tokenCount, plan.algorithm, plan.keyLabel, log) : undefined;
  const modulePath = embedded?.modulePath ?? (plan.backend as { path: string }).path;
  const mod = Pkcs11Module.open(modulePath);
  const loginSessions: Buffer[] = [];
  const close = () => {
    for (const session of loginSessions) mod.lib.C_CloseSession(session);
    mod.close();
  };
  try {
    const candidates = selectTokens(listTokens(mod.lib), plan.selection, tokenCount);
    // A resumed burn-in signs on the very tokens it started with, found by serial.
    const tokens = expectSerials ? expectSerials.map((serial) => tokenBySerial(candidates, serial)) : candidates.slice(0, tokenCount);
    const mechanism = chooseSignMechanism(plan.mechanismChoice, tokens.map((t) => ({ name: tokenName(t), mechanisms: mod.lib.C_GetMechanismList(t.slot) })));
    const pin = embedded?.pin ?? (tokens.some((t) => t.loginRequired) ? await readPin(pinSource) : null);
    const ready = tokens.map((token): ReadyToken => {
      const session = openSession(mod.lib, token);
      loginSessions.push(session);
      if (token.loginRequired) login(mod.lib, session, token, pin!);
      const key = findKeyPair(mod.lib, session, token, plan.algorithm, plan.keyLabel);
      return { token, privateKey: key.privateKey, publicKey: publicKeyFromAttributes(key.publicKey) };
    });
    return { mod, modulePath, embedded, tokens, ready, mechanism, pin, close };
  } catch (error) {
    close();
    throw error;
  }
}

function tokenBySerial(tokens: TokenRef[], serial: string): TokenRef {
  const found = tokens.find((t) => t.serial === serial);
  if (!found) throw setupError(`the token with serial ${serial}, used by the run being resumed, is not among the selected tokens`, 'connect it again, or start a new run');
  return found;
}
