/**
 * "Have we seen this key recently?", answered by one process (RecentKeys) or, with several instances
 * on one Redis, by all of them together (RedisRecentKeys), so a Slack retry that lands on another
 * replica, or after a restart, is still recognised.
 */
export interface KeyClaims {
  /** True the first time a key is offered within the ttl (and remembers it); false for a repeat. */
  claim(key: string): boolean | Promise<boolean>;
  /** Forget a key (the work it guarded failed before doing anything, so a retry may run it). */
  release(key: string): void | Promise<void>;
}

/** Makes the named set of keys a front end needs (e.g. "slack-deliveries", kept `ttlMs`). */
export type KeyClaimsFactory = (name: string, ttlMs: number) => KeyClaims;

/** In this process only: the default. */
export const memoryKeyClaims: KeyClaimsFactory = (_name, ttlMs) => new RecentKeys(ttlMs);

/**
 * A short-lived set of keys: "have we seen this delivery / click recently?". Platforms redeliver
 * (Slack retries events, users double-click buttons); remembering keys for a while keeps a job from
 * running twice. Entries expire after `ttlMs`; the set never holds more than `maxKeys`.
 */
export class RecentKeys implements KeyClaims {
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
