import { BATCH_CAPACITY, StagedBatch, type CallBatch } from '../../src/model/call-batch.js';
import { messageFor } from '../../src/model/message.js';
import { keptOutputBytes } from '../../src/model/workload.js';
import { callLoop, type LoopCalls } from '../../src/measure/call-loop.js';
import type { EngineStarter } from '../../src/measure/engine.js';
import { ScriptedClock } from './scripted-loop.js';

/** What a scripted token answers to call `sequence` of session `worker`: an output, or a CKR code. */
export type ScriptedAnswer = (worker: number, sequence: number, message: Buffer) => Buffer | number;

/**
 * An engine for runConfiguration (src/run/run-configuration.ts) that runs the real call loop in-process, each session
 * to its end, one after the other, with a clock of its own that each call moves by `callMs`. Everything after the
 * engine is the run's own: verification threads, spill file, recorder, records file. A session runs whole before the
 * event loop turns, so no batch is checked while it runs: verification falls behind at once, as on a fast token.
 */
export function scriptedEngine(answer: ScriptedAnswer, callMs: number): EngineStarter {
  return (spec, sessions, control, onMessage) => {
    const recycled: CallBatch[][] = sessions.map(() => []);
    let endAll = () => {};
    const ended = new Promise<void>((resolve) => (endAll = resolve));
    // Every session is ready at once (the loop's own 'ready' comes after the barrier opened, and is dropped).
    setImmediate(() => sessions.forEach((_, worker) => onMessage(worker, { type: 'ready' })));
    const runSession = (worker: number, startNs: bigint) => {
      const a = sessions[worker]!;
      const clock = new ScriptedClock(control, startNs);
      let outputLength: number | null = null;
      const calls: LoopCalls = {
        call: (_op, sequence, out) => {
          clock.ns += BigInt(Math.round(callMs * 1e6));
          const answered = answer(worker, sequence, messageFor(a.messageSeed, sequence));
          if (typeof answered === 'number') return answered;
          answered.copy(out);
          outputLength = answered.length;
          return 0;
        },
        finish: () => 0,
        get outputLength() {
          return outputLength;
        },
        connect: () => ({ ok: true }),
      };
      const input = {
        worker,
        workload: spec.workload,
        messageSeed: a.messageSeed,
        warmupCalls: 0,
        firstSequence: a.firstSequence,
        stop: spec.stop,
        calls: a.calls,
        verifyEvery: spec.verifyEvery,
        recovery: spec.recovery,
        // A session runs whole before the event loop turns: it cannot wait for its batches to be recorded.
        unrecordedMaxNs: null,
      };
      const staged = StagedBatch.create(worker, BATCH_CAPACITY, spec.verifyEvery > 0 ? keptOutputBytes(spec.workload) : 0);
      const gaveUp = callLoop(input, calls, control, clock, { staged, recycled: () => recycled[worker]!.shift(), post: (m) => m.type !== 'ready' && onMessage(worker, m) });
      onMessage(worker, { type: 'done', gaveUp: typeof gaveUp === 'string' ? gaveUp : undefined });
    };
    return {
      ended,
      released: (startNs) =>
        setImmediate(() => {
          sessions.forEach((_, worker) => runSession(worker, startNs));
          endAll();
        }),
      recycle: (worker, batch) => void recycled[worker]!.push(batch),
      inFlightSince: () => null,
      connectingSince: () => null,
      abandon: () => false,
      abandonConnect: () => false,
    };
  };
}
