import { describe, expect, it } from 'vitest';
import { CoalescingUpdater } from '../../../../src/bot/shared/coalescing-updater.ts';

function manualClock() {
  let t = 0;
  return { now: () => t, set: (v: number) => (t = v) };
}

describe('CoalescingUpdater', () => {
  it('sends the first state at once, then only the newest state once the interval has passed', async () => {
    const sent: number[] = [];
    const u = new CoalescingUpdater<number>({ minIntervalMs: 150, apply: async (v) => void sent.push(v) });
    u.push(1);
    await u.idle();
    for (let v = 2; v <= 10; v++) u.push(v);
    // Nothing more may go out before the interval; then only 10.
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual([1]);
    await u.idle();
    expect(sent).toEqual([1, 10]);
  });

  it('sends a final state as soon as the edit in flight ends, skipping the wait', async () => {
    const clock = manualClock();
    const sent: string[] = [];
    const u = new CoalescingUpdater<string>({ minIntervalMs: 60_000, now: clock.now, apply: async (v) => void sent.push(v) });
    u.push('progress');
    u.push('more progress');
    u.push('done', { final: true });
    await u.idle();
    expect(sent).toEqual(['progress', 'done']);
  });

  it('never runs two edits at once', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const u = new CoalescingUpdater<number>({
      minIntervalMs: 0,
      apply: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
      },
    });
    for (let i = 0; i < 5; i++) {
      u.push(i);
      await new Promise((r) => setTimeout(r, 1));
    }
    await u.idle();
    expect(maxInFlight).toBe(1);
  });

  it('stops for good when the message is gone and says so once', async () => {
    const gone: unknown[] = [];
    let calls = 0;
    const u = new CoalescingUpdater<number>({
      minIntervalMs: 0,
      apply: async () => {
        calls++;
        throw Object.assign(new Error('Unknown Message'), { code: 10008 });
      },
      isGone: (err) => (err as { code?: number }).code === 10008,
      onGone: (err) => gone.push(err),
    });
    u.push(1);
    await u.idle();
    u.push(2);
    u.push(3, { final: true });
    await u.idle();
    expect(calls).toBe(1);
    expect(gone).toHaveLength(1);
    expect(u.gone).toBe(true);
  });

  it('keeps going after an ordinary error', async () => {
    const sent: number[] = [];
    const errors: unknown[] = [];
    const u = new CoalescingUpdater<number>({
      minIntervalMs: 0,
      apply: async (v) => {
        if (v === 1) throw new Error('flaky');
        sent.push(v);
      },
      onError: (e) => errors.push(e),
    });
    u.push(1);
    await u.idle();
    u.push(2);
    await u.idle();
    expect(sent).toEqual([2]);
    expect(errors).toHaveLength(1);
  });

  it('backs off when the platform says "retry after": nothing is sent before then, and then only the newest state', async () => {
    const attempts: Array<{ v: string; at: number }> = [];
    const start = Date.now();
    let limited = true;
    const u = new CoalescingUpdater<string>({
      minIntervalMs: 0,
      apply: async (v) => {
        attempts.push({ v, at: Date.now() - start });
        if (v === 'step 2' && limited) {
          limited = false;
          throw Object.assign(new Error('rate limited'), { retryAfterMs: 120 });
        }
      },
      retryAfterMs: (err) => (err as { retryAfterMs?: number }).retryAfterMs,
    });
    u.push('step 1');
    await u.idle();
    u.push('step 2'); // refused: retry after 120 ms
    await new Promise((r) => setTimeout(r, 10));
    u.push('step 3');
    u.push('done', { final: true }); // even a final state waits for the back-off
    await u.idle();
    expect(attempts.map((a) => a.v)).toEqual(['step 1', 'step 2', 'done']);
    expect(attempts[2].at - attempts[1].at).toBeGreaterThanOrEqual(115);
  });

  it('sends the refused state again after the back-off when nothing newer came', async () => {
    const sent: number[] = [];
    let refused = false;
    const u = new CoalescingUpdater<number>({
      minIntervalMs: 0,
      apply: async (v) => {
        if (!refused) {
          refused = true;
          throw new Error('429');
        }
        sent.push(v);
      },
      retryAfterMs: (err) => ((err as Error).message === '429' ? 30 : undefined),
    });
    u.push(7, { final: true });
    await u.idle();
    expect(sent).toEqual([7]);
  });
});
