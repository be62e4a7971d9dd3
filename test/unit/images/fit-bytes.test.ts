import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeToFit } from '../../../src/images/fit-bytes.ts';
import { near, noisyJpeg, noisyPng, noisyRgb, photoLikePng, pixelAt, solid } from './image-fixtures.ts';

async function dims(image: Buffer) {
  const m = await sharp(image).metadata();
  return [m.format, m.width, m.height];
}

describe('encodeToFit', () => {
  it('returns a PNG that already fits untouched', async () => {
    const png = await noisyPng(64, 64);
    const out = await encodeToFit(png, png.length);
    expect(out).toEqual({ data: png, mime: 'image/png', ext: 'png' });
  });

  it('returns a JPEG that already fits untouched (no pointless PNG bloat)', async () => {
    const jpeg = await noisyJpeg(64, 64);
    const out = await encodeToFit(jpeg, 10 * 1024 * 1024);
    expect(out.mime).toBe('image/jpeg');
    expect(out.data.equals(jpeg)).toBe(true);
  });

  it('falls back to WebP at full size when the PNG is too big', async () => {
    const png = await photoLikePng(512, 512);
    const cap = Math.floor(png.length / 2);
    const out = await encodeToFit(png, cap);
    expect(out.mime).toBe('image/webp');
    expect(out.ext).toBe('webp');
    expect(out.data.length).toBeLessThanOrEqual(cap);
    expect(await dims(out.data)).toEqual(['webp', 512, 512]);
  });

  it('keeps a lossless PNG (recompressed harder) when the input PNG is only a little over', async () => {
    const loose = await sharp(await photoLikePng(256, 256)).png({ compressionLevel: 0 }).toBuffer();
    const cap = Math.ceil(loose.length / 1.2);
    const out = await encodeToFit(loose, cap);
    expect(out.mime).toBe('image/png');
    expect(out.data.length).toBeLessThanOrEqual(cap);
    const [a, b] = await Promise.all([sharp(loose).raw().toBuffer(), sharp(out.data).raw().toBuffer()]);
    expect(a.equals(b)).toBe(true);
  });

  it('shrinks dimensions as a last resort and never exceeds the cap', async () => {
    const png = await noisyPng(512, 512, 7);
    for (const cap of [60_000, 20_000, 5_000, 2_000]) {
      const out = await encodeToFit(png, cap);
      expect(out.data.length).toBeLessThanOrEqual(cap);
      const [format, width, height] = await dims(out.data);
      expect(format).toBe(out.mime === 'image/webp' ? 'webp' : 'jpeg');
      expect(width).toBe(height);
      if (cap <= 5_000) expect(width).toBeLessThan(512);
    }
  });

  it('flattens transparency onto white when it has to use JPEG', async () => {
    const rgb = await noisyRgb(256, 256);
    const rgba = Buffer.alloc(256 * 256 * 4);
    for (let i = 0; i < 256 * 256; i++) {
      const x = i % 256;
      rgba.set(x < 128 ? [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], 255] : [0, 0, 0, 0], i * 4);
    }
    const png = await sharp(rgba, { raw: { width: 256, height: 256, channels: 4 } }).png().toBuffer();
    const out = await encodeToFit(png, 3_000);
    expect(out.mime).toBe('image/jpeg');
    expect(out.data.length).toBeLessThanOrEqual(3_000);
    const m = await sharp(out.data).metadata();
    expect(near(await pixelAt(out.data, m.width - 2, 2), [255, 255, 255], 30)).toBe(true);
  });

  it('keeps PNG when preferPng is off only if it is not PNG that fits; goes lossy instead', async () => {
    const png = await solid(64, 64, [10, 20, 30]);
    const out = await encodeToFit(png, 1024 * 1024, { preferPng: false });
    expect(out.mime).toBe('image/webp');
  });

  it('says so when no encoding can fit', async () => {
    await expect(encodeToFit(await noisyPng(64, 64), 100)).rejects.toThrow(/cannot fit/);
  });
});
