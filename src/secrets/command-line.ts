import { isSecret } from '../core/quote.js';
import { uriCarriesPin, withoutPinAttributes } from '../core/uri-pin.js';

/** Flags that would carry a secret: hsm-bench has none of them and refuses them, but a recorded command line never keeps one. */
const SECRET_FLAGS = new Set(['--pin', '--so-pin', '--password', '--passphrase', '--pin-value']);
/** What stands in a recorded command line where a secret was. */
const REMOVED = '(secret removed)';

/**
 * The arguments of a command line as they may be kept (run.json's commandLine, "Reproduce with", the checkpoint):
 * by structure, a secret-bearing flag is dropped with its value, a token URI loses its PIN attributes, and an
 * argument that is one of this invocation's secrets, whole, is replaced.
 */
export function recordableArgs(args: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = flag !== arg;
    if (SECRET_FLAGS.has(flag)) {
      if (!inline) i++;
      continue;
    }
    if (flag === '--token-uri') {
      const uri = inline ? arg.slice(eq + 1) : args[++i];
      if (uri === undefined) kept.push(arg);
      else {
        const safe = uriCarriesPin(uri) ? withoutPinAttributes(uri) : uri;
        kept.push(...(inline ? [`--token-uri=${safe}`] : ['--token-uri', safe]));
      }
      continue;
    }
    kept.push(isSecret(arg) ? REMOVED : arg);
  }
  return kept;
}
