/**
 * Intake of a user's image: decide what it really is, refuse anything unsafe or unreadable with a
 * friendly message, and normalise what is left into the one shape the rest of Easel works with:
 * an 8-bit sRGB PNG, EXIF orientation applied, first frame only, alpha flattened onto white.
 *
 * Order matters for safety and speed: magic bytes first (SVG/HTML never reach a decoder), then the
 * header-only metadata read to refuse decompression bombs before a single pixel is decoded, and only
 * then the decode itself (with sharp's own pixel limit as a second fence).
 */
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { UserError } from '../commands/errors.ts';
import { formatBytes, formatMegapixels } from './human-units.ts';
import { MAX_IMAGE_PIXELS } from './pixel-limit.ts';
import { FORMAT_DISPLAY, sniffImage, type ImageFormat } from './sniff.ts';
import { looksTruncated, pngIsTruncated } from './truncation.ts';

export interface IntakeLimits {
  maxBytes: number;
  maxPixels: number;
}

export interface IntakeOptions {
  /** Keep transparency instead of flattening onto white. */
  keepAlpha?: boolean;
  /**
   * Downscale so neither side exceeds this (never upscales). Large photos shrink on load, which is
   * what makes intake of a 24 MP JPEG fast. Default DEFAULT_INTAKE_MAX_SIDE; pass Infinity (or 0)
   * to keep the full-size input (e.g. for an upscale that should see every original pixel).
   */
  maxSide?: number;
  /** Also downscale so width × height stays at or under this many pixels. */
  targetPixels?: number;
}

export interface IntakeResult {
  /** PNG, sRGB, 8-bit, EXIF orientation applied, first frame. */
  data: Buffer;
  width: number;
  height: number;
  /** The sniffed input format: png, jpeg, gif, webp, tiff, avif, heic. */
  format: string;
  /** Whether `data` has an alpha channel (only ever true with keepAlpha). */
  hasAlpha: boolean;
  /** Size of the upload after orientation, before any downscale. */
  originalWidth: number;
  originalHeight: number;
  /** Frames in the upload (animations); only the first is used. */
  frames: number;
}

/**
 * 1.5x the SDXL side: more than any img2img preset samples from (SD 1.5 ~0.26 MP, SDXL ~1 MP; hires
 * fix upscales inside the graph), while keeping intake of camera photos fast. Upscale jobs should
 * pass maxSide: Infinity (or their own cap) to keep every original pixel.
 */
export const DEFAULT_INTAKE_MAX_SIDE = 1536;

const ACCEPTED = 'PNG, JPEG, WebP, GIF, AVIF or TIFF';

function notAnImage(looksLike: string, svg: boolean): UserError {
  if (svg) {
    return new UserError(
      'bad_image',
      'That file is an SVG drawing, which Easel does not accept (SVGs can pull in other files and web pages). ' +
        'Please export it as a PNG or JPEG and try again.',
    );
  }
  return new UserError('bad_image', `That file is not an image Easel can read (it looks like ${looksLike}). Please send a ${ACCEPTED}.`);
}

function damaged(format: ImageFormat, bytes: Buffer, detail: string): UserError {
  const name = FORMAT_DISPLAY[format];
  if (looksTruncated(format, bytes) || /truncat|premature|unexpected end|incomplete|short read|not enough data/i.test(detail)) {
    return new UserError(
      'bad_image',
      `That ${name} image is incomplete (the file seems to be cut off, maybe the upload was interrupted). Please upload it again.`,
    );
  }
  if (format === 'heic' && /unsupported|compression|codec|decoder/i.test(detail)) {
    return new UserError(
      'bad_image',
      'That HEIC photo uses a compression Easel cannot decode. Please send it as JPEG or PNG ' +
        '(on an iPhone: Settings > Camera > Formats > Most Compatible).',
    );
  }
  return new UserError('bad_image', `That ${name} image is damaged or uses a feature Easel cannot read. Please re-save it as PNG or JPEG and try again.`);
}

