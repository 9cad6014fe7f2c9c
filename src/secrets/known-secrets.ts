import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { addSecret } from '../core/quote.js';
import { defaultWorkspace, EMBEDDED_PIN_FILE } from '../model/embedded-workspace.js';
import { ENV_NAME, secretFileContent } from './pin.js';

function flagValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

/**
 * Makes the secrets this invocation could hold known to the quoting of messages (core/quote.ts) before anything
 * is parsed: a PIN typed into the wrong flag (`--token-label 648219`) is then never quoted back. A PIN or
 * passphrase read later (a prompt, a lab run's own variable or file) is added where it is read.
 */
export function registerSecretSources(pinEnv: string | undefined, pinFile: string | undefined): void {
  if (pinEnv !== undefined && ENV_NAME.test(pinEnv)) {
    const value = process.env[pinEnv];
    if (value !== undefined) addSecret(value);
  }
  if (pinFile === undefined) return;
  try {
    addSecret(secretFileContent(pinFile, 'secret'));
  } catch {
    // A file that cannot be read holds no secret this invocation can leak; reading it for the run says why.
  }
}

/**
 * Every PIN and passphrase source of the command line: default variables, those named by flags, and files; and the
 * embedded tokens' PIN of the workspace, so that it too is refused where a plan would keep it.
 */
export function registerKnownSecrets(argv: readonly string[]): void {
  registerSecretSources('HSM_BENCH_PIN', flagValue(argv, '--pin-file'));
  const workspace = flagValue(argv, '--workspace');
  const embeddedPinFile = join(workspace === undefined ? defaultWorkspace() : resolve(workspace), EMBEDDED_PIN_FILE);
  if (existsSync(embeddedPinFile)) registerSecretSources(undefined, embeddedPinFile);
  registerSecretSources('HSM_BENCH_KEK_PASSPHRASE', flagValue(argv, '--passphrase-file'));
  registerSecretSources(flagValue(argv, '--pin-env'), undefined);
  registerSecretSources(flagValue(argv, '--passphrase-env'), undefined);
}
