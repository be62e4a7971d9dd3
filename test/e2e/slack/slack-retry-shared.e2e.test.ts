/**
 * With several instances on one Redis, Slack's retries and double clicks are remembered in Redis: a
 * retry of an event, or the second click of a double click, that reaches the bot after a restart (or
 * another replica) runs nothing again. With the default in-process memory the same retry or click
 * runs a second job, which is what the contrasting cases show.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeyClaims } from '../../../src/bot/shared/redis-recent-keys.ts';
import { startTestRedis, type TestRedis } from '../../unit/jobs/redis-fixture.ts';
import { ALICE, button, CHANNEL, jobIdOf, resultCards, startHarness, testImage, type Harness } from './harness.ts';

describe('Slack retries remembered across restarts and replicas', () => {
  let redis: TestRedis;
  let client: Redis;
  let png: Buffer;

  beforeAll(async () => {
    redis = await startTestRedis();
    client = new Redis(redis.url);
    png = await testImage();
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  async function mentionThenRetryAfterRestart(h: Harness): Promise<{ results: number; prompts: number }> {
    const before = h.app.simulator!.submittedPromptIds().length;
    const file = h.fake.userFile({ name: 'boat.png', mimetype: 'image/png', data: png });
    const sent = await h.fake.mention({ text: '<@U0BOT0001> restyle watercolor', files: [file] });
    expect(sent.status).toBe(200);
    const card = await h.fake.waitFor(() => resultCards(h.fake, sent.message.ts)[0], 'the result', 20_000);
    await h.bot.settled(jobIdOf(card));
    // The bot restarts (a rolling update), then Slack retries the event it thinks was not answered.
    await h.restartBot();
    const event = { type: 'app_mention', user: ALICE, text: sent.message.text, ts: sent.message.ts, channel: CHANNEL, event_ts: sent.message.ts, files: [file] };
    const retry = await h.fake.sendEvent(event, { eventId: sent.eventId, retryNum: 1, retryReason: 'http_timeout' });
    expect(retry.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_500));
    return { results: resultCards(h.fake, sent.message.ts).length, prompts: h.app.simulator!.submittedPromptIds().length - before };
  }

  /**
   * Reroll clicked twice by the same person, the second click reaching a restarted bot (as it would
   * reach another replica behind the load balancer). Returns how many new jobs the two clicks started.
   */
  async function doubleClickAcrossRestart(h: Harness): Promise<number> {
    const file = h.fake.userFile({ name: 'kite.png', mimetype: 'image/png', data: png });
    const sent = await h.fake.mention({ text: '<@U0BOT0001> restyle watercolor', files: [file] });
    const card = await h.fake.waitFor(() => resultCards(h.fake, sent.message.ts)[0], 'the result', 20_000);
    await h.bot.settled(jobIdOf(card));
    const before = h.app.simulator!.submittedPromptIds().length;
    const reroll = button(card, 'reroll');
    expect((await h.fake.clickButton({ messageTs: card.ts, actionId: reroll })).status).toBe(200);
    await h.restartBot();
    expect((await h.fake.clickButton({ messageTs: card.ts, actionId: reroll })).status).toBe(200);
    await h.fake.waitFor(() => resultCards(h.fake, sent.message.ts).length >= 2, 'the reroll', 20_000);
    await new Promise((r) => setTimeout(r, 1_500)); // room for a second reroll to show
    return h.app.simulator!.submittedPromptIds().length - before;
  }

  it('with Redis: a double click whose second click reaches another replica starts one job', async () => {
    const h = await startHarness('http', { recentKeys: redisKeyClaims(client, 'slack-click-test'), doubleClickMs: 10_000 });
    try {
      expect(await doubleClickAcrossRestart(h)).toBe(1);
    } finally {
      await h.close();
    }
  }, 60_000);

  it('in process memory only (no Redis): that second click starts a second job', async () => {
    const h = await startHarness('http', { doubleClickMs: 10_000 });
    try {
      expect(await doubleClickAcrossRestart(h)).toBe(2);
    } finally {
      await h.close();
    }
  }, 60_000);

  it('with Redis: the retry after a restart runs nothing', async () => {
    const h = await startHarness('http', { recentKeys: redisKeyClaims(client, 'slack-retry-test') });
    try {
      expect(await mentionThenRetryAfterRestart(h)).toEqual({ results: 1, prompts: 1 });
      expect(await client.keys('slack-retry-test:recent:slack-deliveries:*')).not.toHaveLength(0);
      const ttl = await client.pttl((await client.keys('slack-retry-test:recent:slack-deliveries:*'))[0]);
      expect(ttl).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  }, 60_000);

  it('in process memory only (no Redis): the same retry runs the job again', async () => {
    const h = await startHarness('http');
    try {
      const r = await mentionThenRetryAfterRestart(h);
      expect(r.prompts).toBe(2);
    } finally {
      await h.close();
    }
  }, 60_000);
});
