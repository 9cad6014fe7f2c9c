import { readFileSync } from 'node:fs';
import { setupError } from '../errors.js';

export interface PinSource {
  /** Name of the environment variable that holds the PIN (default HSM_BENCH_PIN). */
  pinEnv: string;
  pinFile?: string;
  interactive: boolean;
}

/**
 * Reads the user PIN from a file, an environment variable, or a masked prompt — never from a flag value, so it
 * never shows in `ps`, shell history or CI logs. The PIN is returned to the caller and never printed or stored.
 */
export function readPin(source: PinSource): Promise<string> {
  return readSecret(source.pinEnv, source.pinFile, source.interactive, 'PIN', 'User PIN: ');
}

/** A secret (PIN or passphrase) from a file, an environment variable, or a masked prompt, in that order. */
export async function readSecret(envVar: string, file: string | undefined, interactive: boolean, what: string, prompt: string): Promise<string> {
  if (file !== undefined) {
    let secret: string;
    try {
      secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw setupError(`cannot read the ${what} file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, `give a readable file holding only the ${what}`, error);
    }
    if (secret === '') throw setupError(`the ${what} file ${file} is empty`, `write the ${what} into it, with no other text`);
    return secret;
  }
  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (interactive) return promptMasked(prompt);
  throw setupError(`no ${what}: ${envVar} is not set and there is no terminal to ask on`, `set ${envVar}, or give the ${what} in a file`);
}

/** Reads a line from the terminal without echoing it. */
function promptMasked(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let pin = '';
    stdin.setRawMode(true);
    stdin.resume();
    const done = (result: string | Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(pin);
        if (ch === '\u0003') return done(setupError('PIN entry cancelled'));
        if (ch === '\u007f' || ch === '\b') pin = pin.slice(0, -1);
        else pin += ch;
      }
    };
    stdin.on('data', onData);
  });
}
