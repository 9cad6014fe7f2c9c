import { ExitCode } from '../errors.js';
import type { RunControl } from './control.js';
import { leaveNow } from './threads-left.js';

/**
 * Stops a run on SIGINT/SIGTERM: the sessions stop calling, calls in flight are waited for (at most a few seconds:
 * one that does not return is abandoned, src/engine/call-watchdog.ts), results so far are written, and the run
 * exits 130 through the normal path. Each signal says what the run is waiting for; the third leaves at once (run.json
 * and the records stay as last written, both readable), for a stop that takes too long.
 */
export class Interruption {
  requested = false;
  private signals = 0;
  private control: RunControl | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.signals++;
    if (this.signals >= 3) {
      process.stderr.write(`${signal}: leaving now; run.json and the records are as last written\n`);
      // At once: threads may be inside the module (Node's exit would wait for them, C's exit() has crashed under them).
      leaveNow(ExitCode.interrupted);
    }
    const waiting = this.control?.describeWait?.() ?? 'the run to end';
    const again = this.signals === 1 ? 'interrupt twice more to leave at once' : 'interrupt again to leave at once';
    process.stderr.write(`${signal}: stopping: waiting for ${waiting}; then the results are written (${again})\n`);
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
