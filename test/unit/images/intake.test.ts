import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/commands/errors.ts';
import { intakeImage, type IntakeLimits } from '../../../src/images/intake.ts';
import {
  animated,
  decompressionBombPng,
  greyAlphaPng,
  near,
  noisyJpeg,
  noisyPng,
  paletteAlphaPng,
  pixelAt,
  solid,
} from './image-fixtures.ts';

const LIMITS: IntakeLimits = { maxBytes: 20 * 1024 * 1024, maxPixels: 40_000_000 };

async function refusal(bytes: Buffer, limits = LIMITS): Promise<UserError> {
  try {
    await intakeImage(bytes, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('intakeImage accepted an input it should refuse');
}

async function describePng(png: Buffer) {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return sharp(png).metadata();
}

describe('intakeImage refuses what it cannot or must not read', () => {
  it('refuses an empty file', async () => {
    const err = await refusal(Buffer.alloc(0));
    expect(err.code).toBe('bad_image');
    expect(err.message).toMatch(/empty/);
  });

  it('refuses HTML named .png, saying it looks like HTML', async () => {
    const err = await refusal(Buffer.from('<!DOCTYPE html><html><body>404 Not Found</body></html>'));
    expect(err.code).toBe('bad_image');
    expect(err.message).toBe(
      'That file is not an image Easel can read (it looks like HTML). Please send a PNG, JPEG, WebP, GIF, AVIF or TIFF.',
    );
  });

  it('refuses plain text', async () => {
    const err = await refusal(Buffer.from('just some notes\nnot a picture at all\n'));
    expect(err.message).toMatch(/looks like text/);
  });

  it('refuses SVG without rendering it, even one that references a local file', async () => {
    const svg = Buffer.from(
      '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">' +
        '<image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>',
    );
    const err = await refusal(svg);
    expect(err.code).toBe('bad_image');
    expect(err.message).toMatch(/SVG/);
    expect(err.message).toMatch(/PNG or JPEG/);
  });

  it('refuses a truncated PNG', async () => {
    const png = await noisyPng(256, 256);
    const err = await refusal(png.subarray(0, Math.floor(png.length * 0.6)));
    expect(err.code).toBe('bad_image');
    expect(err.message).toMatch(/^That PNG image is incomplete/);
  });

  it('refuses a truncated JPEG', async () => {
    const jpeg = await noisyJpeg(256, 256);
    const err = await refusal(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
    expect(err.code).toBe('bad_image');
    expect(err.message).toMatch(/^That JPEG image is incomplete/);
  });

  it('refuses a PNG whose pixel data is corrupted (complete file) as damaged', async () => {
    const png = Buffer.from(await noisyPng(256, 256));
    for (let i = Math.floor(png.length / 2); i < Math.floor(png.length / 2) + 64; i++) png[i] ^= 0x5a;
    const err = await refusal(png);
    expect(err.code).toBe('bad_image');
    expect(err.message).toMatch(/^That PNG image is damaged/);
  });

  it('refuses a file over maxBytes with both sizes in the message', async () => {
    const png = await noisyPng(128, 128);
    const err = await refusal(png, { maxBytes: 10_000, maxPixels: LIMITS.maxPixels });
    expect(err.code).toBe('image_too_large');
    expect(err.message).toMatch(/^That file is \d+(\.\d)? KB; the limit is 9\.8 KB\.$/);
  });

  it('refuses a decompression bomb (small file, 30000 × 30000) from its header, before decoding', async () => {
    const bomb = decompressionBombPng(30000);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const err = await refusal(bomb);
    expect(err.code).toBe('image_too_large');
    expect(err.message).toBe('That image is 30000 × 30000 (900 MP); the limit is 40 MP.');
  });

  it('refuses an image just over maxPixels and accepts one at the limit', async () => {
    const img = await solid(200, 100, [10, 20, 30]);
    expect((await refusal(img, { maxBytes: LIMITS.maxBytes, maxPixels: 19_999 })).code).toBe('image_too_large');
    const ok = await intakeImage(img, { maxBytes: LIMITS.maxBytes, maxPixels: 20_000 });
    expect([ok.width, ok.height]).toEqual([200, 100]);
  });
});

describe('intakeImage normalises what it accepts', () => {
  it.each(['png', 'jpeg', 'webp', 'tiff', 'avif'] as const)('accepts %s and outputs an 8-bit sRGB PNG', async (format) => {
    const input = await solid(64, 48, [200, 40, 40], format);
    const out = await intakeImage(input, LIMITS);
    expect(out.format).toBe(format);
    expect([out.width, out.height]).toEqual([64, 48]);
    const meta = await describePng(out.data);
    expect(meta.format).toBe('png');
    expect(meta.space).toBe('srgb');
    expect(meta.depth).toBe('uchar');
    expect(near(await pixelAt(out.data, 10, 10), [200, 40, 40], 20)).toBe(true);
  });

  it('trusts the bytes, not the name: a JPEG is reported as jpeg whatever it was called', async () => {
    const out = await intakeImage(await noisyJpeg(32, 32), LIMITS);
    expect(out.format).toBe('jpeg');
  });

  it.each(['gif', 'webp'] as const)('takes the first frame of an animated %s', async (format) => {
    const anim = await animated(format, 40, 30);
    const out = await intakeImage(anim, LIMITS);
    expect([out.width, out.height]).toEqual([40, 30]);
    expect(out.frames).toBe(2);
    expect(near(await pixelAt(out.data, 5, 5), [255, 0, 0])).toBe(true);
  });

  it('converts a CMYK JPEG to sRGB with the right colour', async () => {
    const cmyk = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#ff0000' } })
      .toColourspace('cmyk')
      .jpeg()
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const out = await intakeImage(cmyk, LIMITS);
    const meta = await describePng(out.data);
    expect(meta.space).toBe('srgb');
    expect(meta.channels).toBe(3);
    const [r, g, b] = await pixelAt(out.data, 16, 16);
    expect(r).toBeGreaterThan(180);
    expect(g).toBeLessThan(60);
    expect(b).toBeLessThan(60);
  });

  it('reduces a 16-bit PNG to 8 bits per channel', async () => {
    const png16 = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#336699' } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(png16).metadata()).bitsPerSample).toBe(16);
    const out = await intakeImage(png16, LIMITS);
    const meta = await describePng(out.data);
    expect(meta.bitsPerSample).toBe(8);
    expect(near(await pixelAt(out.data, 3, 3), [0x33, 0x66, 0x99], 3)).toBe(true);
  });

  it('flattens a grey + alpha PNG onto white and outputs RGB', async () => {
    const out = await intakeImage(greyAlphaPng(40, 20, 100), LIMITS);
    expect(out.hasAlpha).toBe(false);
    const meta = await describePng(out.data);
    expect(meta.channels).toBe(3);
    expect(meta.space).toBe('srgb');
    expect(near(await pixelAt(out.data, 5, 10), [100, 100, 100], 3)).toBe(true);
    expect(near(await pixelAt(out.data, 35, 10), [255, 255, 255], 3)).toBe(true);
  });

  it('keeps alpha of a grey + alpha PNG with keepAlpha, as sRGB + alpha', async () => {
    const out = await intakeImage(greyAlphaPng(40, 20, 100), LIMITS, { keepAlpha: true });
    expect(out.hasAlpha).toBe(true);
    expect((await describePng(out.data)).channels).toBe(4);
    expect(await pixelAt(out.data, 35, 10)).toEqual([expect.any(Number), expect.any(Number), expect.any(Number), 0]);
    expect(near(await pixelAt(out.data, 5, 10), [100, 100, 100, 255], 3)).toBe(true);
  });

  it('flattens a palette PNG with tRNS transparency onto white', async () => {
    const out = await intakeImage(paletteAlphaPng(40, 20), LIMITS);
    expect(near(await pixelAt(out.data, 5, 5), [0, 200, 0], 3)).toBe(true);
    expect(near(await pixelAt(out.data, 35, 5), [255, 255, 255], 3)).toBe(true);
  });

  it('applies EXIF orientation 6: a 40 × 20 JPEG tagged "rotate 90" comes out 20 × 40', async () => {
    // Left half red, right half blue, so the rotation direction is checked too.
    const raw = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) raw.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
    const jpeg = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const out = await intakeImage(jpeg, LIMITS);
    expect([out.width, out.height]).toEqual([20, 40]);
    expect([out.originalWidth, out.originalHeight]).toEqual([20, 40]);
    // Orientation 6 = rotate 90° clockwise to display: the left (red) half ends up on top.
    expect(near(await pixelAt(out.data, 10, 5), [255, 0, 0], 40)).toBe(true);
    expect(near(await pixelAt(out.data, 10, 35), [0, 0, 255], 40)).toBe(true);
    expect((await sharp(out.data).metadata()).orientation).toBeUndefined();
  });

  it('downscales large images to maxSide (default 1536), keeping aspect; maxSide Infinity keeps full size', async () => {
    const big = await noisyJpeg(3000, 1500);
    const out = await intakeImage(big, LIMITS);
    expect([out.width, out.height]).toEqual([1536, 768]);
    expect([out.originalWidth, out.originalHeight]).toEqual([3000, 1500]);
    const small = await intakeImage(big, LIMITS, { maxSide: 512 });
    expect([small.width, small.height]).toEqual([512, 256]);
    const budget = await intakeImage(big, LIMITS, { targetPixels: 1024 * 1024, maxSide: Infinity });
    expect(budget.width * budget.height).toBeLessThanOrEqual(1024 * 1024 + 3000);
    expect(Math.abs(budget.width / budget.height - 2)).toBeLessThan(0.01);
    const full = await intakeImage(big, LIMITS, { maxSide: Infinity });
    expect([full.width, full.height]).toEqual([3000, 1500]);
  });

  it('never upscales a small image', async () => {
    const out = await intakeImage(await solid(30, 20, [1, 2, 3]), LIMITS, { maxSide: 4096, targetPixels: 4_000_000 });
    expect([out.width, out.height]).toEqual([30, 20]);
  });
});
