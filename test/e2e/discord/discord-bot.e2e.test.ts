/**
 * The Discord front end end to end: the real discord.js client against the fake Discord, with the
 * real Easel app (createApp) running jobs on the built-in simulator.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EaselApp } from '../../../src/app/create-app.ts';
import type { FakeMessage } from '../../fakes/discord/fake-discord.ts';
import { eventually, solidPng, startDiscordHarness, type DiscordHarness } from './harness.ts';
import { failOnUnhandledRejections } from '../app/app-harness.ts';
import { jobReaches, releaseStalled } from './job-waits.ts';
import { buttons, isResult, jobIdOf, labels } from './message-probes.ts';

let h: DiscordHarness;
let png: Buffer;
let firstResult: FakeMessage;
let spoilerChannelId: string;

failOnUnhandledRejections();

beforeAll(async () => {
  h = await startDiscordHarness({
    name: 'e2e',
    config: (fake) => {
      spoilerChannelId = fake.addChannel('nsfw-ish').id;
      return { policy: { channels: { [spoilerChannelId]: { spoiler: true } } }, simulator: { stepMs: 5, previews: true } };
    },
    editIntervalMs: 1000,
  });
  png = await solidPng({ r: 200, g: 120, b: 40 });
});

afterAll(async () => {
  await h?.close();
});

describe('Discord bot with the real app', () => {
  it('runs /restyle with an attachment through progress to a gallery with buttons', async () => {
    const i = await h.restyle(h.alice, h.fake.addAttachment('cat.png', png, 'image/png'), [
      { name: 'prompt', type: 3, value: 'a cat in a hat' },
      { name: 'denoise', type: 10, value: 0.6 },
    ]);
    const ack = await h.fake.acknowledged(i);
    expect(ack.type).toBe(5); // deferred within the 3 s window
    const result = await h.resultOf(i);
    firstResult = result;
    // Progress was shown before the result (queue position or steps), with a cancel button.
    const history = h.fake.messages.get(result.id)!.history;
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
    const job = await h.app.getJob(jobIdOf(result));
    expect(job?.state).toBe('done');
    expect((job?.platformRefs?.discord as { messageId?: string }).messageId).toBe(result.id);
    // Nothing the bot sent was refused, and it never hit a rate limit.
    expect(h.fake.errors()).toEqual([]);
  });

  it('reroll, subtle, strong, ladder, V1 and U1 each start a new job from the stored one', async () => {
    const parent = (await h.app.getJob(jobIdOf(firstResult)))!;
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
      const i = await h.click(firstResult, prefix);
      const r = await h.resultOf(i, `result of ${prefix}`);
      const job = (await h.app.getJob(jobIdOf(r)))!;
      expect(job.parentId).toBe(parent.id);
      check(job);
      if (process.env.EASEL_TEST_LOG) console.log(prefix, Date.now() - t0, 'ms');
    }
    // The original result is untouched.
    expect(h.fake.messages.get(firstResult.id)!.deleted).toBe(false);
  });

  it('edit opens a modal prefilled from the job and reruns with the changes', async () => {
    const i = await h.click(firstResult, 'easel:edit:');
    const modal = await h.fake.acknowledged(i);
    expect(modal.type).toBe(9);
    expect(JSON.stringify(modal.data)).toContain('a cat in a hat');
    const submitted = await h.fake.submitModal(i, { prompt: 'a dog in a hat', denoise: '0.35' });
    const r = await h.resultOf(submitted);
    const job = (await h.app.getJob(jobIdOf(r)))!;
    expect(job.params.prompt).toBe('a dog in a hat');
    expect(job.params.denoise).toBe(0.35);
    expect(job.action).toBe('edit');
  });

  it('an out-of-range edit gets a friendly ephemeral error', async () => {
    const i = await h.click(firstResult, 'easel:edit:');
    await h.fake.acknowledged(i);
    const submitted = await h.fake.submitModal(i, { denoise: '1.5' });
    expect(await h.ephemeralOf(submitted)).toMatch(/denoise/i);
  });

  it('only the author may delete; delete removes the result', async () => {
    const i0 = await h.restyle(h.alice, h.fake.addAttachment('del.png', png, 'image/png'));
    const result = await h.resultOf(i0);
    const denied = await h.click(result, 'easel:delete:', h.bob);
    expect(await h.ephemeralOf(denied)).toMatch(/only/i);
    expect(h.fake.messages.get(result.id)!.deleted).toBe(false);
    const ok = await h.click(result, 'easel:delete:', h.alice);
    await h.fake.waitFor(() => h.fake.messages.get(result.id)!.deleted, 10_000, 'deleted result');
    expect((await h.fake.acknowledged(ok)).type).toBe(6);
  });

  it('cancel while running stops the job and says so', async () => {
    h.app.simulator!.stallNext();
    try {
      const i = await h.restyle(h.alice, h.fake.addAttachment('stall.png', png, 'image/png'));
      const status = await h.statusOf(i, 'status with cancel button');
      const jobId = jobIdOf(status);
      await jobReaches(h.app, jobId, ['submitted', 'running']);
      await h.click(status, 'easel:cancel:');
      await h.fake.waitFor(() => /cancelled/i.test(h.fake.messages.get(status.id)!.content), 15_000, 'cancelled notice');
      expect(buttons(h.fake.messages.get(status.id)!)).toEqual([]);
      expect((await h.app.getJob(jobId))?.state).toBe('cancelled');
    } finally {
      h.app.simulator!.release();
    }
  });

  it('context menu -> modal -> job on the picked image', async () => {
    const post = h.fake.postUserMessage(h.bob, { content: 'look at this', attachments: [h.fake.addAttachment('photo.png', png, 'image/png')] });
    const i = await h.fake.messageCommand('Restyle image', post, { user: h.alice });
    const modal = await h.fake.acknowledged(i);
    expect(modal.type).toBe(9);
    const submitted = await h.fake.submitModal(i, { prompt: 'stained glass window', denoise: '0.5' });
    const r = await h.resultOf(submitted);
    const job = (await h.app.getJob(jobIdOf(r)))!;
    expect(job.command).toBe('restyle');
    expect(job.params.prompt).toBe('stained glass window');
    expect(job.params.denoise).toBe(0.5);
  });

  it('a non-image is refused at once with an ephemeral message', async () => {
    const i = await h.restyle(h.alice, h.fake.addAttachment('notes.txt', Buffer.from('hello'), 'text/plain'));
    expect(await h.ephemeralOf(i)).toMatch(/not an image/i);
    // A file that only pretends to be a PNG is caught by the core after download.
    const j = await h.restyle(h.alice, h.fake.addAttachment('fake.png', Buffer.from('definitely not a png'), 'image/png'));
    expect((await h.fake.acknowledged(j)).type).toBe(5);
    expect(await h.ephemeralOf(j)).not.toBe('');
    expect(h.fake.original(j)?.deleted ?? true).toBe(true);
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
      const evil = { ...h.fake.addAttachment('evil.png', png, 'image/png') };
      evil.url = evil.proxy_url = `http://127.0.0.1:${port}/evil.png`;
      const i = await h.restyle(h.alice, evil);
      expect(await h.ephemeralOf(i)).toMatch(/only read images uploaded to Discord/i);
      expect(hits).toBe(0);
    } finally {
      other.close();
    }
    const huge = h.fake.addAttachment('huge.png', png, 'image/png');
    huge.size = h.config.limits.maxInputBytes + 1;
    const before = h.fake.requests.filter((r) => r.path.startsWith('/attachments/')).length;
    const j = await h.restyle(h.alice, huge);
    expect(await h.ephemeralOf(j)).toMatch(/largest image/i);
    expect(h.fake.requests.filter((r) => r.path.startsWith('/attachments/')).length).toBe(before);
  });

  it('/easel status says the host is simulated; autocomplete offers styles', async () => {
    const i = await h.fake.slashCommand('easel', { user: h.alice, subcommand: 'status' });
    const reply = await h.fake.waitFor(() => {
      const m = h.fake.original(i);
      return m && m.content !== '' ? m : undefined;
    }, 10_000, 'status reply');
    expect(reply.flags & 64).toBe(64);
    expect(reply.content).toMatch(/simulated/);
    const ac = await h.fake.slashCommand('restyle', { user: h.alice, autocomplete: true, options: [{ name: 'style', type: 3, value: 'wat', focused: true }] });
    const answer = await h.fake.acknowledged(ac);
    expect(answer.type).toBe(8);
    expect(JSON.stringify(answer.data)).toContain('watercolor');
  });

  it('/easel queue lists my running job and /easel cancel stops it', async () => {
    h.app.simulator!.stallNext();
    const i = await h.restyle(h.bob, h.fake.addAttachment('queued.png', png, 'image/png'));
    const status = await h.statusOf(i);
    const jobId = jobIdOf(status);
    const reply = async (sub: string) => {
      const q = await h.fake.slashCommand('easel', { user: h.bob, subcommand: sub });
      return h.fake.waitFor(() => {
        const m = h.fake.original(q);
        return m && m.content !== '' ? m : undefined;
      }, 10_000, `/easel ${sub} reply`);
    };
    const queue = await reply('queue');
    expect(queue.flags & 64).toBe(64);
    expect(queue.content).toContain(jobId);
    const cancelled = await reply('cancel');
    expect(cancelled.content).toMatch(/cancelled/i);
    await h.fake.waitFor(() => /cancelled/i.test(h.fake.messages.get(status.id)!.content), 10_000, 'status shows cancelled');
    expect((await h.app.getJob(jobId))?.state).toBe('cancelled');
  });

  it('a result that arrives after the 15-minute token is posted in the channel and the reply points to it', async () => {
    h.app.simulator!.stallNext();
    const i = await h.restyle(h.alice, h.fake.addAttachment('slow.png', png, 'image/png'));
    const status = await h.statusOf(i);
    // The job hangs on the GPU while Discord's clock passes the token's 15 minutes.
    h.fake.clock.advance(16 * 60 * 1000);
    await releaseStalled(h.app, jobIdOf(status));
    const posted = await h.fake.waitFor(() => h.fake.messagesIn(h.fake.channelId).find((m) => isResult(m) && !m.interactionId), 20_000, 'channel result');
    expect(posted.content).toContain(`<@${h.alice.id}>`);
    const original = await h.fake.waitFor(() => {
      const m = h.fake.original(i);
      return m && m.content.includes(posted.id) && m;
    }, 10_000, 'pointer in the original reply');
    expect(buttons(original)).toEqual([]);
    expect(h.fake.errors().some((r) => r.code === 50027)).toBe(true);
    // Where the result ended up is stored on the job.
    await eventually(
      async () => ((await h.app.getJob(jobIdOf(posted)))?.platformRefs?.discord as { resultMessageId?: string }).resultMessageId === posted.id,
      'result message stored on the job',
    );
  });

  it('when the channel is not writable, a late result goes to the author’s DMs', async () => {
    const locked = h.fake.addChannel('locked', { botCanWrite: false });
    h.app.simulator!.stallNext();
    const i = await h.restyle(h.alice, h.fake.addAttachment('dm.png', png, 'image/png'), [], locked.id);
    const status = await h.statusOf(i);
    h.fake.clock.advance(16 * 60 * 1000);
    await releaseStalled(h.app, jobIdOf(status));
    const dm = await h.fake.waitFor(() => [...h.fake.channels.values()].find((c) => c.type === 1 && c.recipients?.[0]?.id === h.alice.id), 20_000, 'DM channel');
    const result = await h.fake.waitFor(() => h.fake.messagesIn(dm.id).find(isResult), 20_000, 'result in DM');
    expect(result.attachments.length).toBeGreaterThan(0);
  });

  it('shows live previews while a slower job runs, then the result', async () => {
    h.app.simulator!.setStepMs(40);
    try {
      const i = await h.restyle(h.alice, h.fake.addAttachment('preview.png', png, 'image/png'));
      const result = await h.resultOf(i);
      const history = h.fake.messages.get(result.id)!.history;
      expect(history.some((h) => h.files.some((f) => f.startsWith('preview.')) && /step \d+\/\d+/.test(h.content))).toBe(true);
      expect(result.attachments.some((a) => a.filename.startsWith('preview.'))).toBe(false);
      // Edits were coalesced: far fewer than one per step.
      expect(history.length).toBeLessThan(15);
    } finally {
      h.app.simulator!.setStepMs(5);
    }
  });

  it('a failed job tells its author why, ephemerally', async () => {
    h.app.simulator!.failNext({ exceptionType: 'torch.cuda.OutOfMemoryError', message: 'CUDA out of memory' });
    const i = await h.restyle(h.alice, h.fake.addAttachment('fail.png', png, 'image/png'));
    const text = await h.ephemeralOf(i);
    expect(text).toMatch(/failed/i);
    expect(text).toMatch(/memory/i);
    await h.fake.waitFor(() => h.fake.original(i)?.deleted, 10_000, 'progress message removed');
  });

  it('stops editing a deleted progress message and still delivers the result', async () => {
    h.app.simulator!.stallNext();
    const i = await h.restyle(h.alice, h.fake.addAttachment('deleted.png', png, 'image/png'));
    const status = await h.statusOf(i);
    h.fake.deleteMessage(status.id);
    await releaseStalled(h.app, jobIdOf(status));
    const result = await h.fake.waitFor(() => h.fake.followUps(i).find(isResult), 15_000, 'result as a follow-up');
    expect(result.attachments.length).toBeGreaterThan(0);
    const edits10008 = h.fake.requests.filter((r) => r.code === 10008 && r.path.includes(i.token));
    expect(edits10008.length).toBeLessThanOrEqual(2);
  });

  it('posts results as spoilers in a channel whose policy says so', async () => {
    const i = await h.restyle(h.alice, h.fake.addAttachment('spoil.png', png, 'image/png'), [], spoilerChannelId);
    const result = await h.resultOf(i);
    expect(result.attachments.length).toBeGreaterThan(0);
    expect(result.attachments.every((a) => a.filename.startsWith('SPOILER_'))).toBe(true);
  });

  it('buttons keep working after the bot restarts (new client, new app, same data)', async () => {
    const before = jobIdOf(firstResult);
    await h.restartBot();
    const i = await h.click(firstResult, 'easel:reroll:');
    const r = await h.resultOf(i, 'result after restart');
    const job = (await h.app.getJob(jobIdOf(r)))!;
    expect(job.parentId).toBe(before);
  });
});
