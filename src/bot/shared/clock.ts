/**
 * Time as the chat adapters see it: the current time and one-shot timers. Production uses the real
 * clock; tests pass a clock they can move forward, so deadlines that take minutes in reality (Discord's
 * 15-minute interaction token) run their code paths in milliseconds.
 *
 *   const clock = opts.clock ?? realClock;
 *   const timer = clock.setTimeout(() => handOver(), deadline - clock.now());
 *   clock.clearTimeout(timer);
 */
export type ClockTimer = object;

export interface Clock {
  /** Milliseconds since the epoch, like Date.now(). */
  now(): number;
  /** Run `fn` once, `ms` from now by this clock. The timer never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return t;
  },
  clearTimeout(timer) {
    clearTimeout(timer as NodeJS.Timeout);
  },
};