function scaleFor(width: number, height: number, opts: IntakeOptions): { width: number; height: number } | undefined {
  const maxSide = opts.maxSide === undefined ? DEFAULT_INTAKE_MAX_SIDE : opts.maxSide;
  let scale = 1;
  if (maxSide && Number.isFinite(maxSide) && maxSide > 0) scale = Math.min(scale, maxSide / Math.max(width, height));
  if (opts.targetPixels && opts.targetPixels > 0) scale = Math.min(scale, Math.sqrt(opts.targetPixels / (width * height)));
  if (scale >= 1) return undefined;
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export async function intakeImage(bytes: Buffer, limits: IntakeLimits, opts: IntakeOptions = {}): Promise<IntakeResult> {
  if (bytes.length === 0) throw new UserError('bad_image', 'That file is empty (0 bytes). Please attach the image again.');
  if (bytes.length > limits.maxBytes) {
    throw new UserError('image_too_large', `That file is ${formatBytes(bytes.length)}; the limit is ${formatBytes(limits.maxBytes)}.`);
  }

  const sniffed = sniffImage(bytes);
  if (sniffed.kind !== 'image') throw notAnImage(sniffed.looksLike, sniffed.svg);
  const format = sniffed.format;
  // A PNG whose chunks stop short is refused without decoding anything.
  if (format === 'png' && pngIsTruncated(bytes)) throw damaged(format, bytes, 'truncated');

  // Header only (nothing is decoded): cheap even for a 30000 x 30000 bomb, and without sharp's pixel
  // limit so the refusal below can say the size. Every decoding call has the limit.
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch (err) {
    throw damaged(format, bytes, (err as Error).message);
  }
  if (!meta.width || !meta.height) throw damaged(format, bytes, 'no dimensions');
  // A decoder other than the sniffed one must never run (e.g. a PNG header glued onto something else).
  if (!sameFamily(format, meta.format)) throw damaged(format, bytes, `decoder ${meta.format}`);

  const frameHeight = meta.pageHeight && meta.pageHeight > 0 ? meta.pageHeight : meta.height;
  const pixels = meta.width * frameHeight;
  const maxPixels = Math.min(limits.maxPixels, MAX_IMAGE_PIXELS);
  if (pixels > maxPixels) {
    throw new UserError(
      'image_too_large',
      `That image is ${meta.width} × ${frameHeight} (${formatMegapixels(pixels)}); the limit is ${formatMegapixels(maxPixels)}.`,
    );
  }

  const rotated = meta.orientation !== undefined && meta.orientation >= 5 && meta.orientation <= 8;
  const originalWidth = rotated ? frameHeight : meta.width;
  const originalHeight = rotated ? meta.width : frameHeight;
  const flatten = meta.hasAlpha && !opts.keepAlpha;

  let pipeline = sharp(bytes, {
    failOn: 'error',
    limitInputPixels: Math.min(limits.maxPixels, MAX_IMAGE_PIXELS),
    autoOrient: true,
    pages: 1,
    page: 0,
    sequentialRead: true,
  }).timeout({ seconds: 30 });
  const size = scaleFor(originalWidth, originalHeight, opts);
  if (size) pipeline = pipeline.resize({ width: size.width, height: size.height, fit: 'fill' });
  if (flatten) pipeline = pipeline.flatten({ background: '#ffffff' });
  pipeline = pipeline.toColourspace('srgb');

  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await pipeline.png({ compressionLevel: 1 }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    const message = (err as Error).message;
    if (/pixel limit/i.test(message)) {
      throw new UserError('image_too_large', `That image is larger than the ${formatMegapixels(maxPixels)} limit.`);
    }
    throw damaged(format, bytes, message);
  }

  return {
    data: out.data,
    width: out.info.width,
    height: out.info.height,
    format,
    hasAlpha: out.info.channels === 4 || out.info.channels === 2,
    originalWidth,
    originalHeight,
    frames: meta.pages ?? 1,
  };
}

function sameFamily(sniffed: ImageFormat, decoder: string): boolean {
  if (sniffed === 'avif' || sniffed === 'heic') return decoder === 'heif' || decoder === 'avif';
  return decoder === sniffed;
}

/**
 * How many submissions may be received and read (downloaded, decoded) at once, across everyone and
 * per user. A slot is taken before any byte of an upload is read and given back when its images are
 * stored (or refused); when none is free the answer is "busy, try again", never a growing pile of
 * uploads in memory.
 */
export class IntakeSlots {
  private total = 0;
  private readonly byUser = new Map<string, number>();

  constructor(private readonly limits: { concurrent: number; perUser: number }) {}

  /** Slots in use right now (everyone). */
  get inUse(): number {
    return this.total;
  }

  /** Take a slot for `userKey`; returns its release function (safe to call twice), or undefined when full. */
  tryTake(userKey: string): (() => void) | undefined {
    const mine = this.byUser.get(userKey) ?? 0;
    if (this.total >= this.limits.concurrent || mine >= this.limits.perUser) return undefined;
    this.total++;
    this.byUser.set(userKey, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.byUser.get(userKey) ?? 1) - 1;
      if (left > 0) this.byUser.set(userKey, left);
      else this.byUser.delete(userKey);
    };
  }
}
