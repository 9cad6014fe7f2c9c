import { Command } from 'commander';
import { setupError, usageError } from '../core/errors.js';
import { cloneKeyPair, DEFAULT_KEK_LABEL, importKek, isSmartCardHsm, OPENSC_MODULE, proveClone, sourceKeyPair, checkCloneSource } from '../keys/clone.js';
import { cloneWithDkek, dkekShares, readerOf } from '../keys/dkek-clone.js';
import type { Pkcs11Module } from '../pkcs11/module.js';
import { tokenName } from '../pkcs11/discovery.js';
import { createKekShare, openKekShare } from '../secrets/kek-share.js';
import { readSecret } from '../secrets/pin.js';
import { isInteractive } from './terminal.js';
import { addTokenOptions, type TokenOptions } from './token-options.js';
import { finalizeNow } from './supervised.js';
import { withTokenSessions, type TokenPick, type TokenSession } from './token-sessions.js';
import { quote, shown, commandLine } from '../core/quote.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

interface PassphraseOptions {
  passphraseEnv: string;
  passphraseFile?: string;
}

const passphrase = (o: PassphraseOptions) =>
  readSecret(o.passphraseEnv, o.passphraseFile, isInteractive() && Boolean(process.stdin.isTTY), 'passphrase', 'Share passphrase: ', 'HSM_BENCH_KEK_PASSPHRASE');

const withPassphraseOptions = (c: Command) =>
  c.option('--passphrase-env <var>', 'environment variable holding the share passphrase', 'HSM_BENCH_KEK_PASSPHRASE').option('--passphrase-file <path>', 'file holding the share passphrase');

export function kekCommand(): Command {
  const create = withPassphraseOptions(new Command('create'))
    .description('make a new key-encryption-key share file, protected by a passphrase (touches no token)')
    .requiredOption('--file <path>', 'the share file to write (never overwritten)')
    .action(async (o: PassphraseOptions & { file: string }) => {
      const kcv = createKekShare(o.file, await passphrase(o));
      say(`wrote KEK share ${shown(o.file)} (key check value ${kcv}); import it into every token with ${commandLine('hsm-bench', 'keys', 'kek', 'import', '--file', o.file, '--all-tokens')}`);
    });
  const importCmd = withPassphraseOptions(addTokenOptions(new Command('import')))
    .description('import the KEK of a share file into every selected token, as a wrap/unwrap-only AES key')
    .requiredOption('--file <path>', 'the share file')
    .option('--kek-label <label>', 'CKA_LABEL of the KEK on the tokens', DEFAULT_KEK_LABEL)
    .action(async (o: TokenOptions & PassphraseOptions & { file: string; kekLabel: string }) => {
      const { key, kcv } = openKekShare(o.file, await passphrase(o));
      try {
        await withTokenSessions(o, (mod, sessions) => {
          for (const s of sessions) {
            const done = importKek(mod.lib, s, key, o.kekLabel, kcv);
            say(
              `token ${tokenName(s.token)}: ${done === 'imported' ? `imported KEK ${quote(o.kekLabel)} (key check value ${kcv})` : `already has this share's KEK ${quote(o.kekLabel)} (key check value ${kcv}); left as it is`}`,
            );
          }
        });
      } finally {
        key.fill(0);
      }
    });
  return new Command('kek').description('the shared key-encryption key that lets tokens pass keys to each other wrapped').addCommand(create).addCommand(importCmd);
}

/**
 * The source and the targets that --from and --to name among the selected tokens, source first: the only tokens
 * the clone logs in to. `--to all` names every other selected token (every other token of the module when no
 * selection flag is given).
 */
const cloneSides =
  (o: { from: string; to: string }): TokenPick =>
  (selected) => {
    const slots = `slots: ${selected.map((t) => t.slotId).join(', ')}`;
    const source = selected.find((t) => t.slotId === o.from);
    if (!source) throw setupError(`no selected token in slot ${shown(o.from)}`, slots);
    const wanted = o.to === 'all' ? selected.filter((t) => t !== source).map((t) => t.slotId) : o.to.split(',');
    if (wanted.includes(o.from)) throw usageError('--to names the --from slot', 'a token cannot be cloned onto itself');
    const missing = wanted.filter((id) => !selected.some((t) => t.slotId === id));
    if (missing.length > 0) throw setupError(`no selected token in slot ${missing.map(shown).join(', ')}`, slots);
    if (wanted.length === 0) throw setupError('there is no other token to clone to');
    return [source, ...wanted.map((id) => selected.find((t) => t.slotId === id)!)];
  };

/** A SmartCard-HSM seen through another module than OpenSC's: cloned with OpenSC's tools, never through this one. */
const cardElsewhere = (mod: Pkcs11Module, card: TokenSession) =>
  setupError(
    `token ${tokenName(card.token)} is a SmartCard-HSM: its keys are cloned under its DKEK with OpenSC's tools, not through this module (${mod.info.manufacturer})`,
    `run keys clone with --module ${OPENSC_MODULE} (the same cards; its slot ids differ: see hsm-bench list --module ${OPENSC_MODULE})`,
  );

