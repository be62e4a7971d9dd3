/**
 * Living with Slack's rate limits. Slack answers a call over its method's limit with HTTP 429 and a
 * Retry-After. Left alone, @slack/web-api pauses the client's whole request queue for that long and
 * retries, so one rate-limited progress edit would hold back every other call on the same client,
 * such as a modal that must open within the 3 s life of its trigger_id. Easel therefore makes its
 * clients refuse rate-limited calls at once (`rejectRateLimitedCalls`), uses one client for the
 * interactive calls and another for job delivery, and waits out a 429 only for the call that got it.
 */
import { ErrorCode, type WebClientOptions } from '@slack/web-api';

/** Client options that make a 429 fail the one call (with its Retry-After) instead of pausing the client. */
export function nonBlockingClientOptions(options: WebClientOptions): WebClientOptions {
  return { ...options, rejectRateLimitedCalls: true };
}

/** The wait Slack asked for, in ms, when `err` is a rate-limited call; otherwise undefined. */
export function retryAfterMs(err: unknown): number | undefined {
  const e = err as { code?: unknown; retryAfter?: unknown } | undefined;
  if (e?.code !== ErrorCode.RateLimitedError || typeof e.retryAfter !== 'number') return undefined;
  return Math.max(0, e.retryAfter) * 1000;
}

export interface PolitelyOptions {
  /** Tries in all, the first included (default 4). */
  attempts?: number;
  /** Give up rather than wait longer than this in total, ms (default 2 minutes). */
  maxWaitMs?: number;
  /** Called before each wait (for the log). */
  onWait?: (ms: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Run one Web API call; when Slack rate-limits it, wait as long as Slack asked and try again. Other
 * errors, and a rate limit after the last try or beyond `maxWaitMs`, are thrown.
 */
export async function politely<T>(call: () => Promise<T>, opts: PolitelyOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const maxWaitMs = opts.maxWaitMs ?? 120_000;
  const sleep = opts.sleep ?? sleepFor;
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const wait = retryAfterMs(err);
      if (wait === undefined || attempt >= attempts || waited + wait > maxWaitMs) throw err;
      opts.onWait?.(wait);
      await sleep(wait);
      waited += wait;
    }
  }
}
