import Table from 'cli-table3';
import { Command } from 'commander';
import { listKeyPairs, listSlots, signingMechanisms, type SlotListing } from '../pkcs11/inventory.js';
import { Pkcs11Module } from '../pkcs11/module.js';
import { type ModuleInfo } from '../model/run-result.js';
import { tokenSelection } from '../plan/plan.js';
import { planInputFromFlags } from '../plan/plan-flags.js';
import { setupError } from '../core/errors.js';
import { listTokens, selectTokens, slotIdOf, tokenName } from '../pkcs11/discovery.js';
import { PinGuard } from '../pkcs11/pin-guard.js';
import { closeSessionQuietly, login, openSession } from '../pkcs11/session.js';
import { addTokenOptions, resolveBackend, type TokenOptions } from './token-options.js';
import { shown } from '../core/quote.js';
import { slotList } from '../pkcs11/list-counts.js';
import { serialShown } from '../model/serial.js';

interface ListOptions extends TokenOptions {
  mechanisms?: boolean;
  keys?: boolean;
  json?: boolean;
}

export interface Listing {
  /** Raised when a change would break readers of `list --json`. */
  schemaVersion: 1;
  module: ModuleInfo;
  slots: SlotListing[];
  notes: string[];
}

/**
 * Collects the listing (the data `--json` prints). A PIN is used only for --keys, only when one is given, and only
 * on tokens the user named (a selection flag or --all-tokens; hsm-bench's own embedded tokens count as named):
 * listing a module logs in nowhere else.
 */
async function collect(o: ListOptions): Promise<Listing> {
  // Flags first: a bad selection must not get as far as creating the embedded workspace.
  const selection = tokenSelection(planInputFromFlags({ ...o }));
  const backend = resolveBackend(o);
  const pinGiven = backend.embedded || o.pinFile !== undefined || Boolean(process.env[o.pinEnv]);
  // Finalized at the end of the command, once the listing is printed.
  const mod = await Pkcs11Module.open(backend.modulePath);
  const notes: string[] = [];
  let slots = listSlots(mod.lib);
  if (slots.length === 0) {
    throw setupError(`module ${shown(mod.info.path)} shows no slots`, 'is the reader or hub connected, pcscd running, or (p11-kit-client) the server at P11_KIT_SERVER_ADDRESS up?');
  }
  if (o.slots !== undefined || o.serials !== undefined || o.tokenLabel !== undefined || o.tokenUri !== undefined) {
    // The same selection as every other command; it says what is missing instead of listing nothing.
    const chosen = selectTokens(listTokens(mod.lib), selection, 1, mod.info);
    slots = chosen.map((t) => slots.find((s) => s.slotId === t.slotId)!);
  }
  const guard = new PinGuard(slots.length, { allowFinalPinTry: o.allowFinalPinTry === true });
  for (const [index, s] of slots.entries()) {
    if (!s.token?.initialized) continue;
    const slot = slotList(mod.lib, true).find((h) => slotIdOf(h).toString() === s.slotId)!;
    if (o.mechanisms) s.mechanisms = signingMechanisms(mod.lib, slot);
    if (o.keys) {
      const session = openSession(mod.lib, { ...s.token, slot });
      try {
        const canLogin = pinGiven && selection.named && s.token.loginRequired;
        if (canLogin) login(mod.lib, session, { ...s.token, slot }, await backend.pin(), { guard, token: index });
        s.keys = listKeyPairs(mod.lib, session, canLogin || !s.token.loginRequired);
      } finally {
        closeSessionQuietly(mod.lib, session);
      }
    }
  }
  const nameThem = 'name the tokens to log in to (--slots, --serials, --token-label, --token-uri, or --all-tokens)';
  if (o.keys && !pinGiven)
    notes.push(`private keys are hidden without a PIN: set ${shown(o.pinEnv)} (or use --pin-file)${selection.named ? '' : ` and ${nameThem}`} to see which key pairs are complete`);
  else if (o.keys && !selection.named) notes.push(`private keys are hidden: hsm-bench presents the PIN only to tokens you name; ${nameThem} to see which key pairs are complete`);
  if (!o.mechanisms || !o.keys) notes.push(`${[!o.mechanisms && '--mechanisms', !o.keys && '--keys'].filter(Boolean).join(' and ')} show${o.mechanisms || o.keys ? 's' : ''} more`);
  return { schemaVersion: 1, module: mod.info, slots, notes };
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

export function renderListing(l: Listing): string {
  const lines = [`module: ${l.module.libraryDescription} ${l.module.libraryVersion} by ${l.module.manufacturer} (${shown(l.module.path)})`];
  const table = new Table({ head: ['Slot', 'Slot description', 'Token', 'Label', 'Manufacturer', 'Model', 'Serial', 'Firmware', 'Login required', 'Initialized'], style: { head: [], border: [] } });
  for (const s of l.slots) {
    const t = s.token;
    table.push([
      s.slotId,
      s.slotDescription,
      yesNo(s.tokenPresent),
      t?.label ?? '',
      t?.manufacturer ?? '',
      t?.model ?? '',
      t ? serialShown(t.serial) : '',
      t?.firmwareVersion ?? '',
      t ? yesNo(t.loginRequired) : '',
      t ? yesNo(t.initialized) : '',
    ]);
  }
  lines.push(table.toString());
  for (const s of l.slots) {
    if (!s.token || (!s.mechanisms && !s.keys)) continue;
    lines.push('', `token ${tokenName({ ...s.token, slotId: s.slotId })}:`);
    if (s.mechanisms) lines.push(`  signing mechanisms: ${s.mechanisms.map((m) => `${m.name} (${m.minKeySize}–${m.maxKeySize})`).join(', ') || 'none'}`);
    if (s.keys) {
      if (s.keys.length === 0) lines.push('  key pairs: none');
      for (const k of s.keys)
        lines.push(`  key pair '${k.label}' id ${k.id || '(none)'}: ${k.type} ${k.size}${k.hasPrivateKey === null ? ', private key not checked' : k.hasPrivateKey ? '' : ', NO private key'}`);
    }
  }
  lines.push(...l.notes.map((n) => `note: ${n}`));
  return lines.join('\n') + '\n';
}

export function listCommand(): Command {
  return addTokenOptions(new Command('list'))
    .description('the slots and tokens of a module, like a hub port list; no PIN needed')
    .option('--mechanisms', 'add the signing mechanisms of each token, with key sizes')
    .option('--keys', 'add the key pairs found on each token (private keys need a PIN)')
    .option('--json', 'print the listing as JSON')
    .action(async (o: ListOptions) => {
      const listing = await collect(o);
      process.stdout.write(o.json ? JSON.stringify(listing, null, 2) + '\n' : renderListing(listing));
    });
}
