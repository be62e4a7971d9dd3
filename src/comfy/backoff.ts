/** Reconnect delays: exponential, capped, with jitter so many clients do not reconnect in step. */

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/**
 * Delay before reconnect attempt `attempt` (0 = first retry): initialMs * 2^attempt capped at maxMs,
 * then "equal jitter": a random point in the upper half, so it is never below half the nominal delay.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const initial = Math.max(1, opts.initialMs);
  const cap = Math.max(initial, opts.maxMs);
  const nominal = Math.min(cap, initial * 2 ** Math.min(Math.max(0, attempt), 30));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(nominal / 2 + (nominal / 2) * r);
}

/**
 * Delay after the host refused our credentials (401/403 on the upgrade): retrying fast cannot help,
 * so wait the full cap (at least 30 s) every time.
 */
export function authFailureDelay(opts: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.max(opts.maxMs, 30_000);
  return Math.round(cap * (0.9 + 0.2 * Math.min(1, Math.max(0, random()))));
}
