import { ExitCode } from '../core/errors.js';
import type { RunControl } from '../measure/control.js';
import { leaveNow } from '../measure/threads-left.js';
import type { RunEvent } from '../model/run-events.js';

/** A wait the run declared (verifying a spilled backlog): said instead of the calls in flight, skipped by the next signal. */
interface DeclaredWait {
  verifyingSpill: number;
  nouns: string;
  skip?: () => void;
}

/**
 * Stops a run on SIGINT/SIGTERM: the sessions stop calling, calls in flight are waited for (at most a few seconds:
 * one that does not return is abandoned, src/measure/call-watchdog.ts), results so far are written, and the run
 * exits 130 through the normal path. Each signal says (as an event) what the run is waiting for; a wait the run
 * declared skippable is skipped by the next signal; the third signal that skips nothing leaves at once (run.json
 * and the records stay as last written, both readable), for a stop that takes too long.
 */
export class Interruption {
  requested = false;
  private signals = 0;
  private control: RunControl | undefined;
  private declared: DeclaredWait | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.requested = true;
    this.control?.requestStop();
    const skip = this.declared?.skip;
    if (skip) {
      this.declared = { ...this.declared!, skip: undefined };
      skip();
      return;
    }
    this.signals++;
    if (this.signals >= 3) {
      this.emit({ type: 'leaving-now', signal });
      // At once: threads may be inside the module (Node's exit would wait for them, C's exit() has crashed under them).
      leaveNow(ExitCode.interrupted);
    }
    this.say(signal);
  };

  constructor(private readonly emit: (event: RunEvent) => void) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  watch(control: RunControl): void {
    this.control = control;
    this.declared = undefined;
    if (this.requested) control.requestStop();
  }

  /** The run now verifies `calls` spilled during the window; `skip` is what the next signal does instead. Said at once when stopping. */
  verifyingSpill(calls: number, nouns: string, skip: () => void): void {
    this.declared = { verifyingSpill: calls, nouns, skip };
    if (this.requested) this.say('stop');
  }

  private say(signal: string): void {
    const d = this.declared;
    this.emit({
      type: 'stopping',
      signal,
      wait: d ? { verifyingSpill: d.verifyingSpill, nouns: d.nouns } : (this.control?.describeWait?.() ?? { inFlight: null, checkingBatches: 0, keptForAfter: 0 }),
      next: d?.skip ? 'skip-verification' : this.signals >= 2 ? 'leave-after-one' : 'leave-after-two',
    });
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
