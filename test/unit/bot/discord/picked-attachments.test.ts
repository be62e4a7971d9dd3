import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkExpiresAt } from '../../../../src/bot/discord/attachment-download.ts';
import { PickedAttachments } from '../../../../src/bot/discord/picked-attachments.ts';

let dir: string;
const image = (n: number) => ({ name: `p${n}.png`, url: `https://cdn.discordapp.com/attachments/1/${n}/p${n}.png?ex=6a0b1c2d&is=6a09ca9d&hm=ab`, size: 10, contentType: 'image/png' });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'easel-picked-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PickedAttachments', () => {
  it('keeps what a context menu resolved across a restart (a new instance on the same file)', async () => {
    const file = path.join(dir, 'a.json');
    await new PickedAttachments({ file }).put('m1', image(1));
    expect(await new PickedAttachments({ file }).get('m1')).toEqual(image(1));
    expect(await new PickedAttachments({ file }).get('other')).toBeUndefined();
  });

  it('forgets entries after their time and keeps at most `max`', async () => {
    let t = 1_000_000;
    const file = path.join(dir, 'b.json');
    const picked = new PickedAttachments({ file, ttlMs: 1000, max: 2, now: () => t });
    await picked.put('m1', image(1));
    await picked.put('m2', image(2));
    await picked.put('m3', image(3));
    expect(await picked.get('m1')).toBeUndefined();
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')))).toEqual(['m2', 'm3']);
    t += 1001;
    expect(await picked.get('m3')).toBeUndefined();
  });

  it('starts empty on an unreadable file instead of failing', async () => {
    const file = path.join(dir, 'c.json');
    await writeFile(file, '{not json');
    const picked = new PickedAttachments({ file });
    expect(await picked.get('m1')).toBeUndefined();
    await picked.put('m1', image(1));
    expect(await new PickedAttachments({ file }).get('m1')).toEqual(image(1));
  });
});

describe('linkExpiresAt', () => {
  it('reads `ex` (hex unix seconds) from a signed CDN link', () => {
    expect(linkExpiresAt(image(1).url)).toBe(0x6a0b1c2d * 1000);
    expect(linkExpiresAt('https://cdn.discordapp.com/attachments/1/2/x.png')).toBeUndefined();
    expect(linkExpiresAt('https://cdn.discordapp.com/x.png?ex=zz')).toBeUndefined();
    expect(linkExpiresAt('not a url')).toBeUndefined();
  });
});
