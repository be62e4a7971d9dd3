import { ErrorCode, WebAPIRateLimitedError } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { EditBudgetExhausted, ProgressEditBudget } from '../../../src/bot/slack/progress-edit-budget.ts';
import { nonBlockingClientOptions, politely, retryAfterMs } from '../../../src/bot/slack/slack-rate-limits.ts';
import { isSharedIn, waitForShares } from '../../../src/bot/slack/slack-shares.ts';

const rateLimited = (seconds: number) => Object.assign(new Error('rate limited'), { code: ErrorCode.RateLimitedError, retryAfter: seconds }) as WebAPIRateLimitedError;

describe('Slack rate limits', () => {
  it('makes clients refuse rate-limited calls instead of pausing their queue', () => {
    expect(nonBlockingClientOptions({ slackApiUrl: 'http://x/' })).toEqual({ slackApiUrl: 'http://x/', rejectRateLimitedCalls: true });
    expect(retryAfterMs(rateLimited(3))).toBe(3000);
    expect(retryAfterMs(new Error('other'))).toBeUndefined();
  });

  it('politely waits as long as Slack asked, then tries the one call again', async () => {
    const waits: number[] = [];
    let calls = 0;
    const out = await politely(
      async () => {
        calls++;
        if (calls < 3) throw rateLimited(calls);
        return 'posted';
      },
      { sleep: async (ms) => void waits.push(ms) },
    );
    expect(out).toBe('posted');
    expect(waits).toEqual([1000, 2000]);
  });

  it('gives up after its tries, beyond its longest wait, and at once on other errors', async () => {
    const noSleep = { sleep: async () => {} };
    await expect(politely(async () => Promise.reject(rateLimited(1)), { ...noSleep, attempts: 2 })).rejects.toMatchObject({ retryAfter: 1 });
    let calls = 0;
    await expect(politely(async () => (calls++, Promise.reject(rateLimited(90))), { ...noSleep, maxWaitMs: 30_000 })).rejects.toMatchObject({ retryAfter: 90 });
    expect(calls).toBe(1);
    calls = 0;
    await expect(politely(async () => (calls++, Promise.reject(new Error('channel_not_found'))), noSleep)).rejects.toThrow('channel_not_found');
    expect(calls).toBe(1);
  });
});

describe('progress edit budget', () => {
  it('lets in-between states use half of the minute, keeps the rest for final states, and frees room as the minute moves on', () => {
    let now = 0;
    const budget = new ProgressEditBudget({ perMinute: 4, now: () => now });
    expect([budget.reserve(false), budget.reserve(false)]).toEqual([0, 0]);
    expect(budget.reserve(false)).toBe(60_000);
    expect([budget.reserve(true), budget.reserve(true)]).toEqual([0, 0]);
    expect(budget.reserve(true)).toBe(60_000);
    now = 60_000;
    expect(budget.reserve(false)).toBe(0);
  });

  it('stops every edit until a Retry-After has passed', () => {
    let now = 0;
    const budget = new ProgressEditBudget({ now: () => now });
    budget.backOff(3_000);
    expect(budget.reserve(true)).toBe(3_000);
    now = 3_000;
    expect(budget.reserve(true)).toBe(0);
    expect(new EditBudgetExhausted(5).waitMs).toBe(5);
  });
});

describe('waiting for file shares', () => {
  const shared = { shares: { public: { C1: [{ ts: '2.0', thread_ts: '1.0' }] } } };

  it('knows a file is shared in a channel and thread from files.info', () => {
    expect(isSharedIn(shared, 'C1', '1.0')).toBe(true);
    expect(isSharedIn(shared, 'C1', '9.0')).toBe(false);
    expect(isSharedIn(shared, 'C2')).toBe(false);
    expect(isSharedIn({ shares: {} }, 'C1')).toBe(false);
    expect(isSharedIn({ shares: { private: { G1: [{ ts: '1.0' }] } } }, 'G1', '1.0')).toBe(true);
  });

  function fakeClient(answers: Array<object | Error>) {
    const asked: string[] = [];
    const client = {
      files: {
        info: async ({ file }: { file: string }) => {
          asked.push(file);
          const a = answers.shift() ?? { file: shared };
          if (a instanceof Error) throw a;
          return a;
        },
      },
    };
    return { client: client as never, asked };
  }

  it('asks files.info with growing pauses until the file is shared', async () => {
    const { client, asked } = fakeClient([{ file: { shares: {} } }, { file: { shares: {} } }, { file: shared }]);
    const pauses: number[] = [];
    const ok = await waitForShares(client, ['F1'], { channel: 'C1', threadTs: '1.0' }, { sleep: async (ms) => void pauses.push(ms) });
    expect(ok).toBe(true);
    expect(asked).toEqual(['F1', 'F1', 'F1']);
    expect(pauses).toEqual([200, 200, 400]);
  });

  it('waits out a rate limit on files.info, and gives up at its deadline', async () => {
    const { client } = fakeClient([rateLimited(2), { file: shared }]);
    const pauses: number[] = [];
    expect(await waitForShares(client, ['F1'], { channel: 'C1' }, { sleep: async (ms) => void pauses.push(ms) })).toBe(true);
    expect(pauses).toEqual([200, 2000]);
    let now = 0;
    const never = fakeClient(Array.from({ length: 50 }, () => ({ file: { shares: {} } })));
    const res = await waitForShares(never.client, ['F1'], { channel: 'C1' }, { timeoutMs: 5_000, now: () => now, sleep: async (ms) => void (now += ms) });
    expect(res).toBe(false);
    expect(now).toBeLessThanOrEqual(5_000);
  });
});
