import { ExitCode } from '../errors.js';
import type { RunControl } from './control.js';

/**
 * Stops a run on SIGINT/SIGTERM: signatures in flight finish (at most one per session), results so far are
 * written, and the run exits 130 through the normal path. Exiting at the second signal would tear the process
 * down while worker threads are inside the module (a segfault seen in 2 of 9 tries) and leave files half written;
 * so the second only says what is being waited for, and a third, for a module that hangs, exits at once.
 */
export class Interruption {
  requested = false;
  private signals = 0;
  private control: RunControl | undefined;
  private readonly onSignal = () => {
    this.signals++;
    if (this.signals === 2) process.stderr.write('stopping: waiting for the signatures in flight (at most one per session); interrupt again to abandon them\n');
    if (this.signals >= 3) process.exit(ExitCode.interrupted);
    this.requested = true;
    this.control?.requestStop();
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  watch(control: RunControl): void {
    this.control = control;
    if (this.requested) control.requestStop();
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
