/**
 * Discord edge cases end to end (real discord.js, fake Discord, real app on the simulator): double
 * clicks, another person's reroll, the interaction's attachment_size_limit, the GPU host down, the
 * queue full, and who-may-press-what set in the config.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EaselApp } from '../../../src/app/create-app.ts';
import { startDiscordBot, type DiscordBot } from '../../../src/bot/discord/discord-bot.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';
import type { EaselConfig } from '../../../src/config/types.ts';
import { FakeDiscord, type FakeInteraction, type FakeMessage, type FakeUser } from '../../fakes/discord/fake-discord.ts';
import { decodeJobActionId } from '../../../src/bot/shared/custom-id.ts';
import { buttons, jobIdOf, messageProbes } from './message-probes.ts';

/** What Discord reports (and enforces) as this server's upload limit: far below 10 MiB. */
const UPLOAD_LIMIT = 96 * 1024;

let fake: FakeDiscord;
let app: EaselApp;
let bot: DiscordBot;
let config: EaselConfig;
let dataDir: string;
let alice: FakeUser;
let bob: FakeUser;
let noisy: Buffer;
let result: FakeMessage;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

async function startBot(cfg: EaselConfig): Promise<void> {
  config = cfg;
  app = await createApp(cfg);
  bot = await startDiscordBot(app, cfg.discord, {
    maxInputBytes: cfg.limits.maxInputBytes,
    editIntervalMs: 300,
    logger: pino({ level: process.env.EASEL_TEST_LOG ?? 'silent' }),
    clientOptions: { ws: { buildIdentifyThrottler: async () => ({ waitForIdentify: async () => {} }) } } as never,
  });
}

async function stopBot(): Promise<void> {
  await bot?.stop();
  await app?.close();
}

function configWith(over: Record<string, unknown> = {}): EaselConfig {
  return defaultConfig({
    dataDir,
    simulator: { stepMs: 5, previews: false },
    limits: { ...defaultConfig().limits, queueCap: 1 },
    discord: { token: fake.token, applicationId: fake.applicationId, guildId: fake.guildId, apiBase: fake.apiBase },
    ...over,
  } as never);
}

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const { resultOf, ephemeralOf } = messageProbes(() => fake);

function restyle(user: FakeUser, name = 'noisy.png'): Promise<FakeInteraction> {
  return fake.slashCommand('restyle', { user, options: [{ name: 'image', type: 11, value: fake.addAttachment(name, noisy, 'image/png') }] });
}

function click(m: FakeMessage, prefix: string, user: FakeUser): Promise<FakeInteraction> {
  const id = buttons(m).find((b) => b.startsWith(prefix));
  if (!id) throw new Error(`no button ${prefix} (has ${buttons(m).join(', ')})`);
  return fake.clickButton(fake.messages.get(m.id)!, id, { user });
}

async function childrenOf(parentId: string): Promise<string[]> {
  const ids = [...fake.messages.values()].flatMap((m) => buttons(m).map((b) => decodeJobActionId(b)?.jobId).filter((x): x is string => !!x));
  const out = new Set<string>();
  for (const id of new Set(ids)) if ((await app.getJob(id))?.parentId === parentId) out.add(id);
  return [...out];
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  fake = await FakeDiscord.start({ attachmentSizeLimit: UPLOAD_LIMIT });
  alice = fake.addUser('alice');
  bob = fake.addUser('bob');
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'easel-discord-edge-'));
  // Random noise compresses badly, so the results are far larger than UPLOAD_LIMIT as plain PNGs.
  const w = 512;
  const h = 512;
  const raw = Buffer.alloc(w * h * 3);
  let x = 2463534242;
  for (let i = 0; i < raw.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    raw[i] = x & 0xff;
  }
  noisy = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
  await startBot(configWith());
});

