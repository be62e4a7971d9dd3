/**
 * Image sizes for the model: SD1.5 works at ~512x512 pixels, SDXL at ~1024x1024. Inputs are scaled to
 * that pixel budget with their aspect kept and both sides a multiple of 8 (the VAE works in 8-px cells).
 * A width or height of 0 means "automatic" (from the other side and the aspect), as in ComfyUI's ImageScale.
 */
export interface Size {
  width: number;
  height: number;
}

/** Smallest side Easel works at (8 latent cells); a requested width/height below it is refused. */
export const MIN_SIDE = 64;
const MAX_SIDE = 16384;

const down8 = (n: number): number => Math.max(8, Math.floor(n / 8) * 8);
const near8 = (n: number): number => Math.max(8, Math.round(n / 8) * 8);
const clampSide = (n: number): number => Math.min(MAX_SIDE, Math.max(MIN_SIDE, n));

/** Largest size with this aspect whose area is <= pixels, both sides multiples of 8 (>= 64). */
export function fitToPixels(width: number, height: number, pixels: number): Size {
  if (!(width > 0) || !(height > 0)) throw new Error(`image size must be positive, got ${width}x${height}`);
  const scale = Math.sqrt(pixels / (width * height));
  let w = clampSide(down8(width * scale));
  let h = clampSide(down8(height * scale));
  // A very thin image: one side hit the 64 px floor, shrink the other to stay within the budget.
  if (w * h > pixels) {
    if (w >= h) w = clampSide(down8(pixels / h));
    else h = clampSide(down8(pixels / w));
  }
  return { width: w, height: h };
}

/**
 * The size an input is worked at.
 * - both requested sides 0 (or absent): fitted to the pixel budget;
 * - one side given: that side (rounded to 8), the other from the aspect;
 * - both given: exactly those (rounded to 8).
 */
export function workingSize(input: Size, budgetPixels: number, requested: Partial<Size> = {}): Size {
  const rw = requested.width && requested.width > 0 ? requested.width : 0;
  const rh = requested.height && requested.height > 0 ? requested.height : 0;
  if (rw && rh) return { width: clampSide(near8(rw)), height: clampSide(near8(rh)) };
  if (rw) return { width: clampSide(near8(rw)), height: clampSide(near8((rw * input.height) / input.width)) };
  if (rh) return { width: clampSide(near8((rh * input.width) / input.height)), height: clampSide(near8(rh)) };
  return fitToPixels(input.width, input.height, budgetPixels);
}

/** Both sides rounded to multiples of 8 (the input's own size as the base, for upscaling). */
export function roundTo8(size: Size): Size {
  return { width: clampSide(near8(size.width)), height: clampSide(near8(size.height)) };
}

/** `base` multiplied by `factor`, multiples of 8, shrunk (aspect kept) to at most maxPixels. */
export function scaledSize(base: Size, factor: number, maxPixels: number): Size {
  const w = base.width * factor;
  const h = base.height * factor;
  if (w * h > maxPixels) return fitToPixels(w, h, maxPixels);
  return { width: clampSide(near8(w)), height: clampSide(near8(h)) };
}
