import { ExitCode, HsmBenchError } from '../core/errors.js';

/** How a token answered a trial call wrongly, named as a failed call of a run would be. */
export type WrongAnswer = 'WRONG_OUTPUT_SIZE' | 'VERIFY_FAILED';

/**
 * A trial call that returned CKR_OK with a wrong answer: a finding about the token, not a mistake in the set-up, so
 * that CI reports it as the run's failed cases. Exit 3 all the same: nothing was measured.
 */
export class WrongAnswerError extends HsmBenchError {
  constructor(
    message: string,
    hint: string,
    readonly wrongAnswer: WrongAnswer,
  ) {
    super(message, ExitCode.setup, hint);
    this.name = 'WrongAnswerError';
  }
}
