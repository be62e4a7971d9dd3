/**
 * Test harness: the fake Slack, the real Easel app (createApp with the built-in simulator) and the
 * real Bolt app started by startSlackBot, wired together in Socket Mode or HTTP mode.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createApp, type EaselApp } from '../../../src/app/create-app.ts';
import { startSlackBot, type SlackBot, type SlackBotOptions } from '../../../src/bot/slack/slack-bot.ts';
import { defaultConfig, type DeepPartial } from '../../../src/config/load-config.ts';
import type { EaselConfig } from '../../../src/config/types.ts';
import { FakeSlack, type ApiCall, type FakeMessage } from '../../fakes/slack/fake-slack.ts';

export const CHANNEL = 'C0CHAN001';
export const ALICE = 'U0USER001';
export const BOB = 'U0USER002';
const SIGNING_SECRET = 'fake-signing-secret-0123456789';

export interface Harness {
  fake: FakeSlack;
  app: EaselApp;
  bot: SlackBot;
  slackConfig: EaselConfig['slack'];
  botOptions: SlackBotOptions;
  /** Stop the bot and start a new one against the same Easel (a restart of the Slack side). */
  restartBot(): Promise<void>;
  close(): Promise<void>;
}

export async function testImage(width = 96, height = 64): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (x * 255) / width;
      pixels[i + 1] = (y * 255) / height;
      pixels[i + 2] = 128;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export async function startHarness(
  mode: 'socket' | 'http',
  botOptions: SlackBotOptions = {},
  /** Configuration beyond the harness's own (e.g. a command policy). */
  configOverrides: Pick<DeepPartial<EaselConfig>, 'policy' | 'limits'> = {},
): Promise<Harness> {
  const fake = await FakeSlack.start();
  const dataDir = await mkdtemp(path.join(tmpdir(), `easel-slack-${mode}-`));
  const slackConfig: EaselConfig['slack'] = {
    mode,
    botToken: fake.botToken,
    port: 0,
    apiUrl: fake.apiUrl,
    ...(mode === 'socket' ? { appToken: fake.appToken } : { signingSecret: SIGNING_SECRET }),
  };
  const config = defaultConfig({
    dataDir,
    simulator: { stepMs: 5, previews: false },
    slack: slackConfig,
    playground: { enabled: false },
    log: { level: 'silent' },
    ...configOverrides,
  });
  const app = await createApp(config);
  const options: SlackBotOptions = { retries: 0, host: '127.0.0.1', doubleClickMs: 500, ...botOptions };
  const start = async () => {
    const bot = await startSlackBot(app, slackConfig, options);
    if (mode === 'socket') await fake.socketReady();
    else fake.deliverTo({ kind: 'http', url: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret: SIGNING_SECRET });
    return bot;
  };
  const h: Harness = {
    fake,
    app,
    bot: await start(),
    slackConfig,
    botOptions: options,
    async restartBot() {
      await h.bot.stop();
      h.bot = await start();
    },
    async close() {
      // Disconnect the socket (bot.stop) before closing the fake, or socket-mode waits 30 s.
      await h.bot.stop();
      await app.close();
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}

type Block = { type: string; block_id?: string; elements?: Array<{ type: string; action_id?: string }>; text?: { text: string } };

export function actionIds(m: FakeMessage): string[] {
  return ((m.blocks ?? []) as Block[]).flatMap((b) => (b.elements ?? []).map((e) => e.action_id ?? '')).filter(Boolean);
}

/** Result cards (messages with Reroll and Delete buttons) in a thread, oldest first. */
export function resultCards(fake: FakeSlack, threadTs: string): FakeMessage[] {
  return fake.thread(CHANNEL, threadTs).filter((m) => {
    const ids = actionIds(m);
    return ids.some((id) => id.startsWith('easel:reroll:')) && ids.some((id) => id.startsWith('easel:delete:'));
  });
}

export function jobIdOf(card: FakeMessage): string {
  const id = actionIds(card).find((a) => a.startsWith('easel:reroll:'));
  if (!id) throw new Error('not a result card');
  return id.split(':')[2];
}

/** The action_id of a button on a message, e.g. button(card, 'vary', 1). */
export function button(m: FakeMessage, action: string, index?: number): string {
  const id = actionIds(m).find((a) => {
    const parts = a.split(':');
    return parts[1] === action && (index === undefined ? parts.length === 3 : parts[3] === String(index));
  });
  if (!id) throw new Error(`no ${action}${index ?? ''} button on message ${m.ts}: ${actionIds(m).join(', ')}`);
  return id;
}

export function blocksText(m: FakeMessage): string {
  return ((m.blocks ?? []) as Block[]).map((b) => b.text?.text ?? '').join('\n');
}

/** Failed Web API calls as `method: error`, leaving out rate limits (see impoliteCalls for those). */
export function failedCalls(fake: FakeSlack): string[] {
  return fake.calls.filter((c) => !c.ok && c.error !== 'ratelimited').map((c) => `${c.method}: ${c.error}`);
}

/**
 * Calls made while Slack had asked the bot to wait: after a 429 with Retry-After, another call to the
 * same method for the same channel (and message) before that time. A polite bot makes none.
 */
export function impoliteCalls(fake: FakeSlack): string[] {
  const key = (c: ApiCall) => `${c.method} ${String(c.args.channel ?? c.args.channel_id ?? '')} ${String(c.args.ts ?? '')}`;
  const out: string[] = [];
  for (const limited of fake.calls.filter((c) => c.error === 'ratelimited')) {
    const until = limited.at + (limited.retryAfter ?? 0) * 1000 - 20;
    for (const c of fake.calls) {
      if (c !== limited && c.at > limited.at && c.at < until && key(c) === key(limited)) {
        out.push(`${key(c)} ${c.at - limited.at} ms after a 429 asking for ${limited.retryAfter} s`);
      }
    }
  }
  return out;
}

/** The jobs whose buttons appear on these messages (progress messages and result cards). */
export function jobIdsOn(messages: FakeMessage[]): string[] {
  return [...new Set(messages.flatMap((m) => actionIds(m).map((id) => id.split(':')[2]).filter(Boolean)))];
}

