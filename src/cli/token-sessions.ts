import { listTokens, selectTokens, type TokenRef } from '../pkcs11/discovery.js';
import { Pkcs11Module } from '../pkcs11/module.js';
import { PinGuard } from '../pkcs11/pin-guard.js';
import { closeSessionQuietly, login, openSession } from '../pkcs11/session.js';
import { tokenSelection } from '../engine/plan.js';
import { resolveBackend, type TokenOptions } from './token-options.js';

export interface TokenSession {
  token: TokenRef;
  session: Buffer;
}

/**
 * Opens the selected tokens with a logged-in read-write session each, runs `work`, then closes everything.
 * Used by the key commands; a PIN failure stops before any token is changed (login() never retries it).
 */
export async function withTokenSessions<T>(o: TokenOptions, work: (mod: Pkcs11Module, sessions: TokenSession[], pin: string | undefined) => Promise<T> | T): Promise<T> {
  const selection = tokenSelection(o);
  const backend = resolveBackend(o);
  const mod = Pkcs11Module.open(backend.modulePath);
  const sessions: TokenSession[] = [];
  try {
    const tokens = selectTokens(listTokens(mod.lib), selection, 1, mod.info);
    const pin = tokens.some((t) => t.loginRequired) ? await backend.pin() : undefined;
    const guard = new PinGuard(tokens.length);
    for (const [index, token] of tokens.entries()) {
      const session = openSession(mod.lib, token, true);
      sessions.push({ token, session });
      if (token.loginRequired) login(mod.lib, session, token, pin!, { guard, token: index });
    }
    return await work(mod, sessions, pin);
  } finally {
    // The module itself is finalized at the end of the command, after everything is printed.
    for (const s of sessions) closeSessionQuietly(mod.lib, s.session);
  }
}
