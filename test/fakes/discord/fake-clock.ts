/**
 * The fake Discord's clock: real time plus an offset the test can advance, so the 3-second
 * acknowledgement window and the 15-minute interaction token can be tested without waiting.
 * It is also a Clock (src/bot/shared/clock.ts) that Easel's Discord adapter can run on: timers set
 * through it fire when real time reaches them or at once when `advance` moves past them, so the
 * fake's view of time and Easel's move together.
 */
import type { Clock, ClockTimer } from '../../../src/bot/shared/clock.ts';

interface PendingTimer {
  due: number;
  fn: () => void;
  real: NodeJS.Timeout;
}

export class FakeClock implements Clock {
  private offset = 0;
  private readonly timers = new Set<PendingTimer>();
  constructor(private readonly base: () => number = Date.now) {}

  now(): number {
    return this.base() + this.offset;
  }

  /** Move time forward (or back); timers now due fire at once. */
  advance(ms: number): void {
    this.offset += ms;
    const t = this.now();
    for (const timer of [...this.timers].sort((a, b) => a.due - b.due)) {
      if (timer.due <= t) this.fire(timer);
    }
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const timer: PendingTimer = { due: this.now() + ms, fn, real: undefined as unknown as NodeJS.Timeout };
    timer.real = setTimeout(() => this.fire(timer), Math.max(0, ms));
    timer.real.unref?.();
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(timer: ClockTimer): void {
    const t = timer as PendingTimer;
    clearTimeout(t.real);
    this.timers.delete(t);
  }

  private fire(timer: PendingTimer): void {
    if (!this.timers.delete(timer)) return;
    clearTimeout(timer.real);
    timer.fn();
  }
}

/** Discord snowflakes: milliseconds since 2015-01-01 in the top bits, then a counter. */
const DISCORD_EPOCH = 1420070400000n;
let increment = 0n;
export function snowflake(at: number): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(Math.floor(at)) - DISCORD_EPOCH) << 22n) | (1n << 17n) | increment).toString();
}

export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}
