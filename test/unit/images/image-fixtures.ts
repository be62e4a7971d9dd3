/**
 * Image fixtures for the images tests, generated with sharp (and, for the decompression bomb, by
 * hand with zlib so it stays a tiny file). No binary files are committed.
 */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { crc32 } from 'node:zlib';

export type Rgb = [number, number, number];

/** Noisy picture so encoders cannot compress it to nothing (and truncation hits real pixel data). */
export async function noisyRgb(width: number, height: number, seed = 1): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  let x = seed * 2654435761;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const y = Math.floor(i / 3 / width);
    data[i] = ((y * 255) / height + ((x >>> 16) & 63)) & 255;
  }
  return data;
}

/** Photo-like content: smooth colour gradients with light grain (compresses like a real render). */
export async function photoLikePng(width: number, height: number, seed = 1): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  let x = seed * 2654435761;
  for (let y = 0; y < height; y++) {
    for (let c = 0; c < width; c++) {
      const i = (y * width + c) * 3;
      x = (x * 1103515245 + 12345) >>> 0;
      const grain = ((x >>> 16) & 15) - 8;
      data[i] = Math.max(0, Math.min(255, Math.round((c * 255) / width) + grain));
      data[i + 1] = Math.max(0, Math.min(255, Math.round((y * 255) / height) + grain));
      data[i + 2] = Math.max(0, Math.min(255, 128 + Math.round(100 * Math.sin((c + y) / 40)) + grain));
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export async function noisyPng(width: number, height: number, seed = 1): Promise<Buffer> {
  return sharp(await noisyRgb(width, height, seed), { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export async function noisyJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  return sharp(await noisyRgb(width, height, seed), { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

export async function solid(width: number, height: number, rgb: Rgb, format: 'png' | 'jpeg' | 'webp' | 'tiff' | 'avif' = 'png'): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  return img.toFormat(format).toBuffer();
}

/** Two-frame animation: first frame red, second blue. */
export async function animated(format: 'gif' | 'webp', width = 40, height = 30): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 2 * 4);
  for (let i = 0; i < width * height; i++) {
    raw.set([255, 0, 0, 255], i * 4);
    raw.set([0, 0, 255, 255], (width * height + i) * 4);
  }
  const img = sharp(raw, { raw: { width, height: height * 2, channels: 4, pageHeight: height } });
  return format === 'gif' ? img.gif({ loop: 0, delay: [100, 100] }).toBuffer() : img.webp({ loop: 0, delay: [100, 100], lossless: true }).toBuffer();
}

/** Build a PNG from raw chunks (for images sharp cannot be asked to write). */
export function pngFromChunks(chunks: Array<{ type: string; data: Buffer }>): Buffer {
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
  for (const c of chunks) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(c.data.length);
    const typeAndData = Buffer.concat([Buffer.from(c.type, 'latin1'), c.data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typeAndData));
    parts.push(len, typeAndData, crc);
  }
  return Buffer.concat(parts);
}

function ihdr(width: number, height: number, bitDepth: number, colourType: number): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt32BE(width, 0);
  b.writeUInt32BE(height, 4);
  b[8] = bitDepth;
  b[9] = colourType;
  return b;
}

/**
 * A valid 1-bit greyscale PNG of side × side, all one colour: ~100 KB on disk for 30000², but
 * 900 MP (2.7 GB as RGB) once decoded. The classic decompression bomb.
 */
export function decompressionBombPng(side = 30000): Buffer {
  const rowBytes = 1 + Math.ceil(side / 8);
  const raw = Buffer.alloc(rowBytes * side); // filter 0 + all-zero (black) pixels
  const idat = deflateSync(raw, { level: 9 });
  return pngFromChunks([
    { type: 'IHDR', data: ihdr(side, side, 1, 0) },
    { type: 'IDAT', data: idat },
    { type: 'IEND', data: Buffer.alloc(0) },
  ]);
}

/** 8-bit greyscale + alpha PNG (colour type 4): left half opaque grey, right half transparent. */
export function greyAlphaPng(width: number, height: number, grey = 100): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 2);
    for (let x = 0; x < width; x++) {
      row[1 + x * 2] = grey;
      row[2 + x * 2] = x < width / 2 ? 255 : 0;
    }
    rows.push(row);
  }
  return pngFromChunks([
    { type: 'IHDR', data: ihdr(width, height, 8, 4) },
    { type: 'IDAT', data: deflateSync(Buffer.concat(rows)) },
    { type: 'IEND', data: Buffer.alloc(0) },
  ]);
}

/** Palette PNG (colour type 3) with a tRNS chunk: index 0 opaque green, index 1 fully transparent. Left half 0, right half 1. */
export function paletteAlphaPng(width: number, height: number): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width);
    for (let x = 0; x < width; x++) row[1 + x] = x < width / 2 ? 0 : 1;
    rows.push(row);
  }
  return pngFromChunks([
    { type: 'IHDR', data: ihdr(width, height, 8, 3) },
    { type: 'PLTE', data: Buffer.from([0, 200, 0, 255, 0, 0]) },
    { type: 'tRNS', data: Buffer.from([255, 0]) },
    { type: 'IDAT', data: deflateSync(Buffer.concat(rows)) },
    { type: 'IEND', data: Buffer.alloc(0) },
  ]);
}

/** The RGB(A) value of one pixel of any image sharp can read. */
export async function pixelAt(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [...data.subarray(i, i + info.channels)];
}

export function near(actual: number[], expected: number[], tolerance = 12): boolean {
  return expected.every((v, i) => Math.abs((actual[i] ?? -999) - v) <= tolerance);
}
