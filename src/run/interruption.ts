import { ExitCode } from '../core/errors.js';
import type { RunControl } from '../measure/control.js';
import { leaveNow } from '../measure/threads-left.js';

/** A wait the run declared (verifying a spilled backlog): said instead of the calls in flight, skipped by the next signal where it can be. */
interface DeclaredWait {
  text: string;
  skip?: { hint: string; run: () => void };
}

/**
 * Stops a run on SIGINT/SIGTERM: the sessions stop calling, calls in flight are waited for (at most a few seconds:
 * one that does not return is abandoned, src/measure/call-watchdog.ts), results so far are written, and the run
 * exits 130 through the normal path. Each signal says what the run is waiting for; a wait the run declared
 * skippable is skipped by the next signal; the third signal that skips nothing leaves at once (run.json and the
 * records stay as last written, both readable), for a stop that takes too long.
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
      this.declared = { text: this.declared!.text };
      skip.run();
      return;
    }
    this.signals++;
    if (this.signals >= 3) {
      process.stderr.write(`${signal}: leaving now; run.json and the records are as last written\n`);
      // At once: threads may be inside the module (Node's exit would wait for them, C's exit() has crashed under them).
      leaveNow(ExitCode.interrupted);
    }
    this.say(signal);
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  watch(control: RunControl): void {
    this.control = control;
    this.declared = undefined;
    if (this.requested) control.requestStop();
  }

  /**
   * The run now waits for `text` ("verifying 12,345 calls spilled during the window"); `skip.run` is what the next
   * signal does instead of counting towards the exit, `skip.hint` says so. Said at once when the run is stopping.
   */
  waitingFor(text: string, skip?: { hint: string; run: () => void }): void {
    this.declared = { text, skip };
    if (this.requested) this.say('stop');
  }

  private say(signal: string): void {
    const text = this.declared?.text ?? `waiting for ${this.control?.describeWait?.() ?? 'the run to end'}`;
    const next = this.declared?.skip?.hint ?? (this.signals >= 2 ? 'interrupt again to leave at once' : 'interrupt twice more to leave at once');
    process.stderr.write(`${signal}: stopping: ${text}; then the results are written (${next})\n`);
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
