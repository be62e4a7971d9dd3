/**
 * Message context menus end to end (real discord.js, fake Discord, real app on the simulator) with a
 * bot that has only the Guilds intent: the picked image comes from the interaction's resolved message,
 * survives a restart while the form is open (Discord will not show the bot the message again), an
 * expired link is reported as such, and an image shown through an embed is read from Discord's proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidPng, startDiscordHarness, type DiscordHarness } from './harness.ts';
import { failOnUnhandledRejections } from '../app/app-harness.ts';
import { jobIdOf } from './message-probes.ts';

let h: DiscordHarness;
let png: Buffer;

failOnUnhandledRejections();

beforeAll(async () => {
  // The adapter keeps picked images in the data directory, so they survive restartBot.
  h = await startDiscordHarness({ name: 'menu', fakeClock: true, stateInDataDir: true });
  png = await solidPng({ r: 90, g: 160, b: 60 });
});

afterAll(async () => {
  await h?.close();
});

describe('Discord context menus with only the Guilds intent', () => {
  it('keeps the picked image across a restart while the form is open, without reading the message again', async () => {
    const post = h.fake.postUserMessage(h.bob, { content: 'my sketch', attachments: [h.fake.addAttachment('sketch.png', png, 'image/png')] });
    const i = await h.fake.messageCommand('Restyle image', post, { user: h.alice });
    expect((await h.fake.acknowledged(i)).type).toBe(9);
    // The first download (at menu time) has happened; the bot restarts before the form is sent.
    await h.fake.waitFor(() => h.fake.requests.some((r) => r.path.startsWith('/attachments/') && r.path.includes('sketch.png') && r.status === 200), 10_000, 'download at menu time');
    await h.restartBot();
    const submitted = await h.fake.submitModal(i, { prompt: 'ink wash', denoise: '0.4' });
    const r = await h.resultOf(submitted);
    const job = (await h.app.getJob(jobIdOf(r)))!;
    expect(job.params.prompt).toBe('ink wash');
    // Nothing read the message back (the fake would have answered without attachments).
    expect(h.fake.requests.filter((x) => x.method === 'GET' && x.path.includes(`/messages/${post.id}`))).toEqual([]);
  });

  it('says clearly when Discord’s link to the picked image has expired', async () => {
    const post = h.fake.postUserMessage(h.bob, { attachments: [h.fake.addAttachment('old.png', png, 'image/png')] });
    const i = await h.fake.messageCommand('Restyle image', post, { user: h.alice });
    expect((await h.fake.acknowledged(i)).type).toBe(9);
    await h.restartBot();
    // The form stays open past the link's expiry (about a day), for Discord and for Easel alike.
    h.fake.clock.advance(25 * 60 * 60 * 1000);
    const submitted = await h.fake.submitModal(i, { prompt: 'late' });
    expect(await h.ephemeralOf(submitted)).toMatch(/link to "old\.png" has expired.*use the menu on the message again/);
  });

  it('reads an image shown through an embed from Discord’s proxy, not from the outside host', async () => {
    const outside = 'https://images.example.org/photos/cat.png';
    h.fake.addExternalImage(outside, png, 'image/png');
    const post = h.fake.postUserMessage(h.bob, { content: outside, embeds: [{ type: 'image', url: outside, image: { url: outside } }] });
    const i = await h.fake.messageCommand('Restyle image', post, { user: h.alice });
    expect((await h.fake.acknowledged(i)).type).toBe(9);
    const submitted = await h.fake.submitModal(i, { prompt: 'from a link' });
    const r = await h.resultOf(submitted);
    expect((await h.app.getJob(jobIdOf(r)))?.params.prompt).toBe('from a link');
    expect(h.fake.requests.some((x) => x.path.startsWith('/external/') && x.status === 200)).toBe(true);
  });
});
