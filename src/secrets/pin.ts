import { readInputText } from '../core/input-file.js';
import { addSecret } from '../core/quote.js';
import { StringDecoder } from 'node:string_decoder';
import { ExitCode, setupError, HsmBenchError } from '../core/errors.js';

const MAX_SECRET_FILE_BYTES = 4096;

export interface PinSource {
  /** Name of the environment variable that holds the PIN (default HSM_BENCH_PIN). */
  pinEnv: string;
  pinFile?: string;
  interactive: boolean;
  /** --allow-final-pin-try: present the PIN to a token whose next wrong PIN locks it (CKF_USER_PIN_FINAL_TRY). */
  allowFinalPinTry?: boolean;
}

/**
 * Reads the user PIN from a file, an environment variable, or a masked prompt — never from a flag value, so it
 * never shows in `ps`, shell history or CI logs. The PIN is returned to the caller and never printed or stored.
 */
export function readPin(source: PinSource): Promise<string> {
  return readSecret(source.pinEnv, source.pinFile, source.interactive, 'PIN', 'User PIN: ');
}

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * What a secret file holds, its one final newline dropped; a device, a pipe or a large file is refused before a
 * byte is read (/dev/zero would be read for ever). Its path is never repeated in a message: users give the secret
 * itself where the path belongs.
 */
export function secretFileContent(file: string, what: string): string {
  const kind = {
    what: `${what} file`,
    maxBytes: MAX_SECRET_FILE_BYTES,
    exitCode: ExitCode.setup,
    hint: `give the path of a readable file holding only the ${what}, never the ${what} itself`,
    pathShown: 'given',
  };
  return readInputText(file, kind).replace(/\r?\n$/, '');
}

/** White space of any kind (Unicode White_Space: a no-break space, NEL, an ideographic space, …) at either end. */
const SURROUNDING_SPACE = /^\p{White_Space}|\p{White_Space}$/u;
/** Invisible characters that no keypad types: format characters (a zero-width space, a soft hyphen, a BOM) and line or paragraph separators. */
const INVISIBLE = /[\p{Cf}\p{Zl}\p{Zp}]/u;

/**
 * Why a secret as read cannot be the one meant, or undefined. A wrong PIN costs one of a card's few tries, so what
 * cannot be right never reaches a token: a CI secret pasted with its newline or a space, a NUL or another control
 * character, an invisible character carried along by a copy from a web page or a document, text that was not
 * UTF-8 (U+FFFD stands where its bytes were: the token would be sent EF BF BD), nothing at all. A passphrase may
 * hold spaces inside it, as a PIN may: only what cannot be typed on purpose is refused. The reasons never quote the
 * secret.
 */
export function secretProblem(secret: string): string | undefined {
  if (secret === '') return 'is empty';
  if (secret.includes('\ufffd')) return 'is not valid UTF-8 text (it holds U+FFFD, the stand-in for bytes that were not)';
  if (SURROUNDING_SPACE.test(secret)) return 'has spaces or a line break before or after it';
  if (/\p{Cc}/u.test(secret)) return 'has a control character in it (a NUL, a tab, a line break)';
  if (INVISIBLE.test(secret)) return 'has an invisible character in it (a zero-width space, a soft hyphen, a byte order mark, a line or paragraph separator)';
  return undefined;
}

/**
 * A secret (PIN or passphrase) from a file, an environment variable, or a masked prompt, in that order. Users
 * sometimes give the secret itself where a variable name or a path belongs: the name and the path are therefore
 * never repeated in a message, except the default variable's name, which is no secret.
 */
export async function readSecret(envVar: string, file: string | undefined, interactive: boolean, what: string, prompt: string, defaultEnvVar = 'HSM_BENCH_PIN'): Promise<string> {
  if (file !== undefined) {
    const secret = secretFileContent(file, what);
    addSecret(secret);
    const problem = secretProblem(secret);
    if (problem !== undefined)
      throw setupError(`the ${what} in the ${what} file given ${problem}; hsm-bench did not present it`, `write only the ${what} into the file, as UTF-8 text, with at most one newline after it`);
    return secret;
  }
  if (!ENV_NAME.test(envVar)) {
    throw setupError(`the ${what} variable given is not a valid environment variable name`, `give the NAME of a variable (letters, digits, _), e.g. ${defaultEnvVar}, never the ${what} itself`);
  }
  const name = envVar === defaultEnvVar ? defaultEnvVar : 'the variable given';
  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined) {
    addSecret(fromEnv);
    const problem = secretProblem(fromEnv);
    if (problem !== undefined) {
      throw setupError(
        `the ${what} in ${name} ${problem}; hsm-bench did not present it`,
        fromEnv === ''
          ? `set it to the ${what} (a CI secret that this job cannot see is often empty), or unset it to be asked`
          : `set it to the ${what} alone, as UTF-8 text: a pasted secret often brings its newline or an invisible character along`,
      );
    }
    return fromEnv;
  }
  if (interactive) {
    const typed = await prompter(prompt);
    addSecret(typed);
    const problem = secretProblem(typed);
    if (problem !== undefined) throw setupError(`the ${what} typed ${problem}; hsm-bench did not present it`, `type the ${what} alone`);
    return typed;
  }
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
  // No echo before the question shows: what is typed (or pasted) as soon as it appears must not reach the screen.
  stdin.setRawMode(true);
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let pin = '';
    stdin.resume();
    const done = (result: string | Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    // A character split across two reads is decoded whole; bytes that are not UTF-8 become U+FFFD, which is refused.
    const decoder = new StringDecoder('utf8');
    const onData = (chunk: Buffer) => {
      for (const ch of decoder.write(chunk)) {
        if (ch === '\r' || ch === '\n') return done(pin);
        // Ctrl-C in raw mode arrives as a character, not as SIGINT: it ends the command as the signal would.
        if (ch === '\u0003') return done(new HsmBenchError('cancelled at the prompt (Ctrl-C)', ExitCode.interrupted));
        if (ch === '\u007f' || ch === '\b') pin = pin.slice(0, -1);
        else pin += ch;
      }
    };
    stdin.on('data', onData);
  });
}
