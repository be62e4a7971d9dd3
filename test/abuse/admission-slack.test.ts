/**
 * Issue 10, finding 2, on Slack (real Bolt against the fake Slack, real app on the simulator): a
 * request that admission refuses never downloads its file.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeSlack } from '../fakes/slack/fake-slack.ts';
import { CHANNEL, resultCards, startHarness, testImage, type Harness } from '../e2e/slack/harness.ts';

let h: Harness;
let fake: FakeSlack;
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
  // upscale is off; restyle is allowed.
  h = await startHarness('http', {}, { policy: { commands: { upscale: { enabled: false } } } });
  fake = h.fake;
});

afterAll(async () => {
  await h?.close();
  await new Promise((r) => fileServer?.close(r));
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
