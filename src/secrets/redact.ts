import { ENV_NAME, secretFileContent } from './pin.js';

/** Shorter strings are too likely to stand in an honest message (a count, a slot id). */
const MIN_SECRET_LENGTH = 4;

function flagValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

function fileSecret(path: string | undefined): string | undefined {
  try {
    return path === undefined ? undefined : secretFileContent(path, 'secret');
  } catch {
    return undefined;
  }
}

/**
 * Every secret this invocation could hold: the PIN and passphrase variables (default names and those named by
 * flags) and the PIN and passphrase files. Users type a PIN into the wrong flag (`--token-label 648219`); a message
 * that quotes the flag must not print it.
 */
function knownSecrets(argv: readonly string[]): string[] {
  const variables = ['HSM_BENCH_PIN', 'HSM_BENCH_KEK_PASSPHRASE', flagValue(argv, '--pin-env'), flagValue(argv, '--passphrase-env')];
  const secrets = [
    ...variables.map((name) => (name !== undefined && ENV_NAME.test(name) ? process.env[name] : undefined)),
    fileSecret(flagValue(argv, '--pin-file')),
    fileSecret(flagValue(argv, '--passphrase-file')),
  ];
  return secrets.filter((s): s is string => s !== undefined && s.length >= MIN_SECRET_LENGTH);
}

/** The text with every known secret of this invocation replaced: the last guard before a message is printed. */
export function redactSecrets(text: string, argv: readonly string[] = process.argv): string {
  return knownSecrets(argv).reduce((t, secret) => t.split(secret).join('(hidden)'), text);
}
