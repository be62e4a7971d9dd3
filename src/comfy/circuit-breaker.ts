/**
 * Circuit breaker for one ComfyUI host, so a dead or failing host is not hammered with work.
 *
 * closed: jobs go to the host. A failure opens it. open: no jobs; after a delay (doubling per
 * consecutive failure, from baseMs up to maxMs) one probe is allowed (half-open). A success closes it
 * and resets the delay; a failed probe opens it again for longer.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** First wait before a probe, ms (default 1000). */
  baseMs?: number;
  /** Longest wait between probes, ms (default 30 000). */
  maxMs?: number;
  now?: () => number;
}

export class CircuitBreaker {
  private _state: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly now: () => number;
  /** Why it last opened, for status pages. */
  lastReason: string | undefined;

  constructor(opts: CircuitBreakerOptions = {}) {
    this.baseMs = Math.max(1, opts.baseMs ?? 1_000);
    this.maxMs = Math.max(this.baseMs, opts.maxMs ?? 30_000);
    this.now = opts.now ?? Date.now;
  }

  get state(): BreakerState {
    return this._state;
  }

  get isClosed(): boolean {
    return this._state === 'closed';
  }

  /** Current wait between probes while open, ms. */
  get delayMs(): number {
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.max(0, this.failures - 1));
  }

  /** Milliseconds until a probe is allowed (0 when one may be tried now or the breaker is closed). */
  retryInMs(): number {
    if (this._state !== 'open') return 0;
    return Math.max(0, this.openedAt + this.delayMs - this.now());
  }

  /**
   * May we try the host now? Closed: yes. Open: only once the delay has passed, and then exactly one
   * caller gets `true` (the breaker goes half-open until that probe reports back).
   */
  tryProbe(): boolean {
    if (this._state === 'closed') return true;
    if (this._state === 'half-open') return false;
    if (this.retryInMs() > 0) return false;
    this._state = 'half-open';
    return true;
  }

  success(): void {
    this._state = 'closed';
    this.failures = 0;
    this.lastReason = undefined;
  }

  failure(reason?: string): void {
    this.failures++;
    this._state = 'open';
    this.openedAt = this.now();
    if (reason) this.lastReason = reason;
  }
}
