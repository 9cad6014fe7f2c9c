import { isMainThread } from 'node:worker_threads';

const ACCEPTED = 1;
const REFUSED = 2;
const FREE = 0;
const HELD = 1;
/** Per token: a lock, and the state of the PIN on it (0 untried, ACCEPTED, REFUSED). */
const CELLS_PER_TOKEN = 2;

/**
 * The PIN rule across threads and module instances: on each token of a run, a PIN is presented until it fails
 * once, and never after. Real cards lock after three wrong PINs, and a module that hands out one instance per load
 * (p11-kit's client and proxy) needs a login per instance, so every worker thread may have to log in: they share
 * this guard through a SharedArrayBuffer, and one login at a time per token, so a refusal is seen by all at once.
 * Tokens are the run's token indexes, never labels or serials, which repeat in real clusters.
 */
export class PinGuard {
  readonly buffer: SharedArrayBuffer;
  private readonly cells: Int32Array;

  constructor(tokenCountOrBuffer: number | SharedArrayBuffer) {
    this.buffer = typeof tokenCountOrBuffer === 'number' ? new SharedArrayBuffer(4 * CELLS_PER_TOKEN * tokenCountOrBuffer) : tokenCountOrBuffer;
    this.cells = new Int32Array(this.buffer);
  }

  refused(token: number): boolean {
    return Atomics.load(this.cells, token * CELLS_PER_TOKEN + 1) === REFUSED;
  }

  /** Indexes of the tokens whose PIN was refused. */
  refusedTokens(): number[] {
    const refused: number[] = [];
    for (let t = 0; t < this.cells.length / CELLS_PER_TOKEN; t++) if (this.refused(t)) refused.push(t);
    return refused;
  }

  /**
   * Runs `login` with the token's lock held, unless the PIN was refused on it before; `login` says whether the
   * token refused the PIN. Returns false when the PIN was refused, now or earlier: the caller must not log in.
   */
  present(token: number, login: () => 'accepted' | 'refused'): boolean {
    const lock = token * CELLS_PER_TOKEN;
    while (Atomics.compareExchange(this.cells, lock, FREE, HELD) !== FREE) {
      // The main thread logs in only before the workers start, so it never meets a held lock.
      if (isMainThread) throw new Error('PIN guard lock held while the main thread logs in');
      Atomics.wait(this.cells, lock, HELD, 50);
    }
    try {
      if (this.refused(token)) return false;
      const outcome = login();
      Atomics.store(this.cells, lock + 1, outcome === 'accepted' ? ACCEPTED : REFUSED);
      return outcome === 'accepted';
    } finally {
      Atomics.store(this.cells, lock, FREE);
      Atomics.notify(this.cells, lock);
    }
  }
}