afterAll(async () => {
  app?.simulator?.release();
  await stopBot();
  await fake?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('Discord edge cases', () => {
  it('fits every file under the upload limit the interaction reports', async () => {
    expect(noisy.length).toBeGreaterThan(UPLOAD_LIMIT * 3);
    const i = await restyle(alice);
    result = await resultOf(i);
    expect(result.attachments.length).toBeGreaterThanOrEqual(1);
    for (const a of result.attachments) expect(a.size).toBeLessThanOrEqual(UPLOAD_LIMIT);
    // Nothing was refused on the way (no 40005 and a retry).
    expect(fake.errors()).toEqual([]);
  });

  it('a double click on reroll starts one job; another person’s click starts their own', async () => {
    const parentId = jobIdOf(result);
    const first = await click(result, 'easel:reroll:', alice);
    const second = await click(result, 'easel:reroll:', alice);
    // queueCap is 1 here: Bob clicks once Alice's reroll has left the line (else he is told it is full).
    await eventually(async () => (await childrenOf(parentId)).length === 1 && (await app.status()).waiting === 0, 'alice’s reroll to start');
    const other = await click(result, 'easel:reroll:', bob);
    expect((await fake.acknowledged(second)).type).toBe(6); // acknowledged, nothing started
    const mine = await resultOf(first, 'alice’s reroll');
    const theirs = await resultOf(other, 'bob’s reroll');
    await bot.settled();
    const children = await childrenOf(parentId);
    expect(children.sort()).toEqual([jobIdOf(mine), jobIdOf(theirs)].sort());
    expect(fake.followUps(second)).toEqual([]);
    expect(fake.original(second)?.id).toBe(result.id); // the clicked message, untouched
    // Bob's reroll of Alice's job is Bob's job: he may delete it, Alice may not.
    expect((await app.getJob(jobIdOf(theirs)))?.actor.userId).toBe(bob.id);
    const denied = await click(theirs, 'easel:delete:', alice);
    expect(await ephemeralOf(denied)).toMatch(/only/i);
    await click(theirs, 'easel:delete:', bob);
    await fake.waitFor(() => fake.messages.get(theirs.id)!.deleted, 10_000, 'bob deleted his result');
  });

  it('with the GPU host down the reply says so and the job waits; a full queue is refused; the job runs when the host is back', async () => {
    await app.simulator!.kill();
    await eventually(async () => (await app.status()).hosts.every((h) => !h.up), 'host marked down');
    const waiting = await restyle(alice, 'waiting.png');
    const status = await fake.waitFor(() => {
      const m = fake.original(waiting);
      return m && /down/i.test(m.content) && m;
    }, 15_000, 'host-down notice');
    expect(status.content).toMatch(/safe in the queue/i);
    expect(buttons(status).some((b) => b.startsWith('easel:cancel:'))).toBe(true);
    // Only the author may cancel it.
    const notYours = await click(status, 'easel:cancel:', bob);
    expect(await ephemeralOf(notYours)).toMatch(new RegExp(`Only <@${alice.id}>.*cancel`));
    expect((await app.getJob(jobIdOf(status)))?.state).toBe('queued');
    // queueCap is 1 and Alice's job holds it.
    const refused = await restyle(bob, 'refused.png');
    expect(await ephemeralOf(refused)).toMatch(/queue is full/i);
    // Refused at admission, before any download: only the asker sees it (no public reply is left).
    const shown = fake.original(refused);
    expect(shown === undefined || shown.deleted || (shown.flags & 64) !== 0).toBe(true);
    await app.simulator!.start();
    const done = await resultOf(waiting, 'result after the host came back');
    expect((await app.getJob(jobIdOf(done)))?.state).toBe('done');
  });

  it('a command Discord still lists but Easel no longer has gets an answer, not "did not respond"', async () => {
    const i = await fake.slashCommand('oldcommand', { user: alice });
    expect(await ephemeralOf(i)).toMatch(/not available.*\/easel help/);
  });

  it('who may rerun is configurable: with rerun "author", only the author may reroll', async () => {
    const aliceJob = jobIdOf(result);
    await stopBot();
    const cfg = configWith();
    await startBot({ ...cfg, policy: { ...cfg.policy, buttons: { ...cfg.policy.buttons, rerun: 'author' } } });
    const denied = await click(result, 'easel:reroll:', bob);
    expect(await ephemeralOf(denied)).toMatch(new RegExp(`Only <@${alice.id}>`));
    const before = (await childrenOf(aliceJob)).length;
    const ok = await click(result, 'easel:subtle:', alice);
    await resultOf(ok, 'author’s rerun');
    expect((await childrenOf(aliceJob)).length).toBe(before + 1);
  });
});
