/**
 * When a failing token is asked again, for both engines. The first reconnect is at once: most failures are one
 * call's (a device error, a dropped session), and a 100 ms pause after each would cost a token that fails one
 * call in 300 two thirds of its time. Then the wait grows over the streak and is reset only by a call that works,
 * so a token that is gone is not asked for a session (and a login) ten times a second; the cap keeps a token that
 * is back from waiting long. A token failing for --give-up-after is lost.
 */
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 2_000;

export class ReconnectBackoff {
  /** Start of the current streak of failures: the token's outage. */
  private failingSinceNs: bigint | null = null;
  private backoffMs = 0;
  private attempts = 0;

  constructor(private readonly giveUpAfterMs: number) {}

  failed(atNs: bigint): void {
    this.failingSinceNs ??= atNs;
  }

  succeeded(): void {
    this.failingSinceNs = null;
    this.backoffMs = 0;
    this.attempts = 0;
  }

  /** The wait before the next attempt, or why the token is given up. */
  next(nowNs: bigint): { waitMs: number } | { gaveUp: string } {
    const failingMs = Number(nowNs - (this.failingSinceNs ?? nowNs)) / 1e6;
    if (failingMs >= this.giveUpAfterMs) return { gaveUp: `lost after failing for ${(failingMs / 1000).toFixed(1)} s (--give-up-after)` };
    if (this.attempts++ === 0) return { waitMs: 0 };
    this.backoffMs = Math.min(this.backoffMs === 0 ? BACKOFF_FIRST_MS : this.backoffMs * 2, BACKOFF_MAX_MS);
    return { waitMs: Math.min(this.backoffMs, this.giveUpAfterMs - failingMs) };
  }
}
