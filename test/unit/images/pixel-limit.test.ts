/**
 * Issue 10 finding 3, pixels: a ~30 KB PNG of 16000 x 16000 (as a broken host can send back) is
 * refused from its header by every step that would decode it, instead of costing GBs and seconds.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeToFit } from '../../../src/images/fit-bytes.ts';
import { composeGallery } from '../../../src/images/gallery.ts';
import { FolderImageStore } from '../../../src/images/image-store.ts';
import { ImageTooLargeError, MAX_IMAGE_PIXELS } from '../../../src/images/pixel-limit.ts';
import { composeStrip } from '../../../src/images/strip.ts';
import { giantPng } from '../../../src/simulator/giant-png.ts';
import { solid } from './image-fixtures.ts';

const giant = giantPng();
const dir = mkdtempSync(join(tmpdir(), 'easel-pixels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the pixel limit', () => {
  it('is above every preset output and the upload limit, below the 16000 x 16000 bomb', () => {
    expect(giant.length).toBeLessThan(100 * 1024);
    expect(MAX_IMAGE_PIXELS).toBeGreaterThanOrEqual(40_000_000);
    expect(MAX_IMAGE_PIXELS).toBeLessThan(16_000 * 16_000);
  });

  it('fit-bytes refuses the bomb', async () => {
    await expect(encodeToFit(giant, 1024 * 1024)).rejects.toBeInstanceOf(ImageTooLargeError);
  });

  it('the image store refuses it and writes nothing', async () => {
    const store = new FolderImageStore(dir);
    await expect(store.put(giant)).rejects.toBeInstanceOf(ImageTooLargeError);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('gallery and strip refuse it', async () => {
    const small = await solid(64, 64, [10, 20, 30]);
    await expect(composeGallery([small, giant], ['1', '2'])).rejects.toBeInstanceOf(ImageTooLargeError);
    await expect(composeStrip([small, giant], ['a', 'b'])).rejects.toBeInstanceOf(ImageTooLargeError);
  });

  it('an ordinary large result still goes through', async () => {
    const big = await solid(2048, 2048, [200, 100, 50]);
    const fitted = await encodeToFit(big, 512 * 1024);
    expect(fitted.data.length).toBeLessThanOrEqual(512 * 1024);
  });
});
