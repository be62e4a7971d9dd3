/**
 * Per-route buckets like Discord's: every answer carries X-RateLimit-* headers, and a bucket that is
 * hammered past its limit gets 429 with retry_after (seconds) until its window resets. Uses real time:
 * the client really waits.
 */
export interface RateLimitRule {
  limit: number;
  windowMs: number;
}

export interface RateLimitVerdict {
  limited: boolean;
  headers: Record<string, string>;
  retryAfterMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { resetAt: number; used: number }>();
  /** How many requests were refused with 429, per bucket. */
  readonly refused = new Map<string, number>();

  constructor(private readonly rule: RateLimitRule, private readonly now: () => number = Date.now) {}

  take(bucket: string): RateLimitVerdict {
    const t = this.now();
    let b = this.buckets.get(bucket);
    if (!b || t >= b.resetAt) {
      b = { resetAt: t + this.rule.windowMs, used: 0 };
      this.buckets.set(bucket, b);
    }
    const resetAfterMs = Math.max(0, b.resetAt - t);
    const hash = Buffer.from(bucket).toString('base64url').slice(0, 24);
    if (b.used >= this.rule.limit) {
      this.refused.set(bucket, (this.refused.get(bucket) ?? 0) + 1);
      return {
        limited: true,
        retryAfterMs: resetAfterMs,
        headers: {
          'x-ratelimit-limit': String(this.rule.limit),
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': ((b.resetAt) / 1000).toFixed(3),
          'x-ratelimit-reset-after': (resetAfterMs / 1000).toFixed(3),
          'x-ratelimit-bucket': hash,
          'x-ratelimit-scope': 'user',
          'retry-after': String(Math.ceil(resetAfterMs / 1000)),
        },
      };
    }
    b.used++;
    return {
      limited: false,
      retryAfterMs: 0,
      headers: {
        'x-ratelimit-limit': String(this.rule.limit),
        'x-ratelimit-remaining': String(this.rule.limit - b.used),
        'x-ratelimit-reset': (b.resetAt / 1000).toFixed(3),
        'x-ratelimit-reset-after': (resetAfterMs / 1000).toFixed(3),
        'x-ratelimit-bucket': hash,
      },
    };
  }
}
