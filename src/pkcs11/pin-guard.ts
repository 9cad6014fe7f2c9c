import { isMainThread } from 'node:worker_threads';

const ACCEPTED = 1;
const REFUSED = 2;
const FREE = 0;
const HELD = 1;
/** Per token: a lock, and the state of the PIN on it (0 untried, ACCEPTED, REFUSED). */
const CELLS_PER_TOKEN = 2;
/** After the tokens' cells, one cell for the run's policy: 1 when the PIN may be presented on a final try. */
const POLICY_CELLS = 1;

/**
 * The PIN rule across threads and module instances: on each token of a run, a PIN is presented until it fails
 * once, and never after. Real cards lock after three wrong PINs, and a module that hands out one instance per load
 * (p11-kit's client and proxy) needs a login per instance, so every worker thread may have to log in: they share
 * this guard through a SharedArrayBuffer, and one login at a time per token, so a refusal is seen by all at once.
 * Tokens are the run's token indexes, never labels or serials, which repeat in real clusters. The policy
 * (--allow-final-pin-try) travels in the same buffer, so that every thread applies the one the user gave.
 */
export class PinGuard {
  readonly buffer: SharedArrayBuffer;
  private readonly cells: Int32Array;

  constructor(tokenCountOrBuffer: number | SharedArrayBuffer, policy: { allowFinalPinTry: boolean } = { allowFinalPinTry: false }) {
    const fresh = typeof tokenCountOrBuffer === 'number';
    this.buffer = fresh ? new SharedArrayBuffer(4 * (CELLS_PER_TOKEN * tokenCountOrBuffer + POLICY_CELLS)) : tokenCountOrBuffer;
    this.cells = new Int32Array(this.buffer);
    if (fresh) this.cells[this.cells.length - 1] = policy.allowFinalPinTry ? 1 : 0;
  }

  /** Whether a token whose next wrong PIN locks it (CKF_USER_PIN_FINAL_TRY) may be presented the PIN. */
  get allowFinalPinTry(): boolean {
    return this.cells[this.cells.length - 1] === 1;
  }

  refused(token: number): boolean {
    return Atomics.load(this.cells, token * CELLS_PER_TOKEN + 1) === REFUSED;
  }

  /** Indexes of the tokens whose PIN was refused. */
  refusedTokens(): number[] {
    const refused: number[] = [];
    for (let t = 0; t < (this.cells.length - POLICY_CELLS) / CELLS_PER_TOKEN; t++) if (this.refused(t)) refused.push(t);
    return refused;
  }

  /**
   * Runs `login` with the token's lock held, unless the PIN was refused on it before; `login` says whether the
   * token refused the PIN, or that it did not present it ('withheld', which changes nothing here). Returns
   * 'refused' when the PIN was refused, now or earlier: the caller must not log in.
   */
  present(token: number, login: () => 'accepted' | 'refused' | 'withheld'): 'accepted' | 'refused' | 'withheld' {
    const lock = token * CELLS_PER_TOKEN;
    while (Atomics.compareExchange(this.cells, lock, FREE, HELD) !== FREE) {
      // The main thread logs in only before the workers start, so it never meets a held lock.
      if (isMainThread) throw new Error('PIN guard lock held while the main thread logs in');
      Atomics.wait(this.cells, lock, HELD, 50);
    }
    try {
      if (this.refused(token)) return 'refused';
      const outcome = login();
      if (outcome !== 'withheld') Atomics.store(this.cells, lock + 1, outcome === 'accepted' ? ACCEPTED : REFUSED);
      return outcome;
    } finally {
      Atomics.store(this.cells, lock, FREE);
      Atomics.notify(this.cells, lock);
    }
  }
}
