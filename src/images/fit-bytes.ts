/**
 * Encode an image so it fits a platform's upload cap (Discord 10 MiB, Slack, ...). Never returns more
 * than maxBytes. In order of preference:
 *   1. the input itself, when it already fits and is PNG/JPEG/WebP (no work at all: the common case);
 *   2. PNG (lossless) re-encoded harder, when a PNG or lossless input is only a little over;
 *   3. WebP at falling quality;
 *   4. JPEG at lower quality (alpha flattened onto white);
 *   5. JPEG at smaller dimensions, scaled from the last size so it usually takes one more try.
 * The input is decoded once; every attempt encodes from the same raw pixels.
 */
import sharp, { type Sharp } from 'sharp';
import { MAX_IMAGE_PIXELS, withinPixelLimit } from './pixel-limit.ts';
import { sniffImage } from './sniff.ts';

export interface FittedImage {
  data: Buffer;
  mime: string;
  ext: string;
}

const WEBP_MAX_SIDE = 16383;
const WEBP_QUALITIES = [90, 78, 64];
const JPEG_QUALITIES = [60, 45];
const MIN_SIDE = 16;

/** Decoded RGB(A) pixels, e.g. a composed gallery before encoding. */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}
type Raw = RawImage;

export interface RawFitOptions {
  /**
   * 'lossless-first' (default): PNG, then WebP, then JPEG, then shrink.
   * 'fast': a high-quality JPEG (4:4:4, q90) first: several times cheaper than PNG for photographic
   * content; meant for previews such as galleries whose full-quality singles are sent alongside.
   */
  strategy?: 'lossless-first' | 'fast';
}

function fromRaw(raw: Raw): Sharp {
  return sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels }, limitInputPixels: MAX_IMAGE_PIXELS });
}

export async function encodeToFit(image: Buffer, maxBytes: number, opts: { preferPng?: boolean } = {}): Promise<FittedImage> {
  if (!(maxBytes > 0)) throw new Error(`encodeToFit: maxBytes must be positive, got ${maxBytes}`);
  const preferPng = opts.preferPng !== false;
  const sniffed = sniffImage(image);
  const format = sniffed.kind === 'image' ? sniffed.format : undefined;

  if (image.length <= maxBytes) {
    // Passed on undecoded, but never a picture bigger than Easel decodes (header read only).
    await withinPixelLimit(sharp(image, { limitInputPixels: MAX_IMAGE_PIXELS }).metadata());
    if (format === 'png' && preferPng) return { data: image, mime: 'image/png', ext: 'png' };
    if (format === 'jpeg') return { data: image, mime: 'image/jpeg', ext: 'jpg' };
    if (format === 'webp') return { data: image, mime: 'image/webp', ext: 'webp' };
  }

  const decoded = await withinPixelLimit(
    sharp(image, { autoOrient: true, limitInputPixels: MAX_IMAGE_PIXELS }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true }),
  );
  const raw: Raw = {
    data: decoded.data,
    width: decoded.info.width,
    height: decoded.info.height,
    channels: decoded.info.channels === 4 ? 4 : 3,
  };
  const lossless = format !== 'jpeg' && format !== 'webp';
  return fitDecoded(raw, maxBytes, {
    // A lossless source slightly over the cap often fits with stronger PNG compression.
    tryPng: preferPng && lossless && image.length <= maxBytes * 1.25,
    fastJpeg: false,
  });
}

/** Raw pixels (a composed gallery or strip) as a lossless PNG. */
export function encodeRawPng(raw: RawImage): Promise<Buffer> {
  return fromRaw(raw).png({ compressionLevel: 2, adaptiveFiltering: true }).toBuffer();
}

/**
 * A composed preview (gallery, strip) encoded for a chat upload under maxBytes in one step (no PNG
 * round trip). With the default 'fast' strategy it is a 4:4:4 q90 JPEG when that fits: several times
 * cheaper to make than a PNG of photographic content; pass strategy 'lossless-first' to prefer PNG.
 */
export function encodePreviewToFit(raw: RawImage, maxBytes: number, opts: RawFitOptions = {}): Promise<FittedImage> {
  return encodeRawToFit(raw, maxBytes, { strategy: opts.strategy ?? 'fast' });
}

/** Encode raw pixels under maxBytes (same guarantees as encodeToFit). */
export async function encodeRawToFit(raw: RawImage, maxBytes: number, opts: RawFitOptions = {}): Promise<FittedImage> {
  if (!(maxBytes > 0)) throw new Error(`encodeRawToFit: maxBytes must be positive, got ${maxBytes}`);
  const fast = opts.strategy === 'fast';
  if (!fast) {
    const png = await encodeRawPng(raw);
    if (png.length <= maxBytes) return { data: png, mime: 'image/png', ext: 'png' };
  }
  return fitDecoded(raw, maxBytes, { tryPng: false, fastJpeg: fast });
}

async function fitDecoded(raw: Raw, maxBytes: number, plan: { tryPng: boolean; fastJpeg: boolean }): Promise<FittedImage> {
  if (plan.tryPng) {
    const png = await fromRaw(raw).png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer();
    if (png.length <= maxBytes) return { data: png, mime: 'image/png', ext: 'png' };
  }
  if (plan.fastJpeg) {
    const jpeg = await fromRaw(raw).flatten({ background: '#ffffff' }).jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer();
    if (jpeg.length <= maxBytes) return { data: jpeg, mime: 'image/jpeg', ext: 'jpg' };
  }

  let lastSize = Infinity;
  if (Math.max(raw.width, raw.height) <= WEBP_MAX_SIDE) {
    for (const quality of WEBP_QUALITIES) {
      const webp = await fromRaw(raw).webp({ quality, effort: 2, smartSubsample: false }).toBuffer();
      if (webp.length <= maxBytes) return { data: webp, mime: 'image/webp', ext: 'webp' };
      lastSize = webp.length;
      // Far over: lower quality alone will not get there, go straight to shrinking.
      if (webp.length > maxBytes * 2.5) break;
    }
  }

  const flat: Raw =
    raw.channels === 4
      ? { ...raw, channels: 3, data: await fromRaw(raw).flatten({ background: '#ffffff' }).raw().toBuffer() }
      : raw;
  for (const quality of JPEG_QUALITIES) {
    const jpeg = await fromRaw(flat).jpeg({ quality }).toBuffer();
    if (jpeg.length <= maxBytes) return { data: jpeg, mime: 'image/jpeg', ext: 'jpg' };
    // Shrinking encodes at the first (better) quality, so estimate from that size.
    if (quality === JPEG_QUALITIES[0]) lastSize = jpeg.length;
  }

  // Last resort: fewer pixels. Bytes scale roughly with area, so aim a little under the cap.
  let scale = 1;
  for (let attempt = 0; attempt < 12; attempt++) {
    scale *= Math.min(0.9, Math.sqrt((maxBytes * 0.85) / lastSize));
    const width = Math.max(1, Math.round(flat.width * scale));
    const height = Math.max(1, Math.round(flat.height * scale));
    const jpeg = await fromRaw(flat).resize(width, height, { fit: 'fill' }).jpeg({ quality: JPEG_QUALITIES[0] }).toBuffer();
    if (jpeg.length <= maxBytes) return { data: jpeg, mime: 'image/jpeg', ext: 'jpg' };
    if (Math.max(width, height) <= MIN_SIDE) break;
    lastSize = jpeg.length;
  }
  throw new Error(`cannot fit a ${raw.width}×${raw.height} image into ${maxBytes} bytes`);
}
