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
export async function readPin(source: PinSource): Promise<string> {
  if (source.pinFile !== undefined) {
    let pin: string;
    try {
      pin = readFileSync(source.pinFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw setupError(`cannot read the PIN file ${source.pinFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, 'give a readable file holding only the PIN', error);
    }
    if (pin === '') throw setupError(`the PIN file ${source.pinFile} is empty`, 'write the PIN into it, with no other text');
    return pin;
  }
  const fromEnv = process.env[source.pinEnv];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (source.interactive) return promptMasked('User PIN: ');
  throw setupError(`no PIN: ${source.pinEnv} is not set and there is no terminal to ask on`, `set ${source.pinEnv} (or the variable named by --pin-env), or give --pin-file`);
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
