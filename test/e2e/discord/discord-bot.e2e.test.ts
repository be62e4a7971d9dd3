/**
 * The Discord front end end to end: the real discord.js client against the fake Discord, with the
 * real Easel app (createApp) running jobs on the built-in simulator.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EaselApp } from '../../../src/app/create-app.ts';
import { startDiscordBot, type DiscordBot } from '../../../src/bot/discord/discord-bot.ts';
import type { EaselConfig } from '../../../src/config/types.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';
import { FakeDiscord, type FakeAttachment, type FakeInteraction, type FakeMessage, type FakeUser } from '../../fakes/discord/fake-discord.ts';
import { jobReaches, releaseStalled } from './job-waits.ts';
import { buttons, isResult, jobIdOf, labels, messageProbes } from './message-probes.ts';

let fake: FakeDiscord;
let app: EaselApp;
let bot: DiscordBot;
let config: EaselConfig;
let dataDir: string;
let alice: FakeUser;
let bob: FakeUser;
let png: Buffer;
let firstResult: FakeMessage;
let spoilerChannelId: string;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

async function startBot(): Promise<void> {
  app = await createApp(config);
  bot = await startDiscordBot(app, config.discord, {
    maxInputBytes: config.limits.maxInputBytes,
    editIntervalMs: 1000,
    // EASEL_TEST_LOG=debug shows what the bot does.
    logger: pino({ level: process.env.EASEL_TEST_LOG ?? 'silent' }),
    clientOptions: { ws: { buildIdentifyThrottler: async () => ({ waitForIdentify: async () => {} }) } } as never,
  });
}

async function stopBot(): Promise<void> {
  await bot?.stop();
  await app?.close();
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Let a stalled simulator run go and wait for the job's final event. */
function releaseUntilFinished(jobId: string): Promise<void> {
  return releaseStalled(app, jobId);
}

const { resultOf, ephemeralOf } = messageProbes(() => fake);

async function restyle(user: FakeUser, attachment: FakeAttachment, options: Array<{ name: string; type: number; value: unknown }> = [], channelId?: string): Promise<FakeInteraction> {
  return fake.slashCommand('restyle', {
    user,
    channelId,
    options: [{ name: 'image', type: 11, value: attachment }, ...options],
  });
}

async function click(m: FakeMessage, prefix: string, user: FakeUser = alice): Promise<FakeInteraction> {
  const id = buttons(m).find((b) => b.startsWith(prefix));
  if (!id) throw new Error(`no button ${prefix} on message (has ${buttons(m).join(', ')})`);
  return fake.clickButton(fake.messages.get(m.id)!, id, { user });
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  fake = await FakeDiscord.start();
  alice = fake.addUser('alice');
  bob = fake.addUser('bob');
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'easel-discord-e2e-'));
  spoilerChannelId = fake.addChannel('nsfw-ish').id;
  config = defaultConfig({
    dataDir,
    policy: { channels: { [spoilerChannelId]: { spoiler: true } } },
    simulator: { stepMs: 5, previews: true },
    discord: { token: fake.token, applicationId: fake.applicationId, guildId: fake.guildId, apiBase: fake.apiBase },
  } as never);
  png = await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 200, g: 120, b: 40 } } })
    .png()
    .toBuffer();
  await startBot();
});

