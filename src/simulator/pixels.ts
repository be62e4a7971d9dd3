/**
 * Pixel data the simulated nodes pass around, as 8-bit raw buffers (one buffer per batch item).
 * IMAGE = RGB, MASK = one channel (255 means 1.0), LATENT = RGB pixels at a size that is a multiple of 8
 * (what a VAE would decode it to), optionally with a noise mask.
 */
import sharp from 'sharp';
import { pngChunk } from '../images/png-chunk.ts';

export interface ImageBatch {
  kind: 'IMAGE';
  width: number;
  height: number;
  items: Buffer[];
}
export interface MaskBatch {
  kind: 'MASK';
  width: number;
  height: number;
  items: Buffer[];
}
export interface Latent {
  kind: 'LATENT';
  width: number;
  height: number;
  items: Buffer[];
  noiseMask?: MaskBatch;
}

export type Kernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3' | 'mitchell';

/** ComfyUI upscale_method -> closest sharp kernel. */
export function kernelFor(method: string): Kernel {
  switch (method) {
    case 'nearest-exact':
      return 'nearest';
    case 'bilinear':
    case 'area':
      return 'linear';
    case 'bicubic':
    case 'bislerp':
      return 'cubic';
    case 'lanczos':
      return 'lanczos3';
    default:
      return 'cubic';
  }
}

/** Raw interleaved pixels (1 = gray/mask, 3 = RGB) and their size. */
export interface Raster {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 3;
}

export interface Size {
  width: number;
  height: number;
}

export async function resizeRaw(src: Raster, to: Size, kernel: Kernel = 'cubic'): Promise<Buffer> {
  const { data, width, height, channels } = src;
  if (width === to.width && height === to.height) return data;
  const out = await sharp(data, { raw: { width, height, channels } })
    .resize(to.width, to.height, { kernel, fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return toChannels(out.data, out.info.channels, channels);
}

function toChannels(data: Buffer, have: number, want: 1 | 3): Buffer {
  if (have === want) return data;
  const px = data.length / have;
  const out = Buffer.alloc(px * want);
  for (let p = 0; p < px; p++) {
    for (let c = 0; c < want; c++) out[p * want + c] = data[p * have + Math.min(c, have - 1)];
  }
  return out;
}

export function cropRaw(
  buf: Buffer,
  width: number,
  channels: number,
  x: number,
  y: number,
  w: number,
  h: number,
): Buffer {
  const out = Buffer.alloc(w * h * channels);
  const rowBytes = w * channels;
  for (let r = 0; r < h; r++) {
    const src = ((y + r) * width + x) * channels;
    buf.copy(out, r * rowBytes, src, src + rowBytes);
  }
  return out;
}

/** comfy.utils.common_upscale: optional center crop to the target aspect, then resize. */
export async function commonUpscale(src: Raster, to: Size, method: string, crop: string): Promise<Buffer> {
  let { data, width: w, height: h } = src;
  const { channels } = src;
  if (crop === 'center') {
    const oldAspect = w / h;
    const newAspect = to.width / to.height;
    let x = 0;
    let y = 0;
    if (oldAspect > newAspect) x = Math.round((w - w * (newAspect / oldAspect)) / 2);
    else if (oldAspect < newAspect) y = Math.round((h - h * (oldAspect / newAspect)) / 2);
    if (x > 0 || y > 0) {
      data = cropRaw(data, w, channels, x, y, w - 2 * x, h - 2 * y);
      w -= 2 * x;
      h -= 2 * y;
    }
  }
  return resizeRaw({ data, width: w, height: h, channels }, to, kernelFor(method));
}

/** out = a*(1-t) + b*t, per byte. */
export function lerpBuffers(a: Buffer, b: Buffer, t: number, out = Buffer.alloc(a.length)): Buffer {
  if (t <= 0) {
    a.copy(out);
    return out;
  }
  if (t >= 1) {
    b.copy(out);
    return out;
  }
  const s = 1 - t;
  for (let i = 0; i < a.length; i++) out[i] = (a[i] * s + b[i] * t + 0.5) | 0;
  return out;
}

/** Like lerpBuffers, with a per-pixel weight from a one-channel mask (255 = take b). */
export function lerpMasked(a: Buffer, b: Buffer, t: number, mask: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  const px = mask.length;
  for (let p = 0; p < px; p++) {
    const w = (t * mask[p]) / 255;
    const s = 1 - w;
    for (let c = 0; c < 3; c++) {
      const i = p * 3 + c;
      out[i] = (a[i] * s + b[i] * w + 0.5) | 0;
    }
  }
  return out;
}

export interface DecodedImage {
  width: number;
  height: number;
  rgb: Buffer;
  /** Alpha channel if the file has one. */
  alpha?: Buffer;
}

/** Decode a file the way LoadImage does: EXIF-rotated, first frame, RGB (+ alpha when present). */
export async function decodeImageFile(bytes: Buffer): Promise<DecodedImage> {
  const base = sharp(bytes, { failOn: 'none' }).rotate();
  const meta = await sharp(bytes, { failOn: 'none' }).metadata();
  const { data, info } = await base.clone().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const px = info.width * info.height;
  const rgb = Buffer.alloc(px * 3);
  const alpha = Buffer.alloc(px);
  for (let p = 0; p < px; p++) {
    rgb[p * 3] = data[p * 4];
    rgb[p * 3 + 1] = data[p * 4 + 1];
    rgb[p * 3 + 2] = data[p * 4 + 2];
    alpha[p] = data[p * 4 + 3];
  }
  return { width: info.width, height: info.height, rgb, alpha: meta.hasAlpha ? alpha : undefined };
}

function textChunk(key: string, value: string): Buffer {
  return pngChunk('tEXt', Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0]), Buffer.from(value, 'latin1')]));
}

/** Encode RGB as PNG and add tEXt chunks right after IHDR (where Pillow puts them). */
export async function encodePng(
  rgb: Buffer,
  width: number,
  height: number,
  texts: Array<[string, string]>,
  compressionLevel: number,
): Promise<Buffer> {
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel, adaptiveFiltering: false })
    .toBuffer();
  if (texts.length === 0) return png;
  const ihdrEnd = 8 + 4 + 4 + 13 + 4;
  return Buffer.concat([png.subarray(0, ihdrEnd), ...texts.map(([k, v]) => textChunk(k, v)), png.subarray(ihdrEnd)]);
}

/** Read tEXt chunks of a PNG (used by tests and /view re-encodes). */
export function readPngText(png: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 8;
  while (off + 8 <= png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('ascii', off + 4, off + 8);
    if (type === 'tEXt') {
      const data = png.subarray(off + 8, off + 8 + len);
      const z = data.indexOf(0);
      out[data.toString('latin1', 0, z)] = data.toString('latin1', z + 1);
    }
    if (type === 'IEND') break;
    off += 12 + len;
  }
  return out;
}

export async function encodeJpegPreview(rgb: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
}

/** Size that fits (w,h) into a box of `max` keeping aspect (never upscales). */
export function fitInto(w: number, h: number, max: number): [number, number] {
  if (w <= max && h <= max) return [w, h];
  const s = max / Math.max(w, h);
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}
