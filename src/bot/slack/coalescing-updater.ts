/**
 * Keeps one message up to date without flooding the platform: updates are sent one at a time, at
 * least `intervalMs` apart, and only the newest pending content is sent (older ones are dropped).
 * A final update waits for the one in flight and is never dropped.
 */
export class CoalescingUpdater<T> {
  private pending: { value: T } | undefined;
  private lastSent = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly send: (value: T) => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Offer new content; it is sent now, or later if an update went out less than intervalMs ago. */
  push(value: T): void {
    if (this.closed) return;
    this.pending = { value };
    if (this.timer) return;
    const wait = Math.max(0, this.lastSent + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushPending();
    }, wait);
  }

  /** Send this content as soon as the previous send is done, then accept nothing more. */
  async finish(value: T): Promise<void> {
    if (this.closed) return this.chain;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    this.enqueue(value);
    return this.chain;
  }

  /** Drop anything pending (e.g. on shutdown). */
  stop(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private flushPending(): void {
    const p = this.pending;
    this.pending = undefined;
    if (p && !this.closed) this.enqueue(p.value);
  }

  private enqueue(value: T): void {
    this.chain = this.chain.then(async () => {
      this.lastSent = Date.now();
      try {
        await this.send(value);
      } catch (err) {
        this.onError(err);
      }
      this.lastSent = Date.now();
    });
  }
}
