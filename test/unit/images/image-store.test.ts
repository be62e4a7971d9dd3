import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/commands/errors.ts';
import { FolderImageStore } from '../../../src/images/image-store.ts';
import { noisyJpeg, noisyPng, solid } from './image-fixtures.ts';

const DAY = 24 * 60 * 60 * 1000;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'easel-images-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function age(store: FolderImageStore, sha: string, mime: string, when: number) {
  const t = new Date(when);
  await utimes(store.pathOf({ sha256: sha, mime }), t, t);
}

describe('ImageStore', () => {
  it('names files by the SHA-256 of their content under a two-digit shard and reads them back', async () => {
    const store = new FolderImageStore(dir);
    const png = await noisyPng(40, 30);
    const image = await store.put(png, { label: '1' });
    const sha = createHash('sha256').update(png).digest('hex');
    expect(image).toEqual({ sha256: sha, path: `${sha.slice(0, 2)}/${sha}.png`, width: 40, height: 30, mime: 'image/png', bytes: png.length, label: '1' });
    expect((await stat(join(dir, image.path))).size).toBe(png.length);
    expect((await store.read(image)).equals(png)).toBe(true);
  });

  it('is idempotent: the same bytes twice give the same record and one file', async () => {
    const store = new FolderImageStore(dir);
    const jpeg = await noisyJpeg(32, 32);
    const [a, b] = await Promise.all([store.put(jpeg), store.put(jpeg)]);
    const c = await store.put(jpeg);
    expect(a).toEqual(b);
    expect(c).toEqual(a);
    expect(a.mime).toBe('image/jpeg');
    expect(a.path.endsWith('.jpg')).toBe(true);
    expect(await readdir(join(dir, a.sha256.slice(0, 2)))).toEqual([`${a.sha256}.jpg`]);
  });

  it('never builds a path from the record it is given: a tampered path or hash cannot escape the folder', async () => {
    const store = new FolderImageStore(dir);
    const image = await store.put(await solid(8, 8, [1, 2, 3]));
    // `path` is informational; reading goes by hash, so a tampered path still reads the right file.
    expect((await store.read({ ...image, path: '../../etc/passwd' })).length).toBe(image.bytes);
    await expect(store.read({ ...image, sha256: '../../etc/passwd' })).rejects.toThrow(/invalid image hash/);
    await expect(store.read({ ...image, mime: 'text/html' })).rejects.toThrow(/unsupported mime/);
  });

  it('refuses to store something that is not an image', async () => {
    const store = new FolderImageStore(dir);
    await expect(store.put(Buffer.from('<html></html>'))).rejects.toThrow(/not an image/);
  });

  it('detects a file corrupted on disk', async () => {
    const store = new FolderImageStore(dir);
    const image = await store.put(await solid(8, 8, [9, 9, 9]));
    await writeFile(join(dir, image.path), Buffer.from('garbage'));
    await expect(store.read(image)).rejects.toThrow(/corrupt/);
  });

  it('sweeps images unused for longer than retention, keeps recent ones, and says so', async () => {
    const store = new FolderImageStore(dir, { retentionDays: 14 });
    const now = Date.now();
    const old = await store.put(await solid(8, 8, [10, 0, 0]));
    const recent = await store.put(await solid(8, 8, [0, 10, 0]));
    await age(store, old.sha256, old.mime, now - 15 * DAY);
    await age(store, recent.sha256, recent.mime, now - 13 * DAY);
    expect(await store.sweep(now)).toBe(1);
    expect(await store.has(old)).toBe(false);
    expect(await store.has(recent)).toBe(true);
    const err = await store.read(old).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('expired');
    expect((err as UserError).message).toMatch(/14 days/);
  });

  it('counts retention from last use: a rerun weeks later keeps the image alive', async () => {
    const store = new FolderImageStore(dir, { retentionDays: 30 });
    const start = Date.now() - 50 * DAY;
    const image = await store.put(await solid(8, 8, [0, 0, 10]));
    await age(store, image.sha256, image.mime, start);
    // Reran three weeks after upload: still there, and reading refreshes its age.
    expect(await store.sweep(start + 21 * DAY)).toBe(0);
    await store.read(image);
    // A sweep 40 days after the original upload (well past 30) keeps it, since it was used recently.
    expect(await store.sweep(Date.now() + 20 * DAY)).toBe(0);
    expect(await store.has(image)).toBe(true);
    // Putting the same bytes again also refreshes it.
    await age(store, image.sha256, image.mime, start);
    await store.put(await solid(8, 8, [0, 0, 10]));
    expect(await store.sweep(Date.now() + 29 * DAY)).toBe(0);
    expect(await store.sweep(Date.now() + 31 * DAY)).toBe(1);
  });

  it('sweeps stale temp files, ignores foreign files, and copes with a missing folder', async () => {
    expect(await new FolderImageStore(join(dir, 'nope')).sweep()).toBe(0);
    const store = new FolderImageStore(dir, { retentionDays: 1 });
    await mkdir(join(dir, 'ab'), { recursive: true });
    const temp = join(dir, 'ab', '.tmp-0123abcd');
    const foreign = join(dir, 'ab', 'notes.txt');
    await writeFile(temp, 'half');
    await writeFile(foreign, 'keep me');
    const old = new Date(Date.now() - 3 * DAY);
    await utimes(temp, old, old);
    await utimes(foreign, old, old);
    expect(await store.sweep()).toBe(0);
    expect(await readdir(join(dir, 'ab'))).toEqual(['notes.txt']);
  });
});
