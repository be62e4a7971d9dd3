import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { composeStrip, composeStripFitted } from '../../../src/images/strip.ts';
import { near, pixelAt, solid } from './image-fixtures.ts';

async function brightPixels(image: Buffer, left: number, top: number, width: number, height: number) {
  const { data, info } = await sharp(image).extract({ left, top, width, height }).raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < data.length; i += info.channels) if (data[i] > 200 && data[i + 1] > 200 && data[i + 2] > 200) n++;
  return n;
}

describe('composeStrip', () => {
  const colours: Array<[number, number, number]> = [
    [220, 40, 40],
    [40, 200, 40],
    [40, 40, 220],
  ];

  it('puts the images in a row, in order, with each caption underneath its own image', async () => {
    const images = await Promise.all(colours.map((c) => solid(256, 256, c)));
    const out = await composeStrip(images, ['denoise 0.30', 'denoise 0.45', 'denoise 0.60']);
    const meta = await sharp(out).metadata();
    expect(meta.width).toBe(3 * 256 + 4 * 8);
    expect(meta.height).toBeGreaterThan(256 + 8 + 20);
    for (let i = 0; i < 3; i++) {
      const left = 8 + i * 264;
      expect(near(await pixelAt(out, left + 128, 8 + 128), colours[i], 4)).toBe(true);
      // Light caption text in the band below this image, none in the gaps between.
      expect(await brightPixels(out, left, 8 + 256, 256, meta.height - 264)).toBeGreaterThan(30);
    }
  });

  it('leaves the caption band empty when no label is given and escapes markup in labels', async () => {
    const images = await Promise.all(colours.slice(0, 2).map((c) => solid(200, 200, c)));
    const unlabeled = await composeStrip(images, ['', '']);
    const h = (await sharp(unlabeled).metadata()).height;
    expect(await brightPixels(unlabeled, 0, 208, 416, h - 208)).toBe(0);
    const markup = await composeStrip(images, ['<b>&</b>', "a'b\"c"]);
    expect(await brightPixels(markup, 0, 208, 416, h - 208)).toBeGreaterThan(30);
  });

  it('scales a long ladder to the width limit and caps tile height', async () => {
    const images = await Promise.all([0, 1, 2, 3, 4].map(() => solid(1024, 1024, [90, 90, 90])));
    const out = await composeStrip(images, ['0.2', '0.4', '0.6', '0.8', '1.0'], { maxWidth: 2000 });
    const meta = await sharp(out).metadata();
    expect(meta.width).toBeLessThanOrEqual(2000);
    expect(meta.width).toBeGreaterThan(1900);
    const tall = await sharp(await composeStrip(images.slice(0, 1), ['x'])).metadata();
    expect(tall.width).toBe(768 + 16);
  });

  it('refuses an empty strip', async () => {
    await expect(composeStrip([], [])).rejects.toThrow(/1 to 12/);
  });

  it('composeStripFitted: same strip as one upload under the cap', async () => {
    const images = await Promise.all(colours.map((c) => solid(256, 256, c)));
    const out = await composeStripFitted(images, ['denoise 0.30', 'denoise 0.45', 'denoise 0.60'], 50_000);
    expect(out.data.length).toBeLessThanOrEqual(50_000);
    const meta = await sharp(out.data).metadata();
    expect(meta.width).toBe(3 * 256 + 4 * 8);
    expect(near(await pixelAt(out.data, 8 + 264 + 128, 136), colours[1], 10)).toBe(true);
  });
});
