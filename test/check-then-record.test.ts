import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newBatch, VERIFIED_BAD, VERIFIED_OK, type CallBatch } from '../src/model/call-batch.js';
import { CheckBacklog } from '../src/pipeline/check-backlog.js';
import { CheckThenRecord, SPILL_AFTER_BATCHES, type BatchSpill, type BatchVerifier } from '../src/pipeline/check-then-record.js';
import { RecordingQueue } from '../src/pipeline/recording-queue.js';
import { MAX_PENDING_BATCHES } from '../src/measure/control.js';
import { SpillFile } from '../src/result/spill-file.js';
import { tempDir } from './helpers/cli.js';

/**
 * The way of a batch from its session to the records (src/pipeline/check-then-record.ts), in-process on hand-built
 * batches: a verifier whose checks come back when the test says, a sink that notes what is recorded, the real spill
 * file in a temp folder, and a clock of the test's own that stands still.
 */

const OUTPUT_BYTES = 8;
/** A byte that marks an output the verifier finds wrong. */
const WRONG = 0xee;

/** `count` calls of `worker` from `firstSequence`, every output kept (none with `kept: false`), those at `wrongAt` wrong. */
function batchOf(worker: number, firstSequence: number, count: number, { kept = true, wrongAt = [] as number[] } = {}): CallBatch {
  const b = newBatch(worker, count, OUTPUT_BYTES);
  b.firstSequence = firstSequence;
  b.count = count;
  for (let i = 0; i < count; i++) {
    b.latencyNs[i] = 1e6;
    b.startOffsetNs[i] = (firstSequence + i) * 1e6;
    b.startLagNs[i] = Number.NaN;
    if (!kept) continue;
    b.kept[i] = 1;
    b.outputBytes[i] = OUTPUT_BYTES;
    b.outputs.fill(wrongAt.includes(firstSequence + i) ? WRONG : 1, i * OUTPUT_BYTES, (i + 1) * OUTPUT_BYTES);
  }
  return b;
}

/** A verifier whose checks come back when the test says (a batch with nothing kept comes back at once, as the pool's). */
class HeldVerifier implements BatchVerifier {
  readonly held: { batch: CallBatch; back: () => void; fail: (e: Error) => void }[] = [];
  /** Checks come back at once (after the window, say). */
  atOnce = false;
  /** Batches handed to it. */
  calls = 0;
  verify(batch: CallBatch): Promise<CallBatch> {
    this.calls++;
    const check = () => {
      for (let i = 0; i < batch.count; i++) if (batch.kept[i] === 1) batch.verified[i] = batch.outputs[i * OUTPUT_BYTES] === WRONG ? VERIFIED_BAD : VERIFIED_OK;
      return batch;
    };
    if (this.atOnce || !batch.kept.subarray(0, batch.count).includes(1)) return Promise.resolve(check());
    return new Promise((resolve, reject) => this.held.push({ batch, back: () => resolve(check()), fail: reject }));
  }
  /** The held check of session `worker`'s batch that starts at `firstSequence` comes back. */
  back(worker: number, firstSequence: number): void {
    const i = this.held.findIndex((h) => h.batch.worker === worker && h.batch.firstSequence === firstSequence);
    this.held.splice(i, 1)[0]!.back();
  }
}

interface Recorded {
  worker: number;
  sequence: number;
  /** As the record will say it: true, false, or null (not checked). */
  verified: boolean | null;
}