afterAll(async () => {
  await stopBot();
  await fake?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('Discord bot with the real app', () => {
  it('runs /restyle with an attachment through progress to a gallery with buttons', async () => {
    const i = await restyle(alice, fake.addAttachment('cat.png', png, 'image/png'), [
      { name: 'prompt', type: 3, value: 'a cat in a hat' },
      { name: 'denoise', type: 10, value: 0.6 },
    ]);
    const ack = await fake.acknowledged(i);
    expect(ack.type).toBe(5); // deferred within the 3 s window
    const result = await resultOf(i);
    firstResult = result;
    // Progress was shown before the result (queue position or steps), with a cancel button.
    const history = fake.messages.get(result.id)!.history;
    expect(history.some((h) => /Queued|step \d+\/\d+|Starting on/.test(h.content))).toBe(true);
    // Gallery first, then the single image(s); the summary names the parameters.
    expect(result.attachments.length).toBeGreaterThanOrEqual(1);
    expect(result.attachments.every((a) => a.size <= 10 * 1024 * 1024)).toBe(true);
    expect(result.content).toMatch(/cat in a hat/);
    expect(result.content).toMatch(/seed/i);
    expect(result.content).toMatch(/<@\d+>/);
    expect(labels(result)).toEqual(expect.arrayContaining(['Reroll', 'Subtle', 'Strong', 'Ladder', 'V1', 'U1', 'Edit', 'Delete']));
    expect(result.components.length).toBeLessThanOrEqual(5);
    // The job knows where its message is.
    const job = await app.getJob(jobIdOf(result));
    expect(job?.state).toBe('done');
    expect((job?.platformRefs?.discord as { messageId?: string }).messageId).toBe(result.id);
    // Nothing the bot sent was refused, and it never hit a rate limit.
    expect(fake.errors()).toEqual([]);
  });

  it('reroll, subtle, strong, ladder, V1 and U1 each start a new job from the stored one', async () => {
    const parent = (await app.getJob(jobIdOf(firstResult)))!;
    const expectations: Array<[string, (job: NonNullable<Awaited<ReturnType<EaselApp['getJob']>>>) => void]> = [
      ['easel:reroll:', (j) => expect(j.params.seed).not.toBe(parent.params.seed)],
      ['easel:subtle:', (j) => expect(Number(j.params.denoise)).toBeLessThan(Number(parent.params.denoise))],
      ['easel:strong:', (j) => expect(Number(j.params.denoise)).toBeGreaterThan(Number(parent.params.denoise))],
      ['easel:ladder:', (j) => expect(j.ladder?.length).toBeGreaterThan(1)],
      ['easel:vary:', (j) => expect(j.sourceIndex).toBe(1)],
      ['easel:upscale:', (j) => expect(j.sourceIndex).toBe(1)],
    ];
    for (const [prefix, check] of expectations) {
      const t0 = Date.now();
      const i = await click(firstResult, prefix);
      const r = await resultOf(i, `result of ${prefix}`);
      const job = (await app.getJob(jobIdOf(r)))!;
      expect(job.parentId).toBe(parent.id);
      check(job);
      if (process.env.EASEL_TEST_LOG) console.log(prefix, Date.now() - t0, 'ms');
    }
    // The original result is untouched.
    expect(fake.messages.get(firstResult.id)!.deleted).toBe(false);
  });

  it('edit opens a modal prefilled from the job and reruns with the changes', async () => {
    const i = await click(firstResult, 'easel:edit:');
    const modal = await fake.acknowledged(i);
    expect(modal.type).toBe(9);
    expect(JSON.stringify(modal.data)).toContain('a cat in a hat');
    const submitted = await fake.submitModal(i, { prompt: 'a dog in a hat', denoise: '0.35' });
    const r = await resultOf(submitted);
    const job = (await app.getJob(jobIdOf(r)))!;
    expect(job.params.prompt).toBe('a dog in a hat');
    expect(job.params.denoise).toBe(0.35);
    expect(job.action).toBe('edit');
  });

  it('an out-of-range edit gets a friendly ephemeral error', async () => {
    const i = await click(firstResult, 'easel:edit:');
    await fake.acknowledged(i);
    const submitted = await fake.submitModal(i, { denoise: '1.5' });
    expect(await ephemeralOf(submitted)).toMatch(/denoise/i);
  });

  it('only the author may delete; delete removes the result', async () => {
    const i0 = await restyle(alice, fake.addAttachment('del.png', png, 'image/png'));
    const result = await resultOf(i0);
    const denied = await click(result, 'easel:delete:', bob);
    expect(await ephemeralOf(denied)).toMatch(/only/i);
    expect(fake.messages.get(result.id)!.deleted).toBe(false);
    const ok = await click(result, 'easel:delete:', alice);
    await fake.waitFor(() => fake.messages.get(result.id)!.deleted, 10_000, 'deleted result');
    expect((await fake.acknowledged(ok)).type).toBe(6);
  });

  it('cancel while running stops the job and says so', async () => {
    app.simulator!.stallNext();
    try {
      const i = await restyle(alice, fake.addAttachment('stall.png', png, 'image/png'));
      const status = await fake.waitFor(() => {
        const m = fake.original(i);
        return m && buttons(m).some((b) => b.startsWith('easel:cancel:')) && m;
      }, 15_000, 'status with cancel button');
      const jobId = jobIdOf(status);
      await jobReaches(app, jobId, ['submitted', 'running']);
      await click(status, 'easel:cancel:');
      await fake.waitFor(() => /cancelled/i.test(fake.messages.get(status.id)!.content), 15_000, 'cancelled notice');
      expect(buttons(fake.messages.get(status.id)!)).toEqual([]);
      expect((await app.getJob(jobId))?.state).toBe('cancelled');
    } finally {
      app.simulator!.release();
    }
  });

  it('context menu -> modal -> job on the picked image', async () => {
    const post = fake.postUserMessage(bob, { content: 'look at this', attachments: [fake.addAttachment('photo.png', png, 'image/png')] });
    const i = await fake.messageCommand('Restyle image', post, { user: alice });
    const modal = await fake.acknowledged(i);
    expect(modal.type).toBe(9);
    const submitted = await fake.submitModal(i, { prompt: 'stained glass window', denoise: '0.5' });
    const r = await resultOf(submitted);
    const job = (await app.getJob(jobIdOf(r)))!;
    expect(job.command).toBe('restyle');
    expect(job.params.prompt).toBe('stained glass window');
    expect(job.params.denoise).toBe(0.5);
  });

  it('a non-image is refused at once with an ephemeral message', async () => {
    const i = await restyle(alice, fake.addAttachment('notes.txt', Buffer.from('hello'), 'text/plain'));
    expect(await ephemeralOf(i)).toMatch(/not an image/i);
    // A file that only pretends to be a PNG is caught by the core after download.
    const j = await restyle(alice, fake.addAttachment('fake.png', Buffer.from('definitely not a png'), 'image/png'));
    expect((await fake.acknowledged(j)).type).toBe(5);
    expect(await ephemeralOf(j)).not.toBe('');
    expect(fake.original(j)?.deleted ?? true).toBe(true);
  });

  it('refuses attachments from a host that is not Discord’s CDN, and oversized files by their size field', async () => {
    let hits = 0;
    const other = http.createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(png);
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const port = (other.address() as AddressInfo).port;
      const evil = { ...fake.addAttachment('evil.png', png, 'image/png') };
      evil.url = evil.proxy_url = `http://127.0.0.1:${port}/evil.png`;
      const i = await restyle(alice, evil);
      expect(await ephemeralOf(i)).toMatch(/only read images uploaded to Discord/i);
      expect(hits).toBe(0);
    } finally {
      other.close();
    }
    const huge = fake.addAttachment('huge.png', png, 'image/png');
    huge.size = config.limits.maxInputBytes + 1;
    const before = fake.requests.filter((r) => r.path.startsWith('/attachments/')).length;
    const j = await restyle(alice, huge);
    expect(await ephemeralOf(j)).toMatch(/largest image/i);
    expect(fake.requests.filter((r) => r.path.startsWith('/attachments/')).length).toBe(before);
  });

  it('/easel status says the host is simulated; autocomplete offers styles', async () => {
    const i = await fake.slashCommand('easel', { user: alice, subcommand: 'status' });
    const reply = await fake.waitFor(() => {
      const m = fake.original(i);
      return m && m.content !== '' ? m : undefined;
    }, 10_000, 'status reply');
    expect(reply.flags & 64).toBe(64);
    expect(reply.content).toMatch(/simulated/);
    const ac = await fake.slashCommand('restyle', { user: alice, autocomplete: true, options: [{ name: 'style', type: 3, value: 'wat', focused: true }] });
    const answer = await fake.acknowledged(ac);
    expect(answer.type).toBe(8);
    expect(JSON.stringify(answer.data)).toContain('watercolor');
  });

  it('/easel queue lists my running job and /easel cancel stops it', async () => {
    app.simulator!.stallNext();
    const i = await restyle(bob, fake.addAttachment('queued.png', png, 'image/png'));
    const status = await fake.waitFor(() => {
      const m = fake.original(i);
      return m && buttons(m).some((b) => b.startsWith('easel:cancel:')) && m;
    }, 15_000, 'status message');
    const jobId = jobIdOf(status);
    const reply = async (sub: string) => {
      const q = await fake.slashCommand('easel', { user: bob, subcommand: sub });
      return fake.waitFor(() => {
        const m = fake.original(q);
        return m && m.content !== '' ? m : undefined;
      }, 10_000, `/easel ${sub} reply`);
    };
    const queue = await reply('queue');
    expect(queue.flags & 64).toBe(64);
    expect(queue.content).toContain(jobId);
    const cancelled = await reply('cancel');
    expect(cancelled.content).toMatch(/cancelled/i);
    await fake.waitFor(() => /cancelled/i.test(fake.messages.get(status.id)!.content), 10_000, 'status shows cancelled');
    expect((await app.getJob(jobId))?.state).toBe('cancelled');
  });

  it('a result that arrives after the 15-minute token is posted in the channel and the reply points to it', async () => {
    app.simulator!.stallNext();
    const i = await restyle(alice, fake.addAttachment('slow.png', png, 'image/png'));
    const status = await fake.waitFor(() => {
      const m = fake.original(i);
      return m && buttons(m).some((b) => b.startsWith('easel:cancel:')) && m;
    }, 15_000, 'status message');
    // The job hangs on the GPU while Discord's clock passes the token's 15 minutes.
    fake.clock.advance(16 * 60 * 1000);
    await releaseUntilFinished(jobIdOf(status));
    const posted = await fake.waitFor(() => fake.messagesIn(fake.channelId).find((m) => isResult(m) && !m.interactionId), 20_000, 'channel result');
    expect(posted.content).toContain(`<@${alice.id}>`);
    const original = await fake.waitFor(() => {
      const m = fake.original(i);
      return m && m.content.includes(posted.id) && m;
    }, 10_000, 'pointer in the original reply');
    expect(buttons(original)).toEqual([]);
    expect(fake.errors().some((r) => r.code === 50027)).toBe(true);
    // Where the result ended up is stored on the job.
    await eventually(
      async () => ((await app.getJob(jobIdOf(posted)))?.platformRefs?.discord as { resultMessageId?: string }).resultMessageId === posted.id,
      'result message stored on the job',
    );
  });

  it('when the channel is not writable, a late result goes to the author’s DMs', async () => {
    const locked = fake.addChannel('locked', { botCanWrite: false });
    app.simulator!.stallNext();
    const i = await restyle(alice, fake.addAttachment('dm.png', png, 'image/png'), [], locked.id);
    const status = await fake.waitFor(() => {
      const m = fake.original(i);
      return m && buttons(m).some((b) => b.startsWith('easel:cancel:')) && m;
    }, 15_000, 'status message');
    fake.clock.advance(16 * 60 * 1000);
    await releaseUntilFinished(jobIdOf(status));
    const dm = await fake.waitFor(() => [...fake.channels.values()].find((c) => c.type === 1 && c.recipients?.[0]?.id === alice.id), 20_000, 'DM channel');
    const result = await fake.waitFor(() => fake.messagesIn(dm.id).find(isResult), 20_000, 'result in DM');
    expect(result.attachments.length).toBeGreaterThan(0);
  });

  it('shows live previews while a slower job runs, then the result', async () => {
    app.simulator!.setStepMs(40);
    try {
      const i = await restyle(alice, fake.addAttachment('preview.png', png, 'image/png'));
      const result = await resultOf(i);
      const history = fake.messages.get(result.id)!.history;
      expect(history.some((h) => h.files.some((f) => f.startsWith('preview.')) && /step \d+\/\d+/.test(h.content))).toBe(true);
      expect(result.attachments.some((a) => a.filename.startsWith('preview.'))).toBe(false);
      // Edits were coalesced: far fewer than one per step.
      expect(history.length).toBeLessThan(15);
    } finally {
      app.simulator!.setStepMs(5);
    }
  });

  it('a failed job tells its author why, ephemerally', async () => {
    app.simulator!.failNext({ exceptionType: 'torch.cuda.OutOfMemoryError', message: 'CUDA out of memory' });
    const i = await restyle(alice, fake.addAttachment('fail.png', png, 'image/png'));
    const text = await ephemeralOf(i);
    expect(text).toMatch(/failed/i);
    expect(text).toMatch(/memory/i);
    await fake.waitFor(() => fake.original(i)?.deleted, 10_000, 'progress message removed');
  });

  it('stops editing a deleted progress message and still delivers the result', async () => {
    app.simulator!.stallNext();
    const i = await restyle(alice, fake.addAttachment('deleted.png', png, 'image/png'));
    const status = await fake.waitFor(() => {
      const m = fake.original(i);
      return m && buttons(m).some((b) => b.startsWith('easel:cancel:')) && m;
    }, 15_000, 'status message');
    fake.deleteMessage(status.id);
    await releaseUntilFinished(jobIdOf(status));
    const result = await fake.waitFor(() => fake.followUps(i).find(isResult), 15_000, 'result as a follow-up');
    expect(result.attachments.length).toBeGreaterThan(0);
    const edits10008 = fake.requests.filter((r) => r.code === 10008 && r.path.includes(i.token));
    expect(edits10008.length).toBeLessThanOrEqual(2);
  });

  it('posts results as spoilers in a channel whose policy says so', async () => {
    const i = await restyle(alice, fake.addAttachment('spoil.png', png, 'image/png'), [], spoilerChannelId);
    const result = await resultOf(i);
    expect(result.attachments.length).toBeGreaterThan(0);
    expect(result.attachments.every((a) => a.filename.startsWith('SPOILER_'))).toBe(true);
  });

  it('buttons keep working after the bot restarts (new client, new app, same data)', async () => {
    const before = jobIdOf(firstResult);
    await stopBot();
    await startBot();
    const i = await click(firstResult, 'easel:reroll:');
    const r = await resultOf(i, 'result after restart');
    const job = (await app.getJob(jobIdOf(r)))!;
    expect(job.parentId).toBe(before);
  });
});
