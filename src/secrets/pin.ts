import { readFileSync, statSync } from 'node:fs';
import { HsmBenchError, setupError } from '../errors.js';

const MAX_SECRET_FILE_BYTES = 4096;

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

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What a secret file holds, its one final newline dropped; refuses a device or a large file, which could be read forever (/dev/zero). */
export function secretFileContent(file: string, what: string): string {
  try {
    const info = statSync(file);
    if (!info.isFile() || info.size > MAX_SECRET_FILE_BYTES) throw setupError(`the ${what} file given is not a small regular file`, `give a file holding only the ${what}`);
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    if (error instanceof HsmBenchError) throw error;
    throw setupError(
      `cannot read the ${what} file given: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      `give the path of a readable file holding only the ${what}, never the ${what} itself`,
      error,
    );
  }
}

/**
 * A secret (PIN or passphrase) from a file, an environment variable, or a masked prompt, in that order. Users
 * sometimes give the secret itself where a variable name or a path belongs: the name and the path are therefore
 * never repeated in a message, except the default variable's name, which is no secret.
 */
export async function readSecret(envVar: string, file: string | undefined, interactive: boolean, what: string, prompt: string, defaultEnvVar = 'HSM_BENCH_PIN'): Promise<string> {
  if (file !== undefined) {
    const secret = secretFileContent(file, what);
    if (secret === '') throw setupError(`the ${what} file given is empty`, `write the ${what} into it, with no other text`);
    // Stray spaces or lines would be presented as part of the PIN, and a wrong PIN costs one of a card's few tries.
    if (secret !== secret.trim() || /[\r\n]/.test(secret)) {
      throw setupError(`the ${what} file given holds more than the ${what} (spaces around it, or more than one line)`, `write only the ${what}, with at most one newline after it`);
    }
    return secret;
  }
  if (!ENV_NAME.test(envVar)) {
    throw setupError(`the ${what} variable given is not a valid environment variable name`, `give the NAME of a variable (letters, digits, _), e.g. ${defaultEnvVar}, never the ${what} itself`);
  }
  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (interactive) return prompter(prompt);
  const name = envVar === defaultEnvVar ? defaultEnvVar : 'the variable given';
  throw setupError(
    `no ${what}: ${name} is not set and there is no terminal to ask on`,
    `set ${defaultEnvVar} (or the variable named with --${what === 'PIN' ? 'pin' : 'passphrase'}-env), or give the ${what} in a file (--${what === 'PIN' ? 'pin' : 'passphrase'}-file)`,
  );
}

let prompter: (question: string) => Promise<string> = promptMasked;

/** Where masked prompts go: the terminal, or (a command run under a supervisor) the supervisor, which asks on its own. */
export function usePrompt(ask: (question: string) => Promise<string>): void {
  prompter = ask;
}

/** Reads a line from the terminal without echoing it. */
export function promptMasked(question: string): Promise<string> {
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
