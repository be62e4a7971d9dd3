/**
 * Getting a result to the user when Discord makes it hard (real discord.js, fake Discord, real app on
 * the simulator): the 15-minute token running out while the job runs (Easel's clock and Discord's
 * move together), a channel that refuses files plus closed DMs (50013 then 50007), and a per-file cap
 * far below the one the interaction reports (40005 again and again).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EaselApp } from '../../../src/app/create-app.ts';
import { startDiscordBot, type DiscordBot } from '../../../src/bot/discord/discord-bot.ts';
import { HANDOVER_NOTE, TOKEN_LIFETIME_MS, TOKEN_MARGIN_MS } from '../../../src/bot/discord/job-presenter.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';
import { FakeDiscord, type FakeInteraction, type FakeMessage, type FakeUser } from '../../fakes/discord/fake-discord.ts';
import { releaseStalled } from './job-waits.ts';
import { buttons, isResult, jobIdOf } from './message-probes.ts';

/** The per-file cap Discord enforces in the 40005 tests, far below what the interaction reports. */
const ENFORCED = 96 * 1024;

interface Rig {
  fake: FakeDiscord;
  app: EaselApp;
  bot: DiscordBot;
  dataDir: string;
  alice: FakeUser;
}

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

async function startRig(fakeOpts: Parameters<typeof FakeDiscord.start>[0] = {}): Promise<Rig> {
  const fake = await FakeDiscord.start(fakeOpts);
  const alice = fake.addUser('alice');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'easel-discord-delivery-'));
  const config = defaultConfig({
    dataDir,
    simulator: { stepMs: 5, previews: false },
    discord: { token: fake.token, applicationId: fake.applicationId, guildId: fake.guildId, apiBase: fake.apiBase },
  } as never);
  const app = await createApp(config);
  const bot = await startDiscordBot(app, config.discord, {
    maxInputBytes: config.limits.maxInputBytes,
    editIntervalMs: 300,
    // Easel runs on the fake's clock: advancing it moves Discord's time and Easel's together.
    clock: fake.clock,
    logger: pino({ level: process.env.EASEL_TEST_LOG ?? 'silent' }),
    clientOptions: { ws: { buildIdentifyThrottler: async () => ({ waitForIdentify: async () => {} }) } } as never,
  });
  return { fake, app, bot, dataDir, alice };
}

async function stopRig(r: Rig | undefined): Promise<void> {
  if (!r) return;
  r.app.simulator?.release();
  await r.bot.stop();
  await r.app.close();
  await r.fake.close();
  await rm(r.dataDir, { recursive: true, force: true });
}

