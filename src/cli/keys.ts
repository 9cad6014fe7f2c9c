import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { setupError, usageError } from '../core/errors.js';
import { withArticle } from '../core/words.js';
import { algorithmById, isKeyPairFamily } from '../model/algorithms.js';
import { tokenName } from '../pkcs11/discovery.js';
import pkcs11 from 'pkcs11js';
import { defaultKeyLabel, destroyObject, findObjects, KEY_USAGES, objectsLabelled, readFlag, usagesOf, type KeyUsage } from '../pkcs11/keys.js';
import { generateKeyPair } from '../pkcs11/key-generation.js';
import { isInteractive } from './terminal.js';
import { addTokenOptions, type TokenOptions } from './token-options.js';
import { withTokenSessions } from './token-sessions.js';
import { cloneCommand, kekCommand } from './keys-clone.js';
import { quote, commandLine } from '../core/quote.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

function createCommand(): Command {
  return addTokenOptions(new Command('create'))
    .description('create a key pair for one usage on every selected token (skips tokens that already have the label)')
    .requiredOption('--alg <alg>', 'key algorithm: rsa2048, rsa3072, rsa4096, p256, p384, bp256, bp384, ed25519, ed448')
    .option('--usage <usage>', 'what the key is for: sign, decrypt (RSA), derive (EC)', 'sign')
    .option('--label <label>', 'CKA_LABEL of the key pair (default hsm-bench-<alg>, or hsm-bench-<alg>-<usage> for decrypt and derive)')
    .option('--extractable', 'allow wrapping the private key under a key-encryption key, for keys clone')
    .action(async (o: TokenOptions & { alg: string; usage: string; label?: string; extractable?: boolean }) => {
      const alg = algorithmById(o.alg);
      if (!isKeyPairFamily(alg.family)) throw usageError(`${alg.displayName} is not a key pair algorithm`, 'use rsa2048, rsa3072, rsa4096, p256, p384, bp256, bp384, ed25519 or ed448');
      const usage = o.usage as KeyUsage;
      if (!KEY_USAGES.includes(usage)) throw usageError(`unknown --usage ${quote(o.usage)}`, `use one of: ${KEY_USAGES.join(', ')}`);
      if ((usage === 'decrypt' && alg.family !== 'rsa') || (usage === 'derive' && alg.family !== 'ec')) {
        throw usageError(
          `${withArticle(alg.displayName)} key cannot be made to ${usage}`,
          usage === 'decrypt' ? 'decryption keys are RSA: --alg rsa2048' : 'derivation (ECDH) keys are EC: --alg p256 or bp256',
        );
      }
      const label = o.label ?? defaultKeyLabel(alg, usage);
      if (label.trim() === '') throw usageError('--label is empty', 'give the key pair a label, e.g. --label hsm-bench-rsa2048');
      await withTokenSessions(o, (mod, sessions) => {
        for (const { token, session, flags } of sessions) {
          const [existing] = findObjects(mod.lib, session, [
            { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
            { type: pkcs11.CKA_LABEL, value: label },
          ]);
          if (existing) {
            const allowed = usagesOf(mod.lib, session, existing);
            say(
              allowed.includes(usage)
                ? `token ${tokenName(token)}: already has a key pair ${quote(label)}; left as it is`
                : `token ${tokenName(token)}: already has a key pair ${quote(label)}, which cannot ${usage} (it can ${allowed.join(' and ') || 'do nothing'}); left as it is: delete it with ${commandLine('hsm-bench', 'keys', 'delete', ...flags, '--label', label)}, or give another --label`,
            );
            continue;
          }
          const made = generateKeyPair(mod.lib, session, token, alg, label, { extractable: o.extractable === true, usage });
          for (const attribute of made.leftOut) say(`note: token ${tokenName(token)} refused ${attribute} in the template; the key it made does not allow that usage either (read back)`);
          // What the token made, read back: some tokens ignore CKA_EXTRACTABLE or CKA_SENSITIVE in the template.
          const extractable = readFlag(mod.lib, session, made.privateKey, pkcs11.CKA_EXTRACTABLE);
          const sensitive = readFlag(mod.lib, session, made.privateKey, pkcs11.CKA_SENSITIVE);
          const allowed = usagesOf(mod.lib, session, made.privateKey);
          say(
            `token ${tokenName(token)}: created ${alg.displayName} key pair ${quote(label)} to ${allowed.join(' and ') || 'do nothing'}, id ${made.id.toString('hex')} (private, ${sensitive ? 'sensitive' : 'NOT sensitive'}, ${extractable ? 'extractable under wrapping only' : 'non-extractable'})`,
          );
          if (o.extractable && !extractable) say(`note: token ${tokenName(token)} made the key non-extractable although --extractable asked otherwise: keys clone cannot wrap it`);
        }
      });
    });
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function deleteCommand(): Command {
  return addTokenOptions(new Command('delete'))
    .description('delete the objects labelled exactly LABEL on the selected tokens, after showing them')
    .requiredOption('--label <label>', 'CKA_LABEL of the objects to delete')
    .option('--yes', 'do not ask (required when not on a terminal)')
    .action(async (o: TokenOptions & { label: string; yes?: boolean }) => {
      if (o.label.trim() === '') throw usageError('--label is empty', 'name the objects to delete by their exact label');
      await withTokenSessions(o, async (mod, sessions) => {
        const found = sessions.flatMap(({ token, session }) => objectsLabelled(mod.lib, session, o.label).map((obj) => ({ token, session, ...obj })));
        if (found.length === 0) throw setupError(`no object labelled ${quote(o.label)} on the selected tokens`, "run 'hsm-bench list --keys' to see the labels");
        for (const f of found) process.stderr.write(`will delete ${f.className} ${quote(o.label)} on token ${tokenName(f.token)}\n`);
        if (!o.yes) {
          if (!isInteractive() || !process.stdin.isTTY) throw usageError(`not deleting ${found.length} objects without confirmation`, 'add --yes to delete when not on a terminal');
          if (!(await confirm(`delete these ${found.length} objects? [y/N] `))) return say('nothing deleted');
        }
        for (const f of found) {
          destroyObject(mod.lib, f.session, f.handle);
          say(`deleted ${f.className} ${quote(o.label)} on token ${tokenName(f.token)}`);
        }
      });
    });
}

export function keysCommand(): Command {
  return new Command('keys')
    .description('create, delete and clone the key pairs hsm-bench signs with')
    .addCommand(createCommand())
    .addCommand(deleteCommand())
    .addCommand(cloneCommand())
    .addCommand(kekCommand());
}
