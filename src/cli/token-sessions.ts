import { listTokens, selectTokens, type TokenRef } from '../pkcs11/discovery.js';
import { Pkcs11Module } from '../pkcs11/module.js';
import { PinGuard } from '../pkcs11/pin-guard.js';
import { closeSessionQuietly, login, openSession } from '../pkcs11/session.js';
import { backendOf, tokenSelection } from '../plan/plan.js';
import { backendFlags } from '../plan/token-flags.js';
import { planInputFromFlags } from '../plan/plan-flags.js';
import { resolveBackend, type TokenOptions } from './token-options.js';

export interface TokenSession {
  token: TokenRef;
  session: Buffer;
  /** The flags that name this token in another command a hint gives: its module (or workspace), and its slot. */
  flags: string[];
}

/**
 * Which of the selected tokens a command works on, when its own flags name them (keys clone --from/--to): only
 * those are logged in to, and no selection flag is needed to name them.
 */
export type TokenPick = (selected: TokenRef[]) => TokenRef[];

/**
 * Opens the selected tokens (or those `pick` takes of them) with a logged-in read-write session each, runs
 * `work`, then closes everything. Used by the key commands; a PIN failure stops before any token is changed
 * (login() never retries it), and no PIN goes to a token the user did not name (selectTokens). `checkFirst` runs once
 * the first token is logged in, before the PIN goes to any other: what only the first token can refuse (a clone's
 * source key) costs no other token a try of its PIN.
 */
export async function withTokenSessions<T>(
  o: TokenOptions,
  work: (mod: Pkcs11Module, sessions: TokenSession[], pin: string | undefined) => Promise<T> | T,
  pick?: TokenPick,
  checkFirst?: (mod: Pkcs11Module, first: TokenSession) => void,
): Promise<T> {
  const selection = tokenSelection(planInputFromFlags({ ...o }));
  const backend = resolveBackend(o);
  const mod = await Pkcs11Module.open(backend.modulePath);
  const sessions: TokenSession[] = [];
  try {
    const selected = selectTokens(listTokens(mod.lib), pick ? { ...selection, named: true } : selection, 1, mod.info);
    const tokens = pick ? pick(selected) : selected;
    const pin = tokens.some((t) => t.loginRequired) ? await backend.pin() : undefined;
    const guard = new PinGuard(tokens.length, { allowFinalPinTry: o.allowFinalPinTry === true });
    for (const [index, token] of tokens.entries()) {
      const session = openSession(mod.lib, token, true);
      sessions.push({ token, session, flags: [...backendFlags(backendOf(o)), '--slots', token.slotId] });
      if (token.loginRequired) login(mod.lib, session, token, pin!, { guard, token: index });
      if (index === 0) checkFirst?.(mod, sessions[0]!);
    }
    return await work(mod, sessions, pin);
  } finally {
    // The module itself is finalized at the end of the command, after everything is printed.
    for (const s of sessions) closeSessionQuietly(mod.lib, s.session);
  }
}