function statusOf(fake: FakeDiscord, i: FakeInteraction): Promise<FakeMessage> {
  return fake.waitFor(() => {
    const m = fake.original(i);
    return m && buttons(m).some((b) => b.startsWith('easel:cancel:')) && m;
  }, 15_000, 'status message');
}

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('Discord delivery when time runs out or Discord refuses', () => {
  let rig: Rig;
  let png: Buffer;

  beforeAll(async () => {
    rig = await startRig();
    png = await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 30, g: 140, b: 200 } } }).png().toBuffer();
  });
  afterAll(() => stopRig(rig));

  it('hands over before the token expires: a last edit through the token, then bot messages, and never a 50027', async () => {
    const { fake, app, alice } = rig;
    app.simulator!.stallNext();
    const i = await fake.slashCommand('restyle', { user: alice, options: [{ name: 'image', type: 11, value: fake.addAttachment('long.png', png, 'image/png') }] });
    const status = await statusOf(fake, i);
    const jobId = jobIdOf(status);
    // Both clocks reach the token's safety margin while the job still runs on the GPU.
    fake.clock.advance(TOKEN_LIFETIME_MS - TOKEN_MARGIN_MS + 1000);
    const handedOver = await fake.waitFor(() => {
      const m = fake.original(i);
      return m && m.content.includes(HANDOVER_NOTE) && m;
    }, 10_000, 'hand-over note in the reply');
    // That edit went through the interaction webhook while the token still worked.
    const lastTokenEdit = fake.requests.filter((r) => r.method === 'PATCH' && r.path.includes(i.token)).pop();
    expect(lastTokenEdit?.status).toBe(200);
    expect(buttons(handedOver).some((b) => b.startsWith('easel:cancel:'))).toBe(true);
    // The token expires; the job ends later.
    fake.clock.advance(2 * 60 * 1000);
    await releaseStalled(app, jobId);
    const posted = await fake.waitFor(() => fake.messagesIn(fake.channelId).find((m) => isResult(m) && !m.interactionId), 20_000, 'result in the channel');
    expect(posted.content).toContain(`<@${alice.id}>`);
    expect(posted.allowedMentions).toEqual({ users: [alice.id] });
    await fake.waitFor(() => fake.original(i)?.content.includes(posted.id), 10_000, 'pointer in the original reply');
    // Easel knew the token's age: it never tried a dead token.
    expect(fake.requests.filter((r) => r.code === 50027)).toEqual([]);
    expect(fake.requests.filter((r) => r.path.includes(i.token) && r.at > i.issuedAt + TOKEN_LIFETIME_MS)).toEqual([]);
  });

  it('a late result from a channel the bot cannot see (50001) goes to the author’s DMs', async () => {
    const { fake, app, alice } = rig;
    const hidden = fake.addChannel('private-room', { botCanView: false });
    app.simulator!.stallNext();
    const i = await fake.slashCommand('restyle', {
      user: alice,
      channelId: hidden.id,
      options: [{ name: 'image', type: 11, value: fake.addAttachment('hidden.png', png, 'image/png') }],
    });
    const status = await statusOf(fake, i);
    fake.clock.advance(TOKEN_LIFETIME_MS + 60 * 1000);
    await releaseStalled(app, jobIdOf(status));
    const dm = await fake.waitFor(() => [...fake.channels.values()].find((c) => c.type === 1 && c.recipients?.[0]?.id === alice.id), 20_000, 'DM channel');
    const result = await fake.waitFor(() => fake.messagesIn(dm.id).find(isResult), 20_000, 'result in DM');
    expect(result.attachments.length).toBeGreaterThan(0);
    expect(fake.requests.some((r) => r.code === 50001 && r.path.includes(hidden.id))).toBe(true);
  });

  it('when the channel refuses files and the author’s DMs are closed (50007), the result is a channel message that mentions them', async () => {
    const { fake, app } = rig;
    const textOnly = fake.addChannel('text-only', { botCanAttach: false });
    const shy = fake.addUser('shy');
    fake.closedDms.add(shy.id);
    app.simulator!.stallNext();
    const i = await fake.slashCommand('restyle', {
      user: shy,
      channelId: textOnly.id,
      options: [{ name: 'image', type: 11, value: fake.addAttachment('shy.png', png, 'image/png') }],
    });
    const status = await statusOf(fake, i);
    fake.clock.advance(TOKEN_LIFETIME_MS + 60 * 1000);
    await releaseStalled(app, jobIdOf(status));
    const posted = await fake.waitFor(() => fake.messagesIn(textOnly.id).find((m) => isResult(m) && !m.interactionId), 20_000, 'text-only result');
    expect(posted.content).toContain(`<@${shy.id}>`);
    expect(posted.content).toMatch(/DMs are closed/);
    expect(posted.allowedMentions).toEqual({ users: [shy.id] });
    expect(posted.attachments).toEqual([]);
    // It tried the channel with files (50013) and the DM (50007) first.
    const codes = fake.requests.filter((r) => r.code === 50013 || r.code === 50007).map((r) => r.code);
    expect(codes).toEqual(expect.arrayContaining([50013, 50007]));
    expect((await app.getJob(jobIdOf(posted)))?.state).toBe('done');
  });
});

describe('Discord delivery when the real upload cap is far below the reported one', () => {
  let rig: Rig;
  let noisy: Buffer;

  beforeAll(async () => {
    // The interaction says 8x what Discord then accepts per file.
    rig = await startRig({ attachmentSizeLimit: 8 * ENFORCED, enforcedFileBytes: ENFORCED });
    // Random noise compresses badly, so results are far larger than the cap as plain PNGs.
    const w = 512;
    const h = 512;
    const raw = Buffer.alloc(w * h * 3);
    let x = 2463534242;
    for (let n = 0; n < raw.length; n++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      raw[n] = x & 0xff;
    }
    noisy = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
  });
  afterAll(() => stopRig(rig));

  it('keeps stepping the files down after 40005 until they fit', async () => {
    const { fake, alice } = rig;
    const i = await fake.slashCommand('restyle', { user: alice, options: [{ name: 'image', type: 11, value: fake.addAttachment('noisy.png', noisy, 'image/png') }] });
    const result = await fake.waitFor(() => {
      const m = fake.original(i);
      return isResult(m) && m;
    }, 30_000, 'result');
    expect(result.attachments.length).toBeGreaterThan(0);
    for (const a of result.attachments) expect(a.size).toBeLessThanOrEqual(ENFORCED);
    // More than one step down was needed.
    expect(fake.requests.filter((r) => r.code === 40005 && r.path.includes(i.token)).length).toBeGreaterThanOrEqual(2);
  });

  it('says so clearly when even the smallest step does not fit', async () => {
    const { fake, alice } = rig;
    fake.setEnforcedFileBytes(2 * 1024);
    try {
      const i = await fake.slashCommand('restyle', { user: alice, options: [{ name: 'image', type: 11, value: fake.addAttachment('tiny-cap.png', noisy, 'image/png') }] });
      const result = await fake.waitFor(() => {
        const m = fake.original(i);
        return isResult(m) && m;
      }, 60_000, 'result without files');
      expect(result.attachments).toEqual([]);
      expect(result.content).toMatch(/refused the images even at 64 KiB/);
    } finally {
      fake.setEnforcedFileBytes(ENFORCED);
    }
  }, 90_000);
});
