/** Exit codes: stable, documented in README.md, and turned into a process exit code only in cli/main.ts. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  setup: 3,
  signaturesFailed: 4,
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
export const setupError = (message: string, hint?: string, cause?: unknown) =>
  new HsmBenchError(message, ExitCode.setup, hint, { cause });
