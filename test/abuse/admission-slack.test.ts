/**
 * Issue 10, finding 2, on Slack (real Bolt against the fake Slack, real app on the simulator): a
 * request that admission refuses never downloads its file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EaselApp } from '../../src/app/create-app.ts';
import { startSlackBot, type SlackBot } from '../../src/bot/slack/slack-bot.ts';
import { defaultConfig } from '../../src/config/load-config.ts';
import type { EaselConfig } from '../../src/config/types.ts';
import { FakeSlack } from '../fakes/slack/fake-slack.ts';
import { CHANNEL, resultCards, testImage } from '../e2e/slack/harness.ts';

const SIGNING_SECRET = 'fake-signing-secret-0123456789';

let fake: FakeSlack;
let app: EaselApp;
let bot: SlackBot;
let dataDir: string;
let png: Buffer;
/** Where the test's files are served from, counting every download. */
let fileServer: http.Server;
let fileOrigin: string;
let downloads = 0;

beforeAll(async () => {
  png = await testImage();
  fileServer = http.createServer((req, res) => {
    downloads++;
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
    res.end(png);
  });
  await new Promise<void>((r) => fileServer.listen(0, '127.0.0.1', r));
  fileOrigin = `http://127.0.0.1:${(fileServer.address() as AddressInfo).port}`;

  fake = await FakeSlack.start();
  dataDir = await mkdtemp(path.join(tmpdir(), 'easel-abuse-slack-'));
  const slackConfig: EaselConfig['slack'] = { mode: 'http', botToken: fake.botToken, port: 0, apiUrl: fake.apiUrl, signingSecret: SIGNING_SECRET };
  const config = defaultConfig({
    dataDir,
    simulator: { stepMs: 5, previews: false },
    slack: slackConfig,
    playground: { enabled: false },
    log: { level: 'silent' },
    // upscale is off; restyle is allowed.
    policy: { commands: { upscale: { enabled: false } } },
  });
  app = await createApp(config);
  bot = await startSlackBot(app, slackConfig, { retries: 0, host: '127.0.0.1' });
  fake.deliverTo({ kind: 'http', url: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret: SIGNING_SECRET });
});

afterAll(async () => {
  await bot?.stop();
  await app?.close();
  await fake?.close();
  await new Promise((r) => fileServer?.close(r));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A file as Slack lists it, whose download links point at the counting server. */
function countedFile(name: string) {
  const file = fake.userFile({ name, mimetype: 'image/png', data: png }) as Record<string, unknown>;
  return { ...file, url_private: `${fileOrigin}/files/${name}`, url_private_download: `${fileOrigin}/files/download/${name}` };
}

describe('Slack admission before download', () => {
  it('a command that is turned off is answered without downloading the file; an allowed one downloads it once', async () => {
    const refused = await fake.mention({ text: '<@U0BOT0001> upscale 2', files: [countedFile('a.png')] });
    await fake.waitFor(() => fake.thread(CHANNEL, refused.message.ts).find((m) => /turned off/.test(m.text ?? '')) ?? fake.ephemerals.find((e) => /turned off/.test(e.text)), 'the refusal');
    expect(downloads).toBe(0);

    const allowed = await fake.mention({ text: '<@U0BOT0001> restyle watercolor', files: [countedFile('b.png')] });
    await fake.waitFor(() => resultCards(fake, allowed.message.ts)[0], 'the result', 20_000);
    expect(downloads).toBe(1);
  });
});
