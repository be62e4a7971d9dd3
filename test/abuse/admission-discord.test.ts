/**
 * Issue 10, finding 2, on Discord (real discord.js against the fake Discord, real app on the simulator):
 * a refused command or context menu never downloads its attachment from the CDN, and the context
 * menu's cache of picked images is bounded in bytes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EaselApp } from '../../src/app/create-app.ts';
import { PickedImages } from '../../src/bot/discord/picked-images.ts';
import { startDiscordBot, type DiscordBot } from '../../src/bot/discord/discord-bot.ts';
import { defaultConfig } from '../../src/config/load-config.ts';
import { FakeDiscord, type FakeUser } from '../fakes/discord/fake-discord.ts';
import { messageProbes } from '../e2e/discord/message-probes.ts';
import { testPicture } from '../e2e/app/app-harness.ts';

let fake: FakeDiscord;
let app: EaselApp;
let bot: DiscordBot;
let dataDir: string;
let alice: FakeUser;
let png: Buffer;
const { ephemeralOf } = messageProbes(() => fake);

const cdnHits = () => fake.requests.filter((r) => r.path.startsWith('/attachments/')).length;

beforeAll(async () => {
  fake = await FakeDiscord.start();
  alice = fake.addUser('alice');
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'easel-abuse-discord-'));
  png = await testPicture(96, 64);
  const config = defaultConfig({
    dataDir,
    simulator: { stepMs: 5, previews: false },
    // restyle only in another channel; upscale off everywhere.
    policy: { commands: { restyle: { channels: ['somewhere-else'] }, upscale: { enabled: false } } },
    discord: { token: fake.token, applicationId: fake.applicationId, guildId: fake.guildId, apiBase: fake.apiBase },
  });
  app = await createApp(config);
  bot = await startDiscordBot(app, config.discord, {
    maxInputBytes: config.limits.maxInputBytes,
    logger: pino({ level: process.env.EASEL_TEST_LOG ?? 'silent' }),
    clientOptions: { ws: { buildIdentifyThrottler: async () => ({ waitForIdentify: async () => {} }) } } as never,
  });
});

afterAll(async () => {
  await bot?.stop();
  await app?.close();
  await fake?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('Discord admission before download', () => {
  it('a command not allowed in this channel is refused without fetching its attachment', async () => {
    const before = cdnHits();
    const i = await fake.slashCommand('restyle', { user: alice, options: [{ name: 'image', type: 11, value: fake.addAttachment('a.png', png, 'image/png') }] });
    expect(await ephemeralOf(i)).toMatch(/can't be used in this channel/);
    const off = await fake.slashCommand('upscale', { user: alice, options: [{ name: 'image', type: 11, value: fake.addAttachment('b.png', png, 'image/png') }] });
    expect(await ephemeralOf(off)).toMatch(/turned off/);
    expect(cdnHits()).toBe(before);
  });

  it('a refused context menu opens no modal and downloads nothing', async () => {
    const before = cdnHits();
    const post = fake.postUserMessage(alice, { content: 'mine', attachments: [fake.addAttachment('c.png', png, 'image/png')] });
    const i = await fake.messageCommand('Restyle image', post, { user: alice });
    expect((await fake.acknowledged(i)).type).toBe(4); // a message, not a modal (9)
    expect(await ephemeralOf(i)).toMatch(/can't be used in this channel/);
    // Give a stray background download time to show up.
    await new Promise((r) => setTimeout(r, 200));
    expect(cdnHits()).toBe(before);
  });
});

describe('the context menu cache of picked images', () => {
  const MiB = 1024 * 1024;

  it('holds at most its byte budget, however many people pick 25 MiB images', async () => {
    const cache = new PickedImages({ maxBytes: 64 * MiB });
    let started = 0;
    for (let user = 0; user < 500; user++) {
      cache.put(`user-${user}`, `msg-${user}`, 25 * MiB, async () => {
        started++;
        return Buffer.alloc(1024); // what a download would deliver (small here, to keep the test light)
      });
      expect(cache.bytes).toBeLessThanOrEqual(64 * MiB);
    }
    // Only two 25 MiB downloads fit at once; the rest fetch after admission when their modal comes back.
    expect(started).toBeLessThanOrEqual(2);
    expect(await cache.take('user-0', 'msg-0')).toHaveLength(1024);
    expect(cache.take('user-0', 'msg-0')).toBeUndefined();
  });

  it('counts the real size once a download ends, keeps one pick per user, and frees bytes on take', async () => {
    const cache = new PickedImages({ maxBytes: 10 * MiB });
    expect(cache.put('u1', 'm1', 8 * MiB, async () => Buffer.alloc(2 * MiB))).toBe(true);
    expect(cache.put('u2', 'm2', 8 * MiB, async () => Buffer.alloc(MiB))).toBe(false); // does not fit yet
    await cache.take('u1', 'm1');
    expect(cache.bytes).toBe(0);
    expect(cache.put('u1', 'm1', 4 * MiB, async () => Buffer.alloc(3 * MiB))).toBe(true);
    await new Promise((r) => setTimeout(r, 0));
    expect(cache.bytes).toBe(3 * MiB);
    // A second pick by the same user replaces the first.
    expect(cache.put('u1', 'm9', 4 * MiB, async () => Buffer.alloc(MiB))).toBe(true);
    expect(cache.take('u1', 'm1')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 0));
    expect(cache.bytes).toBe(MiB);
  });

  it('forgets picks after their time', () => {
    let now = 0;
    const cache = new PickedImages({ maxBytes: 10 * MiB, ttlMs: 1000, now: () => now });
    cache.put('u1', 'm1', MiB, async () => Buffer.alloc(10));
    now = 2000;
    expect(cache.take('u1', 'm1')).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });
});
