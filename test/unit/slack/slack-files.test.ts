/**
 * Downloading users' Slack files: the bot token goes only to Slack file hosts, Slack's HTML sign-in
 * page (status 200) is recognised and explained, redirects are followed only within Slack, and large
 * files are refused. Runs against the fake Slack's file route.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadSlackFile, isImageFile, SIGN_IN_PAGE_MESSAGE } from '../../../src/bot/slack/slack-files.ts';
import { defaultFileHosts } from '../../../src/bot/slack/slack-bot.ts';
import { FakeSlack } from '../../fakes/slack/fake-slack.ts';

let fake: FakeSlack;
let redirector: Server;
let redirectBase: string;
const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

beforeAll(async () => {
  fake = await FakeSlack.start();
  // Another host ("localhost") that redirects: once to the fake's file, once to a sign-in page.
  redirector = createServer((req, res) => {
    const target = req.url === '/to-file' ? String(file().url_private) : `${fake.url}/signin?redir=x`;
    res.writeHead(302, { location: target });
    res.end();
  });
  await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
  redirectBase = `http://localhost:${(redirector.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await fake.close();
  await new Promise((r) => redirector.close(r));
});

let cached: Record<string, unknown> | undefined;
function file() {
  cached ??= fake.userFile({ name: 'in.png', mimetype: 'image/png', data: png });
  return cached;
}

const opts = () => ({ botToken: fake.botToken, extraHosts: ['127.0.0.1'], maxBytes: 1024 });

describe('downloadSlackFile', () => {
  it('downloads with the bot token', async () => {
    expect((await downloadSlackFile(file(), opts())).equals(png)).toBe(true);
  });

  it('explains the HTML sign-in page Slack serves when the token may not read files', async () => {
    fake.scopes.delete('files:read');
    try {
      await expect(downloadSlackFile(file(), opts())).rejects.toThrow(SIGN_IN_PAGE_MESSAGE);
    } finally {
      fake.scopes.add('files:read');
    }
    await expect(downloadSlackFile(file(), { ...opts(), botToken: 'xoxb-wrong' })).rejects.toMatchObject({ code: 'bad_image', message: SIGN_IN_PAGE_MESSAGE });
  });

  it('never sends the token to hosts that are not Slack file hosts', async () => {
    const seen: string[] = [];
    const spy: typeof fetch = async (input, init) => {
      seen.push(String(input));
      return fetch(input, init);
    };
    await expect(downloadSlackFile({ name: 'x.png', url_private: 'https://evil.example/x.png' }, { ...opts(), fetch: spy })).rejects.toThrow(/only reads files stored on Slack/);
    await expect(downloadSlackFile({ name: 'x.png', url_private: 'http://files.slack.com/x.png' }, { ...opts(), fetch: spy })).rejects.toThrow(/only reads files stored on Slack/);
    expect(seen).toEqual([]);
  });

  it('follows redirects only within Slack hosts and treats one to a sign-in page as the sign-in problem', async () => {
    const both = { ...opts(), extraHosts: ['127.0.0.1', 'localhost'] };
    expect((await downloadSlackFile({ name: 'in.png', url_private: `${redirectBase}/to-file` }, both)).equals(png)).toBe(true);
    await expect(downloadSlackFile({ name: 'in.png', url_private: `${redirectBase}/to-signin` }, both)).rejects.toThrow(SIGN_IN_PAGE_MESSAGE);
  });

  it('refuses files over the size limit, by declared size and by bytes received', async () => {
    await expect(downloadSlackFile({ ...file(), size: 5000 }, opts())).rejects.toMatchObject({ code: 'image_too_large' });
    const big = fake.userFile({ name: 'big.png', mimetype: 'image/png', data: Buffer.alloc(4096, 1) });
    await expect(downloadSlackFile({ ...big, size: undefined }, opts())).rejects.toMatchObject({ code: 'image_too_large' });
  });

  it('trusts no extra file host against real Slack; a local Slack (custom API address) adds its host, or all loopback names', () => {
    expect(defaultFileHosts(undefined)).toEqual([]);
    expect(defaultFileHosts('https://slack.internal.example/api/')).toEqual(['slack.internal.example']);
    expect(defaultFileHosts('http://127.0.0.1:4000/api/')).toEqual(expect.arrayContaining(['127.0.0.1', 'localhost', '[::1]']));
  });

  it('tells images from other files', () => {
    expect(isImageFile({ mimetype: 'image/webp' })).toBe(true);
    expect(isImageFile({ mimetype: 'application/pdf', name: 'x.png' })).toBe(false);
    expect(isImageFile({ name: 'photo.JPG' })).toBe(true);
  });
});
