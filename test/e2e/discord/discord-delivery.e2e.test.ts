/**
 * Getting a result to the user when Discord makes it hard (real discord.js, fake Discord, real app on
 * the simulator): the 15-minute token running out while the job runs (Easel's clock and Discord's
 * move together), a channel that refuses files plus closed DMs (50013 then 50007), and a per-file cap
 * far below the one the interaction reports (40005 again and again).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDOVER_NOTE, TOKEN_LIFETIME_MS, TOKEN_MARGIN_MS } from '../../../src/bot/discord/job-presenter.ts';
import { noisyPng, solidPng, startDiscordHarness, type DiscordHarness, type DiscordHarnessOptions } from './harness.ts';
import { failOnUnhandledRejections } from '../app/app-harness.ts';
import { releaseStalled } from './job-waits.ts';
import { buttons, isResult, jobIdOf } from './message-probes.ts';

/** The per-file cap Discord enforces in the 40005 tests, far below what the interaction reports. */
const ENFORCED = 96 * 1024;

failOnUnhandledRejections();

/** Easel runs on the fake's clock: advancing it moves Discord's time and Easel's together. */
function startRig(fake: DiscordHarnessOptions['fake'] = {}): Promise<DiscordHarness> {
  return startDiscordHarness({ name: 'delivery', fake, fakeClock: true });
}

describe('Discord delivery when time runs out or Discord refuses', () => {
  let rig: DiscordHarness;
  let png: Buffer;

  beforeAll(async () => {
    rig = await startRig();
    png = await solidPng({ r: 30, g: 140, b: 200 });
  });
  afterAll(() => rig?.close());

  it('hands over before the token expires: a last edit through the token, then bot messages, and never a 50027', async () => {
    const { fake, app, alice } = rig;
    app.simulator!.stallNext();
    const i = await rig.restyle(alice, fake.addAttachment('long.png', png, 'image/png'));
    const status = await rig.statusOf(i);
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
    const i = await rig.restyle(alice, fake.addAttachment('hidden.png', png, 'image/png'), [], hidden.id);
    const status = await rig.statusOf(i);
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
    const i = await rig.restyle(shy, fake.addAttachment('shy.png', png, 'image/png'), [], textOnly.id);
    const status = await rig.statusOf(i);
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
  let rig: DiscordHarness;
  let noisy: Buffer;

  beforeAll(async () => {
    // The interaction says 8x what Discord then accepts per file.
    rig = await startRig({ attachmentSizeLimit: 8 * ENFORCED, enforcedFileBytes: ENFORCED });
    // Random noise compresses badly, so results are far larger than the cap as plain PNGs.
    noisy = await noisyPng();
  });
  afterAll(() => rig?.close());

  it('keeps stepping the files down after 40005 until they fit', async () => {
    const { fake, alice } = rig;
    const i = await rig.restyle(alice, fake.addAttachment('noisy.png', noisy, 'image/png'));
    const result = await rig.resultOf(i, 'result', 30_000);
    expect(result.attachments.length).toBeGreaterThan(0);
    for (const a of result.attachments) expect(a.size).toBeLessThanOrEqual(ENFORCED);
    // More than one step down was needed.
    expect(fake.requests.filter((r) => r.code === 40005 && r.path.includes(i.token)).length).toBeGreaterThanOrEqual(2);
  });

  it('says so clearly when even the smallest step does not fit', async () => {
    const { fake, alice } = rig;
    fake.setEnforcedFileBytes(2 * 1024);
    try {
      const i = await rig.restyle(alice, fake.addAttachment('tiny-cap.png', noisy, 'image/png'));
      const result = await rig.resultOf(i, 'result without files', 60_000);
      expect(result.attachments).toEqual([]);
      expect(result.content).toMatch(/refused the images even at 64 KiB/);
    } finally {
      fake.setEnforcedFileBytes(ENFORCED);
    }
  }, 90_000);
});
