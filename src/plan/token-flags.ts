import { resolve } from 'node:path';
import { defaultWorkspace } from '../model/embedded-workspace.js';
import type { Backend, TokenSelection } from '../model/plan.js';
import { URI_TOKEN_ATTRIBUTES, type Pkcs11Uri } from '../model/token-uri.js';

/** A parsed --token-uri as a URI again: the attributes it gave, each percent-encoded (it never held a PIN: refused when parsed). */
const uriText = (uri: Pkcs11Uri) =>
  `pkcs11:${URI_TOKEN_ATTRIBUTES.filter((a) => uri[a] !== undefined)
    .map((a) => `${a}=${encodeURIComponent(uri[a]!)}`)
    .join(';')}`;

/**
 * The flags that point another hsm-bench command (a hint's `hsm-bench keys create …`) at the module and tokens a
 * run used, as the user gave them: --module (or a workspace not the default), then the selection. Without them the
 * command a hint suggests would open the embedded tokens, or refuse for want of named tokens. No PIN source: the
 * command reads the PIN as every command does.
 */
export function tokenFlags(backend: Backend, selection: TokenSelection): string[] {
  if (backend.kind === 'embedded') return backendFlags(backend);
  const chosen = [
    ...(selection.slotIds ? ['--slots', selection.slotIds.join(',')] : []),
    ...(selection.serials ? ['--serials', selection.serials.join(',')] : []),
    ...(selection.labelPrefix !== undefined ? ['--token-label', selection.labelPrefix] : []),
    ...(selection.uri ? ['--token-uri', uriText(selection.uri)] : []),
  ];
  // Named by no flag but taken whole: --all-tokens (a module showing one token needs no name, and gets none).
  return [...backendFlags(backend), ...(chosen.length === 0 && selection.named ? ['--all-tokens'] : chosen)];
}

/** The flags that open the module (or embedded workspace) a command used, for a hint's command on one token of it (--slots). */
export const backendFlags = (backend: Backend): string[] =>
  backend.kind === 'module' ? ['--module', backend.path] : resolve(backend.workspace) === resolve(defaultWorkspace()) ? [] : ['--workspace', backend.workspace];
