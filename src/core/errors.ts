import { shown } from './quote.js';

/** Exit codes: stable, documented in docs/reference/exit-codes.md, and turned into a process exit code only in cli/main.ts. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  setup: 3,
  operationsFailed: 4,
  thresholdFailed: 5,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The one error type users see: a message, a hint they can act on, and the exit code it maps to. */
export class HsmBenchError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HsmBenchError';
  }
}

export const usageError = (message: string, hint?: string) => new HsmBenchError(message, ExitCode.usage, hint);
export const setupError = (message: string, hint?: string, cause?: unknown) => new HsmBenchError(message, ExitCode.setup, hint, { cause });

/** A file hsm-bench could not write (disk full, no permission, a folder in the way): a set-up problem, exit 3. */
export function writeError(path: string, error: unknown): HsmBenchError {
  // Already said what is wrong (a pipe in the file's place).
  if (error instanceof HsmBenchError) return error;
  const e = error as NodeJS.ErrnoException;
  return new HsmBenchError(`cannot write ${shown(path)}: ${e.code ?? e.message}`, ExitCode.setup, 'free space or choose a writable folder (--out); what was written before is kept', { cause: error });
}

/** A run whose outcome (signatures failed, a threshold missed, interrupted) was reported already: only its exit code is left. */
export class RunOutcomeExit extends Error {
  constructor(readonly exitCode: ExitCode) {
    super(`exit ${exitCode}`);
    this.name = 'RunOutcomeExit';
  }
}

/** An error as hsm-bench says it on stderr: the message, then what to do. */
export const errorText = (error: HsmBenchError): string => `hsm-bench: error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`;

/** Ends a command with `code`: nothing to do for 0, otherwise main exits with it. */
export function exitWith(code: ExitCode): void {
  if (code !== ExitCode.ok) throw new RunOutcomeExit(code);
}
