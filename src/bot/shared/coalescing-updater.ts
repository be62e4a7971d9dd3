/**
 * Keeps one chat message in step with a fast stream of states without hammering the platform:
 * at most one edit in flight, at most one edit per `minIntervalMs`, and only the newest state is
 * sent (intermediate ones are dropped). A state pushed with `final: true` is sent as soon as the edit
 * in flight finishes. When the platform says the message is gone (deleted, token dead) the updater
 * stops for good and reports it once through `onGone`. When it says "too many requests, retry after
 * N ms" (`retryAfterMs`), the updater sends nothing to it before then, not even a final state, and
 * then sends the newest state (the refused one if nothing newer came).
 */
export interface CoalescingUpdaterOptions<T> {
  minIntervalMs: number;
  apply: (value: T) => Promise<void>;
  /** True when an error from `apply` means "stop editing this message for good". */
  isGone?: (err: unknown) => boolean;
  onGone?: (err: unknown) => void;
  /** Other errors: the state is dropped, later states are still tried. */
  onError?: (err: unknown) => void;
  /** How long the platform asked to wait (a rate limit), in ms; undefined when `err` is not a rate limit. */
  retryAfterMs?: (err: unknown) => number | undefined;
  now?: () => number;
}

export class CoalescingUpdater<T> {
  private pending: { value: T } | undefined;
  private pendingFinal = false;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastStart = -Infinity;
  /** Nothing is sent before this time (the platform asked us to back off). */
  private notBefore = -Infinity;
  private stopped = false;
  private goneFlag = false;
  private idleWaiters: Array<() => void> = [];
  private readonly now: () => number;

  constructor(private readonly opts: CoalescingUpdaterOptions<T>) {
    this.now = opts.now ?? Date.now;
  }

  /** The platform said the message is gone; nothing more will be sent. */
  get gone(): boolean {
    return this.goneFlag;
  }

  get stoppedOrGone(): boolean {
    return this.stopped || this.goneFlag;
  }

  push(value: T, opts: { final?: boolean } = {}): void {
    if (this.stopped || this.goneFlag) return;
    this.pending = { value };
    if (opts.final) {
      this.pendingFinal = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.schedule();
  }

  /** Resolves once nothing is pending or in flight. */
  idle(): Promise<void> {
    if (!this.pending && !this.inFlight) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drop anything pending and send nothing more; resolves when the edit in flight (if any) ends. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight) await this.inFlight.catch(() => undefined);
    this.notifyIdle();
  }

  private schedule(): void {
    if (this.inFlight || this.timer || !this.pending) return;
    const now = this.now();
    const spacing = this.pendingFinal ? 0 : this.lastStart + this.opts.minIntervalMs - now;
    const wait = Math.max(0, spacing, this.notBefore - now);
    if (wait === 0) {
      this.run();
    } else {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.run();
      }, wait);
      this.timer.unref?.();
    }
  }

  private run(): void {
    const next = this.pending;
    if (!next || this.stopped || this.goneFlag) {
      this.notifyIdle();
      return;
    }
    const final = this.pendingFinal;
    this.pending = undefined;
    this.pendingFinal = false;
    this.lastStart = this.now();
    this.inFlight = this.opts
      .apply(next.value)
      .catch((err: unknown) => {
        const backOff = this.opts.retryAfterMs?.(err);
        if (backOff !== undefined && !this.stopped) {
          this.notBefore = this.now() + backOff;
          // Only the newest state matters: send the refused one again unless a newer one came meanwhile.
          if (!this.pending) this.pending = next;
          if (final) this.pendingFinal = true;
        } else if (this.opts.isGone?.(err)) {
          this.goneFlag = true;
          this.pending = undefined;
          this.opts.onGone?.(err);
        } else {
          this.opts.onError?.(err);
        }
      })
      .finally(() => {
        this.inFlight = undefined;
        if (this.pending && !this.stopped && !this.goneFlag) this.schedule();
        else this.notifyIdle();
      });
  }

  private notifyIdle(): void {
    if (this.pending || this.inFlight) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
