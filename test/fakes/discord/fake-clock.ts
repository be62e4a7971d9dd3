/**
 * The fake Discord's clock: real time plus an offset the test can advance, so the 3-second
 * acknowledgement window and the 15-minute interaction token can be tested without waiting.
 */
export class FakeClock {
  private offset = 0;
  constructor(private readonly base: () => number = Date.now) {}

  now(): number {
    return this.base() + this.offset;
  }

  advance(ms: number): void {
    this.offset += ms;
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
