/**
 * Test harness for the Discord end-to-end files: the fake Discord, the real Easel app (createApp with
 * the built-in simulator) and the real discord.js bot started by startDiscordBot, wired together in a
 * fresh data directory, with Alice and Bob as users. A file passes what it needs beyond that (config
 * such as limits or policy, fake options such as attachmentSizeLimit, the bot's edit pacing and
 * clock), can restart the bot on the same data, and gets the helpers the files share: the message
 * probes bound to its fake, clicking a button by prefix, /restyle, `eventually` and test images
 * (unhandled rejections are failed by app-harness.ts's failOnUnhandledRejections).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { createApp, type EaselApp } from '../../../src/app/create-app.ts';
import { startDiscordBot, type DiscordBot } from '../../../src/bot/discord/discord-bot.ts';
import { defaultConfig, type DeepPartial } from '../../../src/config/load-config.ts';
import type { EaselConfig } from '../../../src/config/types.ts';
import {
  FakeDiscord,
  type FakeAttachment,
  type FakeDiscordOptions,
  type FakeInteraction,
  type FakeMessage,
  type FakeUser,
} from '../../fakes/discord/fake-discord.ts';
import { buttons, messageProbes } from './message-probes.ts';

export interface DiscordHarnessOptions {
  /** Names the temporary data directory: easel-discord-<name>-XXXXXX. */
  name: string;
  /** Options of the fake Discord (e.g. attachmentSizeLimit, enforcedFileBytes). */
  fake?: FakeDiscordOptions;
  /**
   * Configuration beyond the harness's own (a simulator at 5 ms a step without previews, Discord
   * pointed at the fake), replacing it key by key at the top level (pass a whole `simulator` or
   * `limits`). A function is called once the fake is up and Alice and Bob exist (e.g. to add a
   * channel the policy names).
   */
  config?: DeepPartial<EaselConfig> | ((fake: FakeDiscord) => DeepPartial<EaselConfig>);
  /** Least time between two edits of one progress message. Default here 300 ms (production 1500). */
  editIntervalMs?: number;
  /** Easel runs on the fake's clock: advancing it moves Discord's time and Easel's together. */
  fakeClock?: boolean;
  /** The adapter keeps its state (images picked through a context menu) in the data directory, so it survives restartBot. */
  stateInDataDir?: boolean;
}

export interface DiscordHarness {
  fake: FakeDiscord;
  /** The running app; restartBot replaces it. */
  app: EaselApp;
  /** The running bot; restartBot replaces it. */
  bot: DiscordBot;
  /** The config the running app and bot were started with. */
  config: EaselConfig;
  alice: FakeUser;
  bob: FakeUser;
  /**
   * Stop the bot and the app and start new ones on the same data directory and fake (a restart of
   * Easel), with `config` if given (else the current one).
   */
  restartBot(config?: EaselConfig): Promise<void>;
  /** Let a stalled simulator run go, stop bot and app, close the fake, delete the data directory. */
  close(): Promise<void>;
  /** The finished result shown in the reply of `i`. */
  resultOf(i: FakeInteraction, what?: string, timeoutMs?: number): Promise<FakeMessage>;
  /** The ephemeral text the user was shown for `i` (an immediate reply or a follow-up). */
  ephemeralOf(i: FakeInteraction): Promise<string>;
  /** The reply of `i` once it shows the job's progress with a cancel button. */
  statusOf(i: FakeInteraction, what?: string): Promise<FakeMessage>;
  /** Click the button whose custom_id starts with `prefix` on (the current state of) message `m`; Alice by default. */
  click(m: FakeMessage, prefix: string, user?: FakeUser): Promise<FakeInteraction>;
  /** /restyle with `attachment` as the image, then `options`, in `channelId` (default: the fake's channel). */
  restyle(user: FakeUser, attachment: FakeAttachment, options?: Array<{ name: string; type: number; value: unknown }>, channelId?: string): Promise<FakeInteraction>;
}

export async function startDiscordHarness(opts: DiscordHarnessOptions): Promise<DiscordHarness> {
  const fake = await FakeDiscord.start(opts.fake);
  const alice = fake.addUser('alice');
  const bob = fake.addUser('bob');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `easel-discord-${opts.name}-`));
  const overrides = typeof opts.config === 'function' ? opts.config(fake) : (opts.config ?? {});
  const config = defaultConfig({
    dataDir,
    simulator: { stepMs: 5, previews: false },
    discord: { token: fake.token, applicationId: fake.applicationId, guildId: fake.guildId, apiBase: fake.apiBase },
    ...overrides,
  });
  const start = async (cfg: EaselConfig): Promise<{ app: EaselApp; bot: DiscordBot }> => {
    const app = await createApp(cfg);
    try {
      const bot = await startDiscordBot(app, cfg.discord, {
        maxInputBytes: cfg.limits.maxInputBytes,
        editIntervalMs: opts.editIntervalMs ?? 300,
        ...(opts.fakeClock ? { clock: fake.clock } : {}),
        ...(opts.stateInDataDir ? { stateDir: cfg.dataDir } : {}),
        // EASEL_TEST_LOG=debug shows what the bot does.
        logger: pino({ level: process.env.EASEL_TEST_LOG ?? 'silent' }),
        clientOptions: { ws: { buildIdentifyThrottler: async () => ({ waitForIdentify: async () => {} }) } } as never,
      });
      return { app, bot };
    } catch (err) {
      await app.close();
      throw err;
    }
  };
  let running: { app: EaselApp; bot: DiscordBot };
  try {
    running = await start(config);
  } catch (err) {
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const probes = messageProbes(() => fake);
  const h: DiscordHarness = {
    fake,
    ...running,
    config,
    alice,
    bob,
    async restartBot(cfg = h.config) {
      await h.bot.stop();
      await h.app.close();
      h.config = cfg;
      Object.assign(h, await start(cfg));
    },
    async close() {
      h.app.simulator?.release();
      await h.bot.stop();
      await h.app.close();
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    },
    ...probes,
    click(m, prefix, user = alice) {
      const id = buttons(m).find((b) => b.startsWith(prefix));
      if (!id) throw new Error(`no button ${prefix} on message ${m.id} (has ${buttons(m).join(', ')})`);
      return fake.clickButton(fake.messages.get(m.id)!, id, { user });
    },
    restyle(user, attachment, options = [], channelId) {
      return fake.slashCommand('restyle', { user, channelId, options: [{ name: 'image', type: 11, value: attachment }, ...options] });
    },
  };
  return h;
}

/** Polls `check` every 20 ms until it holds; throws `timed out waiting for <what>` after timeoutMs. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A small 96x64 PNG of one colour. */
export function solidPng(background: { r: number; g: number; b: number }): Promise<Buffer> {
  return sharp({ create: { width: 96, height: 64, channels: 3, background } }).png().toBuffer();
}

/** A 512x512 PNG of random noise: it compresses badly, so results made from it are large files. */
export function noisyPng(): Promise<Buffer> {
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
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}
