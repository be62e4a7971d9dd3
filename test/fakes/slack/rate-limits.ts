/**
 * Slack's Web API rate limits, as the fake enforces them. Slack limits each method per app per
 * workspace in tiers (Tier 1: 1+ per minute, Tier 2: 20+, Tier 3: 50+, Tier 4: 100+), and
 * chat.postMessage specially: about one message per second per channel, short bursts allowed.
 * A call over the limit gets HTTP 429 with a `Retry-After` header (seconds) and
 * `{"ok":false,"error":"ratelimited"}`; it is not carried out and does not count.
 *
 * The published numbers are minimums ("50+ per minute"); the fake takes them as exact, over a sliding
 * window, so it is never kinder than Slack. Tests may lower a limit (or its window) to provoke a 429.
 */

export interface RateRule {
  /** Calls allowed within any window of `windowMs`. */
  limit: number;
  windowMs: number;
  /** Count per channel (the `channel` argument) instead of per method. */
  perChannel?: boolean;
}

export const TIER_PER_MINUTE = { 1: 1, 2: 20, 3: 50, 4: 100 } as const;

const tier = (t: keyof typeof TIER_PER_MINUTE): RateRule => ({ limit: TIER_PER_MINUTE[t], windowMs: 60_000 });

/** How many chat.postMessage calls one channel takes back to back before Slack wants 1 per second. */
export const POST_MESSAGE_BURST = 4;

/** The tier of each method the fake implements (Slack's method reference). */
export function defaultRateRules(): Record<string, RateRule> {
  return {
    'chat.postMessage': { limit: POST_MESSAGE_BURST, windowMs: POST_MESSAGE_BURST * 1000, perChannel: true },
    'chat.update': tier(3),
    'chat.delete': tier(3),
    'chat.postEphemeral': tier(4),
    'views.open': tier(4),
    'views.update': tier(4),
    'files.getUploadURLExternal': tier(4),
    'files.completeUploadExternal': tier(4),
    'files.info': tier(4),
    'files.delete': tier(3),
    'conversations.replies': tier(3),
  };
}

export class RateLimiter {
  private readonly rules: Map<string, RateRule>;
  private readonly seen = new Map<string, number[]>();

  constructor(
    private readonly now: () => number,
    rules: Record<string, RateRule> = defaultRateRules(),
  ) {
    this.rules = new Map(Object.entries(rules));
  }

  /** Change (or with undefined, lift) the limit of one method; its count starts afresh. */
  set(method: string, rule: RateRule | undefined): void {
    if (rule) this.rules.set(method, rule);
    else this.rules.delete(method);
    for (const key of [...this.seen.keys()]) if (key === method || key.startsWith(`${method}#`)) this.seen.delete(key);
  }

  rule(method: string): RateRule | undefined {
    return this.rules.get(method);
  }

  /**
   * Count a call to `method` if it is within the limit and return undefined; otherwise return the
   * Retry-After in whole seconds (at least 1) until a call would be allowed again.
   */
  take(method: string, channel?: string): number | undefined {
    const rule = this.rules.get(method);
    if (!rule) return undefined;
    const key = rule.perChannel ? `${method}#${channel ?? ''}` : method;
    const now = this.now();
    const recent = (this.seen.get(key) ?? []).filter((t) => t > now - rule.windowMs);
    if (recent.length >= rule.limit) {
      this.seen.set(key, recent);
      return Math.max(1, Math.ceil((recent[0] + rule.windowMs - now) / 1000));
    }
    recent.push(now);
    this.seen.set(key, recent);
    return undefined;
  }
}
