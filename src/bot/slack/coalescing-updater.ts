/**
 * Keeps one message up to date without flooding the platform: one update at a time, each starting at
 * least `intervalMs` after the previous one finished (so the platform sees them at least that far
 * apart), and only the newest pending content is sent (older ones are dropped). A final update waits
 * for the one in flight and is never dropped or delayed by the interval.
 */
export class CoalescingUpdater<T> {
  private pending: { value: T } | undefined;
  private lastDone = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly send: (value: T) => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Offer new content; it is sent as soon as the interval allows. */
  push(value: T): void {
    if (this.closed) return;
    this.pending = { value };
    this.schedule();
  }

  /** Send this content right after the update in flight (if any), then accept nothing more. */
  async finish(value: T): Promise<void> {
    if (this.closed) return;
    this.stop();
    await this.inFlight;
    await this.sendSafely(value);
  }

  /** Drop anything pending (e.g. on shutdown). */
  stop(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private schedule(): void {
    if (this.timer || this.inFlight || !this.pending) return;
    const wait = Math.max(0, this.lastDone + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.run(), wait);
  }

  private run(): void {
    this.timer = undefined;
    const p = this.pending;
    this.pending = undefined;
    if (!p || this.closed) return;
    this.inFlight = this.sendSafely(p.value).finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
  }

  private async sendSafely(value: T): Promise<void> {
    try {
      await this.send(value);
    } catch (err) {
      this.onError(err);
    }
    this.lastDone = Date.now();
  }
}
