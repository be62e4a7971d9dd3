/**
 * Message context menus end to end (real discord.js, fake Discord, real app on the simulator) with a
 * bot that has only the Guilds intent: the picked image comes from the interaction's resolved message,
 * survives a restart while the form is open (Discord will not show the bot the message again), an
 * expired link is reported as such, and an image shown through an embed is read from Discord's proxy.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EaselApp } from '../../../src/app/create-app.ts';
import { startDiscordBot, type DiscordBot } from '../../../src/bot/discord/discord-bot.ts';
import type { EaselConfig } from '../../../src/config/types.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';
import { FakeDiscord, type FakeUser } from '../../fakes/discord/fake-discord.ts';
import { jobIdOf, messageProbes } from './message-probes.ts';

let fake: FakeDiscord;
let app: EaselApp;
let bot: DiscordBot;
let config: EaselConfig;
let dataDir: string;
let alice: FakeUser;
let bob: FakeUser;
let png: Buffer;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

async function startBot(): Promise<void> {
  app = await createApp(config);
  bot = await startDiscordBot(app, config.discord, {
    maxInputBytes: config.limits.maxInputBytes,
    editIntervalMs: 300,
    clock: fake.clock,
    stateDir: config.dataDir,
    logger: pino({ level: process.env.EASEL_TEST_LOG ?? 'silent' }),
    clientOptions: { ws: { buildIdentifyThrottler: async () => ({ waitForIdentify: async () => {} }) } } as never,
  });
}

async function restartBot(): Promise<void> {
  await bot.stop();
  await app.close();
  await startBot();
}

const { resultOf, ephemeralOf } = messageProbes(() => fake);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  fake = await FakeDiscord.start();
  alice = fake.addUser('alice');
  bob = fake.addUser('bob');
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'easel-discord-menu-'));
  config = defaultConfig({
    dataDir,
    simulator: { stepMs: 5, previews: false },
    discord: { token: fake.token, applicationId: fake.applicationId, guildId: fake.guildId, apiBase: fake.apiBase },
  } as never);
  png = await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 90, g: 160, b: 60 } } }).png().toBuffer();
  await startBot();
});

afterAll(async () => {
  await bot?.stop();
  await app?.close();
  await fake?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('Discord context menus with only the Guilds intent', () => {
  it('keeps the picked image across a restart while the form is open, without reading the message again', async () => {
    const post = fake.postUserMessage(bob, { content: 'my sketch', attachments: [fake.addAttachment('sketch.png', png, 'image/png')] });
    const i = await fake.messageCommand('Restyle image', post, { user: alice });
    expect((await fake.acknowledged(i)).type).toBe(9);
    // The first download (at menu time) has happened; the bot restarts before the form is sent.
    await fake.waitFor(() => fake.requests.some((r) => r.path.startsWith('/attachments/') && r.path.includes('sketch.png') && r.status === 200), 10_000, 'download at menu time');
    await restartBot();
    const submitted = await fake.submitModal(i, { prompt: 'ink wash', denoise: '0.4' });
    const r = await resultOf(submitted);
    const job = (await app.getJob(jobIdOf(r)))!;
    expect(job.params.prompt).toBe('ink wash');
    // Nothing read the message back (the fake would have answered without attachments).
    expect(fake.requests.filter((x) => x.method === 'GET' && x.path.includes(`/messages/${post.id}`))).toEqual([]);
  });

  it('says clearly when Discord’s link to the picked image has expired', async () => {
    const post = fake.postUserMessage(bob, { attachments: [fake.addAttachment('old.png', png, 'image/png')] });
    const i = await fake.messageCommand('Restyle image', post, { user: alice });
    expect((await fake.acknowledged(i)).type).toBe(9);
    await restartBot();
    // The form stays open past the link's expiry (about a day), for Discord and for Easel alike.
    fake.clock.advance(25 * 60 * 60 * 1000);
    const submitted = await fake.submitModal(i, { prompt: 'late' });
    expect(await ephemeralOf(submitted)).toMatch(/link to "old\.png" has expired.*use the menu on the message again/);
  });

  it('reads an image shown through an embed from Discord’s proxy, not from the outside host', async () => {
    const outside = 'https://images.example.org/photos/cat.png';
    fake.addExternalImage(outside, png, 'image/png');
    const post = fake.postUserMessage(bob, { content: outside, embeds: [{ type: 'image', url: outside, image: { url: outside } }] });
    const i = await fake.messageCommand('Restyle image', post, { user: alice });
    expect((await fake.acknowledged(i)).type).toBe(9);
    const submitted = await fake.submitModal(i, { prompt: 'from a link' });
    const r = await resultOf(submitted);
    expect((await app.getJob(jobIdOf(r)))?.params.prompt).toBe('from a link');
    expect(fake.requests.some((x) => x.path.startsWith('/external/') && x.status === 200)).toBe(true);
  });
});
