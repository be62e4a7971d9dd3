/**
 * Discord edge cases end to end (real discord.js, fake Discord, real app on the simulator): double
 * clicks, another person's reroll, the interaction's attachment_size_limit, the GPU host down, the
 * queue full, and who-may-press-what set in the config.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJobActionId } from '../../../src/bot/shared/custom-id.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';
import type { FakeInteraction, FakeMessage, FakeUser } from '../../fakes/discord/fake-discord.ts';
import { eventually, noisyPng, startDiscordHarness, type DiscordHarness } from './harness.ts';
import { failOnUnhandledRejections } from '../app/app-harness.ts';
import { buttons, jobIdOf } from './message-probes.ts';

/** What Discord reports (and enforces) as this server's upload limit: far below 10 MiB. */
const UPLOAD_LIMIT = 96 * 1024;

let h: DiscordHarness;
let noisy: Buffer;
let result: FakeMessage;

failOnUnhandledRejections();

function restyle(user: FakeUser, name = 'noisy.png'): Promise<FakeInteraction> {
  return h.restyle(user, h.fake.addAttachment(name, noisy, 'image/png'));
}

async function childrenOf(parentId: string): Promise<string[]> {
  const ids = [...h.fake.messages.values()].flatMap((m) => buttons(m).map((b) => decodeJobActionId(b)?.jobId).filter((x): x is string => !!x));
  const out = new Set<string>();
  for (const id of new Set(ids)) if ((await h.app.getJob(id))?.parentId === parentId) out.add(id);
  return [...out];
}

beforeAll(async () => {
  h = await startDiscordHarness({
    name: 'edge',
    fake: { attachmentSizeLimit: UPLOAD_LIMIT },
    config: { limits: { ...defaultConfig().limits, queueCap: 1 } },
  });
  // Random noise compresses badly, so the results are far larger than UPLOAD_LIMIT as plain PNGs.
  noisy = await noisyPng();
});

afterAll(async () => {
  await h?.close();
});

describe('Discord edge cases', () => {
  it('fits every file under the upload limit the interaction reports', async () => {
    expect(noisy.length).toBeGreaterThan(UPLOAD_LIMIT * 3);
    const i = await restyle(h.alice);
    result = await h.resultOf(i);
    expect(result.attachments.length).toBeGreaterThanOrEqual(1);
    for (const a of result.attachments) expect(a.size).toBeLessThanOrEqual(UPLOAD_LIMIT);
    // Nothing was refused on the way (no 40005 and a retry).
    expect(h.fake.errors()).toEqual([]);
  });

  it('a double click on reroll starts one job; another person’s click starts their own', async () => {
    const parentId = jobIdOf(result);
    const first = await h.click(result, 'easel:reroll:', h.alice);
    const second = await h.click(result, 'easel:reroll:', h.alice);
    // queueCap is 1 here: Bob clicks once Alice's reroll has left the line (else he is told it is full).
    await eventually(async () => (await childrenOf(parentId)).length === 1 && (await h.app.status()).waiting === 0, 'alice’s reroll to start');
    const other = await h.click(result, 'easel:reroll:', h.bob);
    expect((await h.fake.acknowledged(second)).type).toBe(6); // acknowledged, nothing started
    const mine = await h.resultOf(first, 'alice’s reroll');
    const theirs = await h.resultOf(other, 'bob’s reroll');
    await h.bot.settled();
    const children = await childrenOf(parentId);
    expect(children.sort()).toEqual([jobIdOf(mine), jobIdOf(theirs)].sort());
    expect(h.fake.followUps(second)).toEqual([]);
    expect(h.fake.original(second)?.id).toBe(result.id); // the clicked message, untouched
    // Bob's reroll of Alice's job is Bob's job: he may delete it, Alice may not.
    expect((await h.app.getJob(jobIdOf(theirs)))?.actor.userId).toBe(h.bob.id);
    const denied = await h.click(theirs, 'easel:delete:', h.alice);
    expect(await h.ephemeralOf(denied)).toMatch(/only/i);
    await h.click(theirs, 'easel:delete:', h.bob);
    await h.fake.waitFor(() => h.fake.messages.get(theirs.id)!.deleted, 10_000, 'bob deleted his result');
  });

  it('with the GPU host down the reply says so and the job waits; a full queue is refused; the job runs when the host is back', async () => {
    await h.app.simulator!.kill();
    await eventually(async () => (await h.app.status()).hosts.every((host) => !host.up), 'host marked down');
    const waiting = await restyle(h.alice, 'waiting.png');
    const status = await h.fake.waitFor(() => {
      const m = h.fake.original(waiting);
      return m && /down/i.test(m.content) && m;
    }, 15_000, 'host-down notice');
    expect(status.content).toMatch(/safe in the queue/i);
    expect(buttons(status).some((b) => b.startsWith('easel:cancel:'))).toBe(true);
    // Only the author may cancel it.
    const notYours = await h.click(status, 'easel:cancel:', h.bob);
    expect(await h.ephemeralOf(notYours)).toMatch(new RegExp(`Only <@${h.alice.id}>.*cancel`));
    expect((await h.app.getJob(jobIdOf(status)))?.state).toBe('queued');
    // queueCap is 1 and Alice's job holds it.
    const refused = await restyle(h.bob, 'refused.png');
    expect(await h.ephemeralOf(refused)).toMatch(/queue is full/i);
    // Refused at admission, before any download: only the asker sees it (no public reply is left).
    const shown = h.fake.original(refused);
    expect(shown === undefined || shown.deleted || (shown.flags & 64) !== 0).toBe(true);
    await h.app.simulator!.start();
    const done = await h.resultOf(waiting, 'result after the host came back');
    expect((await h.app.getJob(jobIdOf(done)))?.state).toBe('done');
  });

  it('a command Discord still lists but Easel no longer has gets an answer, not "did not respond"', async () => {
    const i = await h.fake.slashCommand('oldcommand', { user: h.alice });
    expect(await h.ephemeralOf(i)).toMatch(/not available.*\/easel help/);
  });

  it('who may rerun is configurable: with rerun "author", only the author may reroll', async () => {
    const aliceJob = jobIdOf(result);
    const cfg = h.config;
    await h.restartBot({ ...cfg, policy: { ...cfg.policy, buttons: { ...cfg.policy.buttons, rerun: 'author' } } });
    const denied = await h.click(result, 'easel:reroll:', h.bob);
    expect(await h.ephemeralOf(denied)).toMatch(new RegExp(`Only <@${h.alice.id}>`));
    const before = (await childrenOf(aliceJob)).length;
    const ok = await h.click(result, 'easel:subtle:', h.alice);
    await h.resultOf(ok, 'author’s rerun');
    expect((await childrenOf(aliceJob)).length).toBe(before + 1);
  });
});
