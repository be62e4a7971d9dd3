/**
 * The most pixels Easel lets sharp decode from any image, wherever it comes from (a chat upload, a
 * ComfyUI host's result, a stored file). PNG and WebP compress flat areas so well that a 30 KB file
 * can hold 16000 × 16000 pixels; decoding that costs hundreds of MB and seconds. With this limit,
 * sharp refuses such an image from its header, before allocating anything.
 *
 * 8192 × 8192 (67 MP) is far above anything Easel's presets make (the largest, upscale, caps its
 * result at 4 MP) and above the user upload limit (limits.maxInputPixels, 40 MP by default).
 */
import { formatMegapixels } from './human-units.ts';

export const MAX_IMAGE_PIXELS = 8192 * 8192;

/** An image with more pixels than Easel decodes. */
export class ImageTooLargeError extends Error {
  readonly code = 'image_too_large';
  constructor(
    readonly width: number | undefined,
    readonly height: number | undefined,
    readonly limit: number = MAX_IMAGE_PIXELS,
    /** Where it came from, e.g. "ComfyUI host gpu-1". */
    readonly source?: string,
  ) {
    const size = width && height ? `${width} × ${height} pixels (${formatMegapixels(width * height)})` : 'more pixels than allowed';
    super(`${source ? `${source} sent an image of` : 'The image has'} ${size}; Easel decodes at most ${formatMegapixels(limit)}`);
    this.name = 'ImageTooLargeError';
  }
}

/** sharp's own "Input image exceeds pixel limit". */
export function isPixelLimitError(err: unknown): boolean {
  return err instanceof Error && /pixel limit/i.test(err.message);
}

/** Turn sharp's pixel-limit failure into ImageTooLargeError; anything else passes through. */
export async function withinPixelLimit<T>(work: Promise<T>, source?: string): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isPixelLimitError(err)) throw new ImageTooLargeError(undefined, undefined, MAX_IMAGE_PIXELS, source);
    throw err;
  }
}
