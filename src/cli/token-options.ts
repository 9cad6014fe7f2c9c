import { Command, Option } from 'commander';
import { embeddedBackend, restoreUserSoftHsmConf } from '../keys/embedded-softhsm.js';
import { defaultWorkspace } from '../model/embedded-workspace.js';
import { readPin } from '../secrets/pin.js';
import { isInteractive } from './terminal.js';

/** The flags of every command that touches tokens: module, selection, PIN source, embedded workspace. */
export interface TokenOptions {
  module?: string;
  workspace: string;
  slots?: string;
  serials?: string;
  tokenLabel?: string;
  tokenUri?: string;
  allTokens?: boolean;
  pinEnv: string;
  pinFile?: string;
  allowFinalPinTry?: boolean;
}

export function addTokenOptions(command: Command): Command {
  return command
    .optionsGroup('Tokens:')
    .addOption(new Option('--module <path>', "PKCS#11 module of your tokens (default: hsm-bench's embedded SoftHSM2 tokens)").env('HSM_BENCH_MODULE'))
    .option('--slots <ids>', 'use only these slot ids, in this order (see hsm-bench list)')
    .option('--serials <serials>', 'use only the tokens with these serials (exact), in this order')
    .option('--token-label <prefix>', 'use only tokens whose label starts with this')
    .option('--token-uri <uri>', "use only tokens matching this RFC 7512 URI, e.g. 'pkcs11:token=Pico-HSM%20(UserPIN);slot-id=4'")
    .option('--all-tokens', 'use every initialized token of the module, in slot order (a PIN goes only to tokens named: with several tokens, name them or give this)')
    .option('--pin-env <var>', 'environment variable holding the user PIN', 'HSM_BENCH_PIN')
    .option('--pin-file <path>', 'file holding the user PIN')
    .option('--allow-final-pin-try', 'present the PIN even to a token whose next wrong PIN locks it (CKF_USER_PIN_FINAL_TRY); without it such a token is refused')
    .addOption(new Option('--workspace <dir>', 'where the embedded SoftHSM2 tokens live').env('HSM_BENCH_WORKSPACE').default(defaultWorkspace()));
}

/** The module to open and how to get the PIN: the embedded workspace's own, or the user's (read only when needed). */
export function resolveBackend(o: TokenOptions): { modulePath: string; embedded: boolean; pin: () => Promise<string> } {
  if (o.module !== undefined) {
    restoreUserSoftHsmConf();
    return { modulePath: o.module, embedded: false, pin: () => readPin({ pinEnv: o.pinEnv, pinFile: o.pinFile, interactive: isInteractive() && Boolean(process.stdin.isTTY) }) };
  }
  const backend = embeddedBackend(o.workspace);
  return { modulePath: backend.modulePath, embedded: true, pin: async () => backend.pin };
}
