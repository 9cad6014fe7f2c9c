import { ExitCode } from '../errors.js';
import type { RunControl } from './control.js';

/** What a stopping run waits for, unless the run says otherwise. */
const IN_FLIGHT = 'waiting for the calls in flight (at most one per session)';

/**
 * Stops a run on SIGINT/SIGTERM: signatures in flight finish (at most one per session), results so far are
 * written, and the run exits 130 through the normal path. Exiting at the second signal would tear the process
 * down while worker threads are inside the module (a segfault seen in 2 of 9 tries) and leave files half written;
 * so the second only says what is being waited for, and a third, for a module that hangs, exits at once.
 * Each signal says what the run is waiting for; a wait the run declared skippable is skipped by the next signal.
 */
export class Interruption {
  requested = false;
  private signals = 0;
  private control: RunControl | undefined;
  private waiting: { text: string; skip?: { hint: string; run: () => void } } = { text: IN_FLIGHT };
  private readonly onSignal = () => {
    const skip = this.waiting.skip;
    this.requested = true;
    this.control?.requestStop();
    if (skip) {
      this.waiting = { text: this.waiting.text };
      skip.run();
      return;
    }
    this.signals++;
    if (this.signals >= 3) process.exit(ExitCode.interrupted);
    this.say();
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  watch(control: RunControl): void {
    this.control = control;
    this.waiting = { text: IN_FLIGHT };
    if (this.requested) control.requestStop();
  }

  /**
   * The run now waits for `text` ("verifying 12,345 calls spilled during the window"); `skip.run` is what the next
   * signal does instead of counting towards the exit, `skip.hint` says so. Said at once when the run is stopping.
   */
  waitingFor(text: string, skip?: { hint: string; run: () => void }): void {
    this.waiting = { text, skip };
    if (this.requested) this.say();
  }

  private say(): void {
    const next = this.waiting.skip?.hint ?? (this.signals >= 2 ? 'Ctrl-C again to exit at once' : 'Ctrl-C twice more to exit at once');
    process.stderr.write(`stopping: ${this.waiting.text} (${next})\n`);
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
