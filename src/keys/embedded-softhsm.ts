import type { RunEvent } from '../model/run-events.js';
import { EMBEDDED_LABEL_PREFIX, EMBEDDED_PIN_FILE } from '../model/embedded-workspace.js';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync } from 'node:fs';
import { writeOutputFile } from '../core/output-file.js';
import { join } from 'node:path';
import pkcs11 from 'pkcs11js';
import { ExitCode, setupError, usageError } from '../core/errors.js';
import { lockDirectory } from '../core/directory-lock.js';
import type { Algorithm } from '../model/algorithms.js';
import { listTokens, type TokenRef } from '../pkcs11/discovery.js';
import { hasPrivateKey, type KeyUsage } from '../pkcs11/keys.js';
import { generateKeyPair } from '../pkcs11/key-generation.js';
import { Pkcs11Module } from '../pkcs11/module.js';
import { PinGuard } from '../pkcs11/pin-guard.js';
import { login, openSession } from '../pkcs11/session.js';
import { makeDirectory } from '../core/make-dir.js';
import { readInputText } from '../core/input-file.js';
import { shown } from '../core/quote.js';
import { slotList } from '../pkcs11/list-counts.js';

/** Where Debian, Ubuntu, Fedora and Homebrew install SoftHSM2's module. */
const SOFTHSM_MODULE_PATHS = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/opt/homebrew/lib/softhsm/libsofthsm2.so',
];

/** The SOFTHSM2_CONF this process started with, before an embedded run replaced it. */
const userSoftHsmConf = process.env.SOFTHSM2_CONF;

/** A run on the user's own module after an embedded one in the same process (a lab file) sees the user's SoftHSM2 again. */
export function restoreUserSoftHsmConf(): void {
  if (userSoftHsmConf === undefined) delete process.env.SOFTHSM2_CONF;
  else process.env.SOFTHSM2_CONF = userSoftHsmConf;
}

export function softhsmModulePath(): string {
  const found = SOFTHSM_MODULE_PATHS.find((p) => existsSync(p));
  if (!found) {
    throw setupError('SoftHSM2 is not installed, and no --module was given', "install it (Debian/Ubuntu: 'apt-get install softhsm2'), or point --module at your token's PKCS#11 module");
  }
  return found;
}

/**
 * Makes the workspace's private SoftHSM2 configuration the one this process uses. It must be in the real
 * environment before the module is initialized (set in a worker's env it never reaches the library), with an
 * absolute tokendir (a relative one is resolved against the working directory) and the file backend (Debian's
 * SoftHSM2 has no sqlite store); any mistake there shows only as CKR_GENERAL_ERROR.
 */
function configure(workspace: string): void {
  const tokenDir = join(workspace, 'tokens');
  makeDirectory(tokenDir, 0o700);
  const conf = join(workspace, 'softhsm2.conf');
  writeOutputFile(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
}

/**
 * The embedded tokens' user PIN: generated once per workspace and kept beside the tokens it opens (mode 0600).
 * These are hsm-bench's own throw-away test tokens; a user's PIN is never stored.
 */
function embeddedPin(workspace: string): string {
  const file = join(workspace, EMBEDDED_PIN_FILE);
  if (existsSync(file)) return readInputText(file, { what: "embedded tokens' PIN file", maxBytes: 4096, exitCode: ExitCode.setup, hint: 'give hsm-bench a --workspace of its own' }).trim();
  const pin = randomBytes(8).toString('hex');
  writeOutputFile(file, pin, 0o600);
  chmodSync(file, 0o600);
  return pin;
}

/** SoftHSM2 passes labels to the token as is; PKCS#11 wants 32 blank-padded bytes. */
const paddedLabel = (label: string) => label.padEnd(32, ' ');

function createToken(mod: Pkcs11Module, label: string, userPin: string): void {
  const { lib } = mod;
  const free = slotList(lib, true).find((slot) => (lib.C_GetTokenInfo(slot).flags & pkcs11.CKF_TOKEN_INITIALIZED) === 0);
  if (!free) throw setupError('SoftHSM2 offers no free slot to create a token in', `check the workspace ${shown(process.env.SOFTHSM2_CONF ?? '')}`);
  // The SO PIN is needed only to set the user PIN right now: a fresh random one, used once and forgotten.
  const soPin = randomBytes(8).toString('hex');
  lib.C_InitToken(free, soPin, paddedLabel(label));
  const session = lib.C_OpenSession(free, pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION);
  try {
    lib.C_Login(session, pkcs11.CKU_SO, soPin);
    lib.C_InitPIN(session, userPin);
  } finally {
    lib.C_CloseSession(session);
  }
}

/** hsm-bench's own tokens, in label order (SoftHSM2's slot ids are random). */
const embeddedTokens = (mod: Pkcs11Module): TokenRef[] =>
  listTokens(mod.lib)
    .filter((t) => t.label.startsWith(EMBEDDED_LABEL_PREFIX))
    .sort((a, b) => a.label.localeCompare(b.label));

export interface EmbeddedBackend {
  workspace: string;
  modulePath: string;
  pin: string;
}

/** The workspace's module and PIN, with its configuration in force, creating no token. */
export function embeddedBackend(workspace: string): EmbeddedBackend {
  if (workspace.trim() === '') throw usageError('--workspace is empty', 'give the folder of the embedded tokens, or leave it out for the default');
  lockDirectory(workspace, 'the embedded workspace', 'wait until it ends, or give this run its own --workspace (or HSM_BENCH_WORKSPACE)');
  configure(workspace);
  return { workspace, modulePath: softhsmModulePath(), pin: embeddedPin(workspace) };
}

/**
 * Ensures the workspace holds at least `tokenCount` SoftHSM2 tokens, each with the key pairs the workload uses,
 * creating only what is missing so that the next run reuses them. Tokens and keys are created in a module
 * instance of their own, closed before the run opens the module again: a process that created tokens sees
 * other slot ids than later ones.
 */
export async function prepareEmbedded(
  workspace: string,
  tokenCount: number,
  keys: readonly { alg: Algorithm; label: string; usage: KeyUsage }[],
  emit: (event: RunEvent) => void,
): Promise<EmbeddedBackend> {
  const { modulePath, pin } = embeddedBackend(workspace);
  const mod = await Pkcs11Module.open(modulePath);
  try {
    for (let n = embeddedTokens(mod).length; n < tokenCount; n++) {
      const label = `${EMBEDDED_LABEL_PREFIX}${String(n + 1).padStart(2, '0')}`;
      emit({ type: 'token-created', label, workspace });
      createToken(mod, label, pin);
    }
    const tokens = embeddedTokens(mod).slice(0, tokenCount);
    const guard = new PinGuard(tokens.length);
    for (const [index, token] of tokens.entries()) {
      const session = openSession(mod.lib, token, true);
      try {
        login(mod.lib, session, token, pin, { guard, token: index });
        for (const key of keys) {
          if (hasPrivateKey(mod.lib, session, key.label)) continue;
          emit({ type: 'key-generated', algorithm: key.alg.displayName, label: key.label, usage: key.usage, token: token.label });
          generateKeyPair(mod.lib, session, token, key.alg, key.label, { usage: key.usage });
        }
      } finally {
        mod.lib.C_CloseSession(session);
      }
    }
  } finally {
    mod.close();
  }
  return { workspace, modulePath, pin };
}