/**
 * What the source alone can refuse, before any target is logged in to: a SmartCard-HSM through another module than
 * OpenSC's is sent there; a key to wrap under the KEK must be there and extractable.
 */
function checkSource(mod: Pkcs11Module, source: TokenSession, label: string): void {
  const openSc = mod.info.manufacturer === 'OpenSC Project';
  if (!openSc && isSmartCardHsm(source.token)) throw cardElsewhere(mod, source);
  checkCloneSource(mod.lib, source, label, !openSc);
}

/**
 * SmartCard-HSMs (through OpenSC) clone under their DKEK with OpenSC's tools; every other token under the shared
 * KEK through PKCS#11. Returns the PC/SC readers of the tokens when they are SmartCard-HSMs.
 */
function dkekReaders(mod: Pkcs11Module, tokens: TokenSession[]): number[] | undefined {
  if (mod.info.manufacturer !== 'OpenSC Project') {
    // Another module for SmartCard-HSMs (CardContact's own) takes no KEK and exports no key: only the DKEK route can.
    const card = tokens.find((s) => isSmartCardHsm(s.token));
    if (card) throw cardElsewhere(mod, card);
    return undefined;
  }
  const readers = tokens.map((s) => readerOf(s.token.slotDescription));
  if (readers.some((r) => r === undefined)) return undefined;
  const shares = readers.map((r) => dkekShares(r!));
  if (shares.some((n) => n === undefined)) return undefined;
  const without = tokens.filter((_, i) => shares[i] === 0);
  if (without.length > 0) {
    throw setupError(
      `token ${tokenName(without[0]!.token)} is a SmartCard-HSM initialised without DKEK shares: its keys can never leave it`,
      'initialise the tokens with the same DKEK share (sc-hsm-tool --initialize --dkek-shares 1, then --import-dkek-share; see docs/real-hardware.md), then create the key again',
    );
  }
  return readers as number[];
}

export function cloneCommand(): Command {
  return addTokenOptions(new Command('clone'))
    .description('copy a key pair to other tokens, wrapped inside the tokens (under the shared KEK, or a SmartCard-HSM DKEK): private key material never leaves a token in the clear')
    .requiredOption('--label <label>', 'CKA_LABEL of the key pair to clone')
    .requiredOption('--from <slot>', 'slot id of the token that has the key pair')
    .requiredOption('--to <slots>', "slot ids to copy to, comma-separated, or 'all' (every other selected token, or every other token of the module); only --from and --to are logged in to")
    .option('--kek-label <label>', 'CKA_LABEL of the KEK on the tokens', DEFAULT_KEK_LABEL)
    .action(async (o: TokenOptions & { label: string; from: string; to: string; kekLabel: string }) => {
      // 'all' names no token: without a selection it would present the PIN to every token of the module.
      if (o.to === 'all' && [o.slots, o.serials, o.tokenLabel, o.tokenUri, o.allTokens].every((x) => x === undefined)) {
        throw usageError('--to all needs the tokens to clone to selected', 'name them (--to 3,4), or select them with --slots, --serials, --token-label, --token-uri or --all-tokens');
      }
      let dkek: (() => Promise<void>) | undefined;
      await withTokenSessions(
        o,
        (mod, sessions, pin) => {
          const [source, ...targets] = sessions as [TokenSession, ...TokenSession[]];
          const readers = dkekReaders(mod, [source, ...targets]);
          if (readers === undefined) return cloneKeyPair(mod.lib, source, targets, o.label, o.kekLabel, say);
          const key = sourceKeyPair(mod.lib, source, targets, o.label);
          const named = (s: TokenSession, i: number) => ({ reader: readers[i]!, name: tokenName(s.token) });
          dkek = async () => {
            // Another program (sc-hsm-tool) may wait for the card while this process has OpenSC open, and this
            // process's OpenSC sees objects another program made only once the module is opened again.
            await finalizeNow(mod);
            if (pin === undefined) throw setupError('SmartCard-HSM key export needs the user PIN, and none was read', 'set HSM_BENCH_PIN, or use --pin-env or --pin-file');
            cloneWithDkek(
              named(source, 0),
              key.id.toString('hex'),
              targets.map((t, i) => named(t, i + 1)),
              pin,
              say,
            );
            const targetOnly = { ...o, slots: targets.map((t) => t.token.slotId).join(','), serials: undefined, tokenUri: undefined, tokenLabel: undefined, allTokens: undefined };
            await withTokenSessions(targetOnly, (again, clones) => {
              for (const t of clones) {
                proveClone(again.lib, t, o.label, key.publicKey);
                say(`token ${tokenName(t.token)}: cloned ${quote(o.label)} from ${tokenName(source.token)} under the DKEK; its signature verifies against the source's public key`);
              }
            });
          };
        },
        cloneSides(o),
        // The source's key is checked before any target sees the PIN: a key that is missing, or cannot leave its token
        // under the KEK, costs the targets nothing.
        (mod, source) => checkSource(mod, source, o.label),
      );
      await dkek?.();
    });
}
