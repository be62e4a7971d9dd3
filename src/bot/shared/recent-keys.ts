/**
 * A short-lived set of keys: "have we seen this delivery / click recently?". Platforms redeliver
 * (Slack retries events, users double-click buttons); remembering keys for a while keeps a job from
 * running twice. Entries expire after `ttlMs`; the set never holds more than `maxKeys`.
 */
export class RecentKeys {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True the first time a key is offered within ttl (and remembers it); false for a repeat. */
  claim(key: string): boolean {
    const t = this.now();
    this.prune(t);
    const at = this.seen.get(key);
    if (at !== undefined && t - at < this.ttlMs) return false;
    this.seen.delete(key);
    this.seen.set(key, t);
    while (this.seen.size > this.maxKeys) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
    }
    return true;
  }

  has(key: string): boolean {
    const at = this.seen.get(key);
    return at !== undefined && this.now() - at < this.ttlMs;
  }

  /** Forget a key (e.g. the work it guarded failed before doing anything, so a retry may run it). */
  release(key: string): void {
    this.seen.delete(key);
  }

  private prune(t: number): void {
    // Map keeps insertion order, and claim() re-inserts, so the oldest entries come first.
    for (const [key, at] of this.seen) {
      if (t - at < this.ttlMs) break;
      this.seen.delete(key);
    }
  }
}
