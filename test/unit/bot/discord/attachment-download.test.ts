import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAttachment, downloadAttachment, isAllowedAttachmentUrl } from '../../../../src/bot/discord/attachment-download.ts';
import { isUserError } from '../../../../src/commands/errors.ts';

let server: http.Server;
let origin: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/ok.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': '5' });
      res.end('hello');
    } else if (req.url === '/chunked.png') {
      // No Content-Length: only the running count can catch it.
      res.writeHead(200, { 'content-type': 'image/png' });
      for (let i = 0; i < 20; i++) res.write(Buffer.alloc(1000, 1));
      res.end();
    } else if (req.url === '/redirect.png') {
      res.writeHead(302, { location: 'http://example.invalid/x.png' });
      res.end();
    } else {
      res.writeHead(404);
      res.end('This content is no longer available.');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const policy = () => ({ maxBytes: 10_000, extraOrigins: [origin], timeoutMs: 5000 });
const info = (name: string, size = 5) => ({ name, url: `${origin}/${name}`, size, contentType: 'image/png' });

async function userErrorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!isUserError(err)) throw new Error(`expected a UserError, got ${String(err)}`);
  return err;
}

describe('Discord attachment URLs', () => {
  it('accepts only https on Discord’s CDN hosts (and configured test origins)', () => {
    expect(isAllowedAttachmentUrl('https://cdn.discordapp.com/attachments/1/2/a.png?ex=1&is=2&hm=3')).toBe(true);
    expect(isAllowedAttachmentUrl('https://media.discordapp.net/attachments/1/2/a.png')).toBe(true);
    expect(isAllowedAttachmentUrl('http://cdn.discordapp.com/a.png')).toBe(false);
    expect(isAllowedAttachmentUrl('https://cdn.discordapp.com:8443/a.png')).toBe(false);
    expect(isAllowedAttachmentUrl('https://user:pw@cdn.discordapp.com/a.png')).toBe(false);
    expect(isAllowedAttachmentUrl('https://cdn.discordapp.com.evil.example/a.png')).toBe(false);
    expect(isAllowedAttachmentUrl('https://169.254.169.254/latest/meta-data')).toBe(false);
    expect(isAllowedAttachmentUrl('not a url')).toBe(false);
    expect(isAllowedAttachmentUrl('http://127.0.0.1:9/a.png', ['http://127.0.0.1:9'])).toBe(true);
  });

  it('refuses by declared size and type before downloading', () => {
    const p = { maxBytes: 100 };
    const cdn = 'https://cdn.discordapp.com/attachments/1/2/';
    expect(() => checkAttachment({ name: 'big.png', url: `${cdn}big.png`, size: 101, contentType: 'image/png' }, p)).toThrow(/largest image I accept is 100 B/);
    expect(() => checkAttachment({ name: 'a.pdf', url: `${cdn}a.pdf`, size: 10, contentType: 'application/pdf' }, p)).toThrow(/not an image/);
    // No declared type: the file name decides.
    expect(() => checkAttachment({ name: 'a.webp', url: `${cdn}a.webp`, size: 10, contentType: null }, p)).not.toThrow();
    expect(() => checkAttachment({ name: 'a.exe', url: `${cdn}a.exe`, size: 10, contentType: null }, p)).toThrow(/not an image/);
  });
});

describe('downloadAttachment', () => {
  it('downloads a file within the limit', async () => {
    expect((await downloadAttachment(info('ok.png'), policy())).toString()).toBe('hello');
  });

  it('stops a body without Content-Length once it passes the limit (the declared size lied)', async () => {
    const err = await userErrorOf(downloadAttachment(info('chunked.png'), policy()));
    expect(err.code).toBe('image_too_large');
  });

  it('does not follow redirects, and explains a missing file', async () => {
    expect((await userErrorOf(downloadAttachment(info('redirect.png'), policy()))).code).toBe('bad_image');
    const gone = await userErrorOf(downloadAttachment(info('gone.png'), policy()));
    expect(gone.message).toMatch(/HTTP 404.*upload it again/);
  });
});
