/**
 * Shared by the gallery and the strip: decode each image once (trusted: Easel's own outputs), scaled
 * into its cell, and copy the pixels into one raw RGB canvas. Copying rows in JS is far cheaper than
 * letting libvips composite several full-size layers; only the small label overlays are composited.
 */
import sharp, { type OverlayOptions } from 'sharp';
import { MAX_IMAGE_PIXELS, withinPixelLimit } from './pixel-limit.ts';
import type { RawImage } from './fit-bytes.ts';

export interface Tile {
  data: Buffer;
  width: number;
  height: number;
}

export interface Size {
  width: number;
  height: number;
}

export interface Canvas {
  data: Buffer;
  width: number;
  height: number;
}

export function parseHexColour(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`expected a colour like #1e1f22, got ${JSON.stringify(hex)}`);
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

export async function imageSizes(images: Buffer[]): Promise<Size[]> {
  return Promise.all(
    images.map(async (img) => {
      const m = await withinPixelLimit(sharp(img, { limitInputPixels: MAX_IMAGE_PIXELS }).metadata());
      return { width: m.autoOrient?.width ?? m.width, height: m.autoOrient?.height ?? m.height };
    }),
  );
}

/** RGB pixels of `image` fitted inside cellW × cellH (aspect kept), transparency flattened onto `background`. */
export async function tileFor(image: Buffer, size: Size, cellW: number, cellH: number, background: string): Promise<Tile> {
  let pipeline = sharp(image, { autoOrient: true, limitInputPixels: MAX_IMAGE_PIXELS });
  const fits = size.width <= cellW && size.height <= cellH;
  const touches = size.width === cellW || size.height === cellH;
  if (!fits || !touches) pipeline = pipeline.resize({ width: cellW, height: cellH, fit: 'inside', kernel: 'mitchell' });
  const { data, info } = await pipeline
    .flatten({ background })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`tile has ${info.channels} channels after flattening`);
  return { data, width: info.width, height: info.height };
}

export function createCanvas(width: number, height: number, background: string): Canvas {
  const [r, g, b] = parseHexColour(background);
  const data = Buffer.allocUnsafe(width * height * 3);
  const row = Buffer.allocUnsafe(width * 3);
  for (let x = 0; x < width; x++) {
    row[x * 3] = r;
    row[x * 3 + 1] = g;
    row[x * 3 + 2] = b;
  }
  for (let y = 0; y < height; y++) row.copy(data, y * width * 3);
  return { data, width, height };
}

/** Copy a tile into the canvas at (left, top); the caller keeps it inside the canvas. */
export function blit(canvas: Canvas, tile: Tile, left: number, top: number): void {
  const rowBytes = tile.width * 3;
  for (let y = 0; y < tile.height; y++) {
    tile.data.copy(canvas.data, ((top + y) * canvas.width + left) * 3, y * rowBytes, (y + 1) * rowBytes);
  }
}

/** The canvas with the (small) label overlays drawn on it, as raw RGB pixels ready to encode. */
export async function finishCanvas(canvas: Canvas, overlays: OverlayOptions[]): Promise<RawImage> {
  const { data, info } = await sharp(canvas.data, { raw: { width: canvas.width, height: canvas.height, channels: 3 }, limitInputPixels: MAX_IMAGE_PIXELS })
    .composite(overlays)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}
