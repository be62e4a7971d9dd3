/**
 * The fake Slack's clock: real time plus an offset tests can move forward, so trigger_id expiry (3 s),
 * response_url lifetime (30 min) and signature windows (5 min) can be checked without waiting.
 */
export class FakeClock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Unix seconds, as Slack puts in timestamps and signatures. */
  seconds(): number {
    return Math.floor(this.now() / 1000);
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
