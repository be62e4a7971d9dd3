import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../../src/comfy/circuit-breaker.ts';

describe('CircuitBreaker', () => {
  it('opens on failure, allows exactly one probe after the delay, doubles the delay on failed probes', () => {
    let now = 0;
    const b = new CircuitBreaker({ baseMs: 1_000, maxMs: 4_000, now: () => now });
    expect(b.tryProbe()).toBe(true); // closed: always
    b.failure('connection refused');
    expect(b.state).toBe('open');
    expect(b.lastReason).toBe('connection refused');
    expect(b.tryProbe()).toBe(false);
    expect(b.retryInMs()).toBe(1_000);
    now = 1_000;
    expect(b.tryProbe()).toBe(true);
    expect(b.state).toBe('half-open');
    expect(b.tryProbe()).toBe(false); // only one probe at a time
    b.failure();
    expect(b.delayMs).toBe(2_000);
    now = 2_999;
    expect(b.tryProbe()).toBe(false);
    now = 3_000;
    expect(b.tryProbe()).toBe(true);
    b.failure();
    b.failure();
    b.failure();
    expect(b.delayMs).toBe(4_000); // capped
    b.success();
    expect(b.state).toBe('closed');
    expect(b.lastReason).toBeUndefined();
    b.failure();
    expect(b.delayMs).toBe(1_000); // reset by the success
  });
});