/** Lets promises settle and the recording queue's turns run (event-loop turns, no time). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function pipeline({ spill = null as BatchSpill | null, clock = { ns: 0n } } = {}) {
  const verifier = new HeldVerifier();
  const recorded: Recorded[] = [];
  const released: { worker: number; firstSequence: number | null }[] = [];
  const progress: number[] = [];
  let failed = 0;
  const backlog = new CheckBacklog(() => clock.ns);
  const batches = new CheckThenRecord(
    2,
    {
      verifier,
      record: (b) => {
        for (let i = 0; i < b.count; i++) {
          const v = b.verified[i]!;
          recorded.push({ worker: b.worker, sequence: b.firstSequence + i, verified: v === VERIFIED_OK ? true : v === VERIFIED_BAD ? false : null });
        }
      },
      spill,
      backlog,
      // A clock that stands still: every slice records all that waits, however slow the host, so the tests count
      // event-loop turns, never time.
      nowMs: () => 0,
    },
    {
      released: (worker, b) => released.push({ worker, firstSequence: b?.firstSequence ?? null }),
      progress: (calls) => progress.push(calls),
      failed: () => failed++,
    },
  );
  return { verifier, recorded, released, progress, batches, backlog, failed: () => failed };
}

const sequencesOf = (recorded: Recorded[], worker: number) => recorded.filter((r) => r.worker === worker).map((r) => r.sequence);
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe('checked, then recorded', () => {
  it('a session spills before the run control makes it wait for its batches in flight (or it would wait, never spill)', () => {
    expect(SPILL_AFTER_BATCHES).toBeLessThan(MAX_PENDING_BATCHES);
  });

  it("a batch is recorded only once its check is back, each session's in the order made, whatever order checks come back in", async () => {
    const p = pipeline();
    p.batches.take(batchOf(0, 0, 3));
    // Nothing kept: its check is back at once, but it must not overtake the batch before it.
    p.batches.take(batchOf(0, 3, 2, { kept: false }));
    p.batches.take(batchOf(0, 5, 3, { wrongAt: [6] }));
    p.batches.take(batchOf(1, 0, 2));
    p.verifier.back(0, 5);
    p.verifier.back(1, 0);
    await settle();
    // Session 1 is not held up by session 0; session 0 records nothing while its first check is out.
    expect(p.recorded.map((r) => [r.worker, r.sequence])).toEqual([
      [1, 0],
      [1, 1],
    ]);
    expect(p.released).toEqual([{ worker: 1, firstSequence: 0 }]);
    expect(p.batches.checking).toBe(3);
    p.verifier.back(0, 0);
    await settle();
    expect(sequencesOf(p.recorded, 0)).toEqual(range(0, 8));
    // Checked where kept, not checked where not sampled, the wrong one found wrong.
    expect(p.recorded.filter((r) => r.worker === 0).map((r) => r.verified)).toEqual([true, true, true, null, null, true, false, true]);
    // Each batch goes back to its session once recorded, in order.
    expect(p.released.filter((r) => r.worker === 0).map((r) => r.firstSequence)).toEqual([0, 3, 5]);
    expect(p.batches.checking).toBe(0);
    expect(p.progress.at(-1)).toBe(10);
  });

  it('a batch whose check is lost (its verification thread died) is not recorded: the session gets its turn back, the run stops', async () => {
    const p = pipeline();
    p.batches.take(batchOf(0, 0, 2));
    p.batches.take(batchOf(0, 2, 2));
    p.verifier.held[0]!.fail(new Error('verification thread died'));
    p.verifier.back(0, 2);
    await settle();
    expect(p.failed()).toBe(1);
    expect(p.released).toEqual([
      { worker: 0, firstSequence: null },
      { worker: 0, firstSequence: 2 },
    ]);
    // Recorded only what was checked; the batch after it still in its place.
    expect(p.recorded.map((r) => [r.sequence, r.verified])).toEqual([
      [2, true],
      [3, true],
    ]);
    await p.batches.afterWindow();
    expect(p.batches.checking).toBe(0);
  });
});

describe('a session whose checks fall behind spills', () => {
  /** Session 0 posts `count` batches of 4 calls, none of whose checks comes back. */
  const postBehind = (p: ReturnType<typeof pipeline>, count: number, from = 0) => {
    for (let i = from; i < from + count; i++) p.batches.take(batchOf(0, 4 * i, 4, { wrongAt: [4 * i + 1] }));
  };

  it('from its batch after SPILL_AFTER_BATCHES unchecked on, for the rest of the window: after it, each call is checked and recorded once, in order', async () => {
    const path = join(tempDir('check-then-record'), 'unverified.bin');
    const p = pipeline({ spill: new SpillFile(path) });
    postBehind(p, SPILL_AFTER_BATCHES);
    expect(p.released).toEqual([]);
    postBehind(p, 1, SPILL_AFTER_BATCHES);
    // Spilled: back to its session at once, unchecked, counted as made.
    expect(p.released).toEqual([{ worker: 0, firstSequence: 4 * SPILL_AFTER_BATCHES }]);
    expect(p.verifier.held).toHaveLength(SPILL_AFTER_BATCHES);
    expect(p.batches.keptForAfter).toBe(4);
    // The other session is not behind: its batch goes to the check.
    p.batches.take(batchOf(1, 0, 4));
    expect(p.verifier.held).toHaveLength(SPILL_AFTER_BATCHES + 1);
    // Its checks catch up; the session still spills, or its next batch would be recorded before the spilled one.
    p.verifier.held.splice(0).forEach((h) => h.back());
    await settle();
    postBehind(p, 1, SPILL_AFTER_BATCHES + 1);
    expect(p.verifier.held).toHaveLength(0);
    expect(existsSync(path)).toBe(true);
    const spilledCalls = 8;
    const total = 4 * (SPILL_AFTER_BATCHES + 2) + 4;
    expect(p.progress.at(-1)).toBe(total);

    let toCheck: number | undefined;
    p.verifier.atOnce = true;
    const late = await p.batches.afterWindow((calls) => (toCheck = calls));
    expect(toCheck).toBe(spilledCalls);
    expect(late).toEqual({ verifiedLate: spilledCalls, unverified: 0 });
    expect(sequencesOf(p.recorded, 0)).toEqual(range(0, 4 * (SPILL_AFTER_BATCHES + 2)));
    expect(sequencesOf(p.recorded, 1)).toEqual(range(0, 4));
    // Every call checked, the wrong ones (one a batch) found wrong where they were made.
    expect(p.recorded.filter((r) => r.verified === false).map((r) => r.sequence)).toEqual(range(0, SPILL_AFTER_BATCHES + 2).map((i) => 4 * i + 1));
    expect(p.recorded.every((r) => r.verified !== null)).toBe(true);
    // Counted once: calls made never go down, and end at what was made.
    expect(p.progress.every((n, i) => i === 0 || n >= p.progress[i - 1]!)).toBe(true);
    expect(p.progress.at(-1)).toBe(total);
    expect(existsSync(path)).toBe(false);
  });

  it('spilled batches that kept no output (failures only) are recorded after the window, with no "verifying 0" said', async () => {
    const p = pipeline({ spill: new SpillFile(join(tempDir('check-then-record'), 'unverified.bin')) });
    postBehind(p, SPILL_AFTER_BATCHES);
    p.batches.take(batchOf(0, 4 * SPILL_AFTER_BATCHES, 4, { kept: false }));
    expect(p.released).toEqual([{ worker: 0, firstSequence: 4 * SPILL_AFTER_BATCHES }]);
    p.verifier.atOnce = true;
    p.verifier.held.splice(0).forEach((h) => h.back());
    let told: number | undefined;
    const late = await p.batches.afterWindow((calls) => (told = calls));
    expect(told).toBeUndefined();
    expect(late).toEqual({ verifiedLate: 0, unverified: 0 });
    expect(sequencesOf(p.recorded, 0)).toEqual(range(0, 4 * (SPILL_AFTER_BATCHES + 1)));
  });

  it("spilled batches read back wait for the session's batches still being checked", async () => {
    const p = pipeline({ spill: new SpillFile(join(tempDir('check-then-record'), 'unverified.bin')) });
    postBehind(p, SPILL_AFTER_BATCHES + 2);
    // The window ends with the first checks still out: the spilled ones are checked at once, recorded after them.
    p.verifier.atOnce = true;
    const late = p.batches.afterWindow();
    await settle();
    expect(p.recorded).toEqual([]);
    p.verifier.held
      .splice(0)
      .reverse()
      .forEach((h) => h.back());
    await late;
    expect(sequencesOf(p.recorded, 0)).toEqual(range(0, 4 * (SPILL_AFTER_BATCHES + 2)));
  });

  it('two sessions spilling into one file, their batches interleaved: each comes back in its own order, after its own', async () => {
    const p = pipeline({ spill: new SpillFile(join(tempDir('check-then-record'), 'unverified.bin')) });
    // Interleaved as their batches come: 0, 1, 0, 1 …; each spills from its batch after SPILL_AFTER_BATCHES on.
    for (let i = 0; i < SPILL_AFTER_BATCHES + 3; i++) for (const worker of [0, 1]) p.batches.take(batchOf(worker, 4 * i, 4));
    expect(p.released.map((r) => r.worker)).toEqual([0, 1, 0, 1, 0, 1]);
    p.verifier.atOnce = true;
    const late = p.batches.afterWindow();
    // Session 1's checks come back first, in reverse; session 0's after.
    p.verifier.held
      .filter((h) => h.batch.worker === 1)
      .reverse()
      .forEach((h) => h.back());
    await settle();
    expect(sequencesOf(p.recorded, 1)).toEqual(range(0, 4 * (SPILL_AFTER_BATCHES + 3)));
    expect(sequencesOf(p.recorded, 0)).toEqual([]);
    p.verifier.held.filter((h) => h.batch.worker === 0).forEach((h) => h.back());
    expect(await late).toEqual({ verifiedLate: 24, unverified: 0 });
    expect(sequencesOf(p.recorded, 0)).toEqual(range(0, 4 * (SPILL_AFTER_BATCHES + 3)));
  });

  it('a check after the window skipped (a Ctrl-C): the spilled calls are recorded unchecked, in order, and counted so', async () => {
    const p = pipeline({ spill: new SpillFile(join(tempDir('check-then-record'), 'unverified.bin')) });
    postBehind(p, SPILL_AFTER_BATCHES + 2);
    p.verifier.held.splice(0).forEach((h) => h.back());
    p.verifier.atOnce = true;
    const late = await p.batches.afterWindow((_calls, skip) => skip());
    expect(p.verifier.calls).toBe(SPILL_AFTER_BATCHES);
    expect(late).toEqual({ verifiedLate: 0, unverified: 8 });
    expect(sequencesOf(p.recorded, 0)).toEqual(range(0, 4 * (SPILL_AFTER_BATCHES + 2)));
    expect(p.recorded.filter((r) => r.verified === null).map((r) => r.sequence)).toEqual(range(4 * SPILL_AFTER_BATCHES, 8));
  });

  it('a spill that cannot be written stops the run, names the file, gives the batch back, and is removed, not read', async () => {
    const written: CallBatch[] = [];
    let discarded = false;
    const spill: BatchSpill = {
      path: '/full/unverified.bin',
      // As a disk that fills mid-run: batches were written before the one that failed.
      batches: 1,
      outputsKept: 0,
      write: (b) => {
        written.push(b);
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      },
      read: () => {
        throw new Error('a failed spill is not read');
      },
      close: () => {},
      discard: () => void (discarded = true),
    };
    const p = pipeline({ spill });
    postBehind(p, SPILL_AFTER_BATCHES + 1);
    expect(written).toHaveLength(1);
    expect(p.failed()).toBe(1);
    expect(p.batches.spillFailure?.message).toMatch(/cannot write .*unverified\.bin: ENOSPC/);
    expect(p.released.map((r) => r.firstSequence)).toEqual([4 * SPILL_AFTER_BATCHES]);
    p.verifier.held.splice(0).forEach((h) => h.back());
    await p.batches.afterWindow();
    expect(discarded).toBe(true);
    expect(sequencesOf(p.recorded, 0)).toEqual(range(0, 4 * SPILL_AFTER_BATCHES));
  });

  it("without a spill (a burn-in) the session's batches all wait for their checks", async () => {
    const p = pipeline();
    postBehind(p, SPILL_AFTER_BATCHES + 3);
    expect(p.verifier.held).toHaveLength(SPILL_AFTER_BATCHES + 3);
    expect(p.released).toEqual([]);
    p.verifier.held.splice(0).forEach((h) => h.back());
    await p.batches.afterWindow();
    expect(sequencesOf(p.recorded, 0)).toEqual(range(0, 4 * (SPILL_AFTER_BATCHES + 3)));
  });

  it("the check's lag is the age of the oldest batch not recorded, a spilled one from when it was spilled", async () => {
    const clock = { ns: 0n };
    const s = (seconds: number) => BigInt(seconds * 1e9);
    const p = pipeline({ spill: new SpillFile(join(tempDir('check-then-record'), 'unverified.bin')), clock });
    for (let i = 0; i <= SPILL_AFTER_BATCHES; i++) {
      clock.ns = s(i + 1);
      postBehind(p, 1, i);
    }
    clock.ns = s(20);
    expect(p.backlog.lagS()).toBe(19);
    p.verifier.held.splice(0).forEach((h) => h.back());
    await settle();
    // Only the spilled batch waits: it came at 7 s.
    expect(p.backlog.lagS()).toBe(13);
    p.verifier.atOnce = true;
    await p.batches.afterWindow();
    expect(p.backlog.lagS()).toBe(0);
  });
});

describe('the recording queue', () => {
  it('records in the order pushed, in slices of at most 20 ms by its clock, letting the event loop turn between them', async () => {
    let nowMs = 0;
    const order: string[] = [];
    // Each record takes 8 ms of the queue's clock: two fit in a slice (0, 8, 16 < 20: three begin), then it yields.
    const queue = new RecordingQueue(
      (b) => {
        order.push(`record ${b.firstSequence}`);
        nowMs += 8;
      },
      () => nowMs,
    );
    for (let i = 0; i < 7; i++) queue.push(batchOf(0, i, 1), () => order.push(`recorded ${i}`));
    setImmediate(() => order.push('event loop'));
    await queue.drained();
    expect(order.filter((o) => o.startsWith('record ')).map((o) => Number(o.split(' ')[1]))).toEqual(range(0, 7));
    expect(order.indexOf('event loop')).toBe(order.indexOf('recorded 2') + 1);
    expect(order.at(-1)).toBe('recorded 6');
  });
});
