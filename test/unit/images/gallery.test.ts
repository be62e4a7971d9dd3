import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { composeGallery, composeGalleryFitted, galleryGrid } from '../../../src/images/gallery.ts';
import { near, photoLikePng, pixelAt, solid, type Rgb } from './image-fixtures.ts';

const COLOURS: Rgb[] = [
  [220, 40, 40],
  [40, 200, 40],
  [40, 40, 220],
  [220, 200, 40],
  [200, 40, 200],
  [40, 200, 200],
  [128, 128, 128],
  [90, 60, 30],
  [250, 150, 100],
];

async function tiles(n: number, w = 256, h = 256) {
  return Promise.all(COLOURS.slice(0, n).map((c) => solid(w, h, c)));
}

/** Brightest and darkest luminance in a region. */
async function range(image: Buffer, left: number, top: number, width: number, height: number) {
  const { data, info } = await sharp(image).extract({ left, top, width, height }).raw().toBuffer({ resolveWithObject: true });
  let min = 255;
  let max = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    const l = Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]);
    min = Math.min(min, l);
    max = Math.max(max, l);
  }
  return { min, max };
}

describe('composeGallery', () => {
  it('lays out 1, 2 side by side, 2 × 2 for 3-4, 3 × 2 for 5-6, 3 × 3 up to 9, and refuses 0 or 10', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 9].map((n) => galleryGrid(n))).toEqual([
      { cols: 1, rows: 1 },
      { cols: 2, rows: 1 },
      { cols: 2, rows: 2 },
      { cols: 2, rows: 2 },
      { cols: 3, rows: 2 },
      { cols: 3, rows: 2 },
      { cols: 3, rows: 3 },
      { cols: 3, rows: 3 },
    ]);
    expect(() => galleryGrid(0)).toThrow();
    expect(() => galleryGrid(10)).toThrow(/1 to 9/);
  });

  it('places four images in reading order with an 8 px gap, at full size when they fit', async () => {
    const out = await composeGallery(await tiles(4), ['1', '2', '3', '4']);
    const meta = await sharp(out).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 520, 520]);
    const centres = [
      [128, 200],
      [392, 200],
      [128, 464],
      [392, 464],
    ];
    for (let i = 0; i < 4; i++) expect(near(await pixelAt(out, centres[i][0], centres[i][1]), COLOURS[i], 4)).toBe(true);
  });

  it('two images sit side by side; one image is shown alone', async () => {
    const two = await sharp(await composeGallery(await tiles(2), [])).metadata();
    expect([two.width, two.height]).toEqual([520, 256]);
    const one = await sharp(await composeGallery(await tiles(1), ['1'])).metadata();
    expect([one.width, one.height]).toEqual([256, 256]);
  });

  it('draws a numbered badge (white text on a dark plate) in the top-left of every tile', async () => {
    const grey = await Promise.all([0, 1, 2, 3].map(() => solid(400, 400, [128, 128, 128])));
    const out = await composeGallery(grey, []);
    for (const [x, y] of [
      [0, 0],
      [408, 0],
      [0, 408],
      [408, 408],
    ]) {
      const badge = await range(out, x + 8, y + 8, 40, 40);
      expect(badge.max).toBeGreaterThan(220); // the digit
      expect(badge.min).toBeLessThan(70); // the plate
      const plain = await range(out, x + 200, y + 200, 40, 40);
      expect([plain.min, plain.max]).toEqual([128, 128]);
    }
  });

  it('escapes label text: markup in a label is drawn, not interpreted', async () => {
    const out = await composeGallery(await tiles(2), ['<svg onload=x>', '"/><image href="file:///etc/passwd"/>']);
    expect((await sharp(out).metadata()).width).toBe(520);
    const badge = await range(out, 8, 8, 60, 30);
    expect(badge.max).toBeGreaterThan(220);
  });

  it('scales nine large images down so the gallery stays within maxSide', async () => {
    const out = await composeGallery(await tiles(9, 1024, 1024), [], { maxSide: 1200 });
    const meta = await sharp(out).metadata();
    expect(meta.width).toBeLessThanOrEqual(1200);
    expect(meta.height).toBeLessThanOrEqual(1200);
    expect(meta.width).toBeGreaterThan(1150);
    expect(near(await pixelAt(out, meta.width - 50, meta.height - 50), COLOURS[8], 4)).toBe(true);
  });

  it('fits images of a different shape inside their cell without stretching', async () => {
    const out = await composeGallery([await solid(200, 100, [220, 40, 40]), await solid(100, 200, [40, 40, 220])], []);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([408, 200]);
    // Landscape image centred vertically in a 200 × 200 cell: background above and below.
    expect(near(await pixelAt(out, 100, 100), [220, 40, 40], 4)).toBe(true);
    expect(near(await pixelAt(out, 100, 10), [30, 31, 34], 4)).toBe(true);
  });

  it('composeGalleryFitted: one-step chat upload under the cap, same layout as the PNG', async () => {
    const images = await Promise.all([1, 2, 3, 4].map((seed) => photoLikePng(512, 512, seed)));
    const png = await composeGallery(images, []);
    const fast = await composeGalleryFitted(images, [], 10 * 1024 * 1024);
    expect(fast.mime).toBe('image/jpeg');
    expect(fast.data.length).toBeLessThan(png.length);
    const meta = await sharp(fast.data).metadata();
    expect([meta.width, meta.height]).toEqual([1032, 1032]);
    expect(near(await pixelAt(fast.data, 300, 300), await pixelAt(png, 300, 300), 10)).toBe(true);
    const lossless = await composeGalleryFitted(images, [], 10 * 1024 * 1024, { strategy: 'lossless-first' });
    expect(lossless.mime).toBe('image/png');
    const tight = await composeGalleryFitted(images, [], 40_000);
    expect(tight.data.length).toBeLessThanOrEqual(40_000);
  });
});
