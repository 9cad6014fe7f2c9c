import type { RunControl } from './control.js';

/** Stops a run on SIGINT/SIGTERM: signatures in flight finish, results so far are written. A second signal exits at once. */
export class Interruption {
  requested = false;
  private control: RunControl | undefined;
  private readonly onSignal = () => {
    if (this.requested) process.exit(130);
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
