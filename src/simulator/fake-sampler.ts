/**
 * Deterministic stand-in for diffusion sampling on real pixels. The "generated" image for a batch item
 * is a smooth colour field whose layout comes from the seed (one generator for the whole batch, as
 * ComfyUI draws a batch's noise) and whose palette/texture come from the prompt text, model, cfg,
 * sampler and scheduler. The result is input*(1-d) + generated*d, so denoise 0 returns the input,
 * larger denoise moves further from it, and denoise 1 no longer depends on the input.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';

export interface GenerationParams {
  seed: number;
  steps: number;
  cfg: number;
  samplerName: string;
  scheduler: string;
  positive: string;
  negative: string;
  model: string;
}

/** sfc32 seeded from a sha256 digest: fast, deterministic, good enough for textures. */
export function rngFrom(key: string): () => number {
  const h = createHash('sha256').update(key).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const m = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i % 6];
  return [m[0] * 255, m[1] * 255, m[2] * 255];
}

/** Four colours chosen by the conditioning text (the "style"). */
function paletteFor(p: GenerationParams): Array<[number, number, number]> {
  const r = rngFrom(`palette\0${p.positive}\0${p.negative}\0${p.model}`);
  const baseHue = r();
  const out: Array<[number, number, number]> = [];
  for (let k = 0; k < 4; k++) {
    const hue = (baseHue + k * 0.09 + r() * 0.06) % 1;
    out.push(hsvToRgb(hue, 0.35 + r() * 0.55, 0.25 + r() * 0.7));
  }
  return out;
}

/** Generated images, one per batch item, at width x height (RGB raw). */
export async function generateImages(
  width: number,
  height: number,
  count: number,
  p: GenerationParams,
): Promise<Buffer[]> {
  const noise = rngFrom(`noise\0${p.seed}`);
  const style = rngFrom(`style\0${p.seed}\0${p.positive}\0${p.negative}\0${p.cfg}\0${p.samplerName}\0${p.scheduler}\0${p.steps}\0${p.model}`);
  const palette = paletteFor(p);
  const contrast = Math.min(2, Math.max(0.25, p.cfg / 8));
  const gw = Math.max(2, Math.ceil(width / 96));
  const gh = Math.max(2, Math.ceil(height / 96));
  const fw = Math.max(2, Math.ceil(width / 12));
  const fh = Math.max(2, Math.ceil(height / 12));
  const out: Buffer[] = [];
  for (let item = 0; item < count; item++) {
    const coarse = Buffer.alloc(gw * gh * 3);
    for (let cell = 0; cell < gw * gh; cell++) {
      const u = noise();
      const v = noise();
      const a = palette[Math.floor(u * 4) % 4];
      const b = palette[Math.floor(v * 4) % 4];
      const t = noise();
      for (let c = 0; c < 3; c++) coarse[cell * 3 + c] = Math.max(0, Math.min(255, Math.round(a[c] * (1 - t) + b[c] * t)));
    }
    const fine = Buffer.alloc(fw * fh);
    for (let k = 0; k < fine.length; k++) fine[k] = Math.round(((noise() + style()) / 2) * 255);
    const [big, grain] = await Promise.all([
      sharp(coarse, { raw: { width: gw, height: gh, channels: 3 } })
        .resize(width, height, { kernel: 'cubic', fit: 'fill' })
        .raw()
        .toBuffer(),
      sharp(fine, { raw: { width: fw, height: fh, channels: 1 } })
        .resize(width, height, { kernel: 'linear', fit: 'fill' })
        .extractChannel(0)
        .raw()
        .toBuffer(),
    ]);
    const img = Buffer.alloc(width * height * 3);
    const amp = 60 * contrast;
    for (let px = 0; px < width * height; px++) {
      const g = ((grain[px] - 128) / 128) * amp;
      for (let c = 0; c < 3; c++) {
        const v = big[px * 3 + c] + g;
        img[px * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
    out.push(img);
  }
  return out;
}
