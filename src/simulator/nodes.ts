/**
 * What each simulated node does, on real pixels (sharp). Sizes, rounding and progress counts follow
 * ComfyUI 0.3.64's nodes.py / comfy_extras; the "model" parts are deterministic stand-ins.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { pyJson } from './ordered-json.ts';
import { pyRound } from './py-format.ts';
import type { Folders } from './folders.ts';
import { generateImages } from './fake-sampler.ts';
import { giantPng } from './giant-png.ts';
import {
  commonUpscale,
  cropRaw,
  decodeImageFile,
  encodePng,
  fitInto,
  lerpBuffers,
  lerpMasked,
  resizeRaw,
  type ImageBatch,
  type Latent,
  type MaskBatch,
} from './pixels.ts';
import sharp from 'sharp';
import type { ImageRef } from '../comfy/types.ts';

export interface ModelValue {
  kind: 'MODEL';
  name: string;
}
export interface ClipValue {
  kind: 'CLIP';
  name: string;
}
export interface VaeValue {
  kind: 'VAE';
  name: string;
}
export interface ConditioningValue {
  kind: 'CONDITIONING';
  text: string;
  model: string;
}
export interface UpscaleModelValue {
  kind: 'UPSCALE_MODEL';
  name: string;
  scale: number;
}

/** A Python exception raised by a node at run time. */
export class NodeException extends Error {
  constructor(
    readonly pyType: string,
    readonly text: string,
    readonly traceback: string[] = [],
  ) {
    super(text);
  }
}

export interface PreviewSource {
  rgb: Buffer;
  width: number;
  height: number;
}

export interface RunContext {
  readonly nodeId: string;
  readonly folders: Folders;
  /** The prompt as the PNG "prompt" chunk should show it. */
  readonly prompt: unknown;
  readonly extraPngInfo: Record<string, unknown> | undefined;
  stepMs(): number;
  /** Sleep `ms`, then report progress value/max (+ a preview when wanted). Throws when interrupted. */
  tick(value: number, max: number, ms: number, preview?: () => PreviewSource | null): Promise<void>;
  /** Whether preview frames have any recipient right now. */
  wantsPreview(): boolean;
  /** First load of a checkpoint costs modelLoadMs. */
  loadModel(name: string): Promise<void>;
  /** Sampler hook for failNext(): throws the armed exception, if any. */
  samplerStep(step: number): void;
  /** giantImageNext() fault: true once, for the first SaveImage of the armed prompt. */
  giantOutput(): boolean;
}

export interface NodeResult {
  outputs: unknown[];
  ui?: { images: ImageRef[] };
}

type Inputs = Record<string, unknown>;
type NodeFn = (inputs: Inputs, ctx: RunContext) => Promise<NodeResult>;

const PREVIEW_MAX = 512;

function image(i: Inputs, k: string): ImageBatch {
  return i[k] as ImageBatch;
}
function latent(i: Inputs, k: string): Latent {
  return i[k] as Latent;
}
function num(i: Inputs, k: string, d = 0): number {
  const v = i[k];
  return typeof v === 'number' ? v : d;
}
function str(i: Inputs, k: string, d = ''): string {
  const v = i[k];
  return typeof v === 'string' ? v : d;
}

async function scaleImageItems(
  items: Buffer[],
  w: number,
  h: number,
  channels: 1 | 3,
  nw: number,
  nh: number,
  method: string,
  crop: string,
): Promise<Buffer[]> {
  const to = { width: nw, height: nh };
  return Promise.all(items.map((data) => commonUpscale({ data, width: w, height: h, channels }, to, method, crop)));
}

function tiledSteps(width: number, height: number, tileX: number, tileY: number, overlap: number): number {
  const rows = height <= tileY ? 1 : Math.ceil((height - overlap) / Math.max(1, tileY - overlap));
  const cols = width <= tileX ? 1 : Math.ceil((width - overlap) / Math.max(1, tileX - overlap));
  return rows * cols;
}

/** Tiled VAE: three passes (tile, tall, wide) like comfy's decode_tiled_/encode_tiled_. */
function vaeTileCount(w: number, h: number, tile: number, overlap: number, batch: number): number {
  return (
    batch *
    (tiledSteps(w, h, tile, tile, overlap) +
      tiledSteps(w, h, Math.floor(tile / 2), tile * 2, overlap) +
      tiledSteps(w, h, tile * 2, Math.floor(tile / 2), overlap))
  );
}

async function vaeTicks(ctx: RunContext, count: number): Promise<void> {
  const ms = ctx.stepMs() / 4;
  for (let k = 1; k <= count; k++) await ctx.tick(k, count, ms);
}

function cropToMultipleOf8(img: ImageBatch): Latent {
  const w8 = Math.floor(img.width / 8) * 8;
  const h8 = Math.floor(img.height / 8) * 8;
  if (w8 === img.width && h8 === img.height) {
    return { kind: 'LATENT', width: img.width, height: img.height, items: img.items };
  }
  const x = w8 !== img.width ? Math.floor((img.width % 8) / 2) : 0;
  const y = h8 !== img.height ? Math.floor((img.height % 8) / 2) : 0;
  return {
    kind: 'LATENT',
    width: w8,
    height: h8,
    items: img.items.map((b) => cropRaw(b, img.width, 3, x, y, w8, h8)),
  };
}

async function maskFor(l: Latent): Promise<Buffer[] | null> {
  const m = l.noiseMask;
  if (!m) return null;
  return Promise.all(m.items.map((data) => resizeRaw({ data, width: m.width, height: m.height, channels: 1 }, l, 'linear')));
}

/** The inputs KSampler and KSamplerAdvanced share (only the seed's name differs). */
function samplerInputs(i: Inputs, seedInput: 'seed' | 'noise_seed', steps: number) {
  return {
    seed: num(i, seedInput),
    steps,
    cfg: num(i, 'cfg', 8),
    samplerName: str(i, 'sampler_name'),
    scheduler: str(i, 'scheduler'),
    positive: i.positive as ConditioningValue,
    negative: i.negative as ConditioningValue,
    model: i.model as ModelValue,
  };
}

async function sample(
  ctx: RunContext,
  l: Latent,
  p: {
    seed: number;
    steps: number;
    cfg: number;
    samplerName: string;
    scheduler: string;
    positive: ConditioningValue;
    negative: ConditioningValue;
    model: ModelValue;
    strength: number;
    ticks: number;
  },
): Promise<NodeResult> {
  if (p.ticks <= 0 || p.strength <= 0) {
    return { outputs: [l] };
  }
  const targets = await generateImages(l.width, l.height, l.items.length, {
    seed: p.seed,
    steps: p.steps,
    cfg: p.cfg,
    samplerName: p.samplerName,
    scheduler: p.scheduler,
    positive: p.positive?.text ?? '',
    negative: p.negative?.text ?? '',
    model: p.model?.name ?? '',
  });
  const masks = await maskFor(l);
  const items = l.items.map((src, i) =>
    masks ? lerpMasked(src, targets[i], p.strength, masks[i % masks.length]) : lerpBuffers(src, targets[i], p.strength),
  );
  // Previews: first batch item, blended progressively, at --preview-size (512 box).
  let prevIn: Buffer | null = null;
  let prevOut: Buffer | null = null;
  const [pw, ph] = fitInto(l.width, l.height, PREVIEW_MAX);
  const scratch = Buffer.alloc(pw * ph * 3);
  const ensurePreview = async () => {
    if (prevIn) return;
    [prevIn, prevOut] = await Promise.all([
      resizeRaw({ data: l.items[0], width: l.width, height: l.height, channels: 3 }, { width: pw, height: ph }, 'linear'),
      resizeRaw({ data: items[0], width: l.width, height: l.height, channels: 3 }, { width: pw, height: ph }, 'linear'),
    ]);
  };
  const stepMs = ctx.stepMs();
  for (let k = 1; k <= p.ticks; k++) {
    if (ctx.wantsPreview()) await ensurePreview();
    const t = k / p.ticks;
    await ctx.tick(k, p.ticks, stepMs, () =>
      prevIn && prevOut ? { rgb: lerpBuffers(prevIn, prevOut, t, scratch), width: pw, height: ph } : null,
    );
    ctx.samplerStep(k);
  }
  return { outputs: [{ kind: 'LATENT', width: l.width, height: l.height, items, noiseMask: l.noiseMask } satisfies Latent] };
}

async function saveImages(
  ctx: RunContext,
  images: ImageBatch,
  prefix: string,
  type: 'output' | 'temp',
  compression: number,
): Promise<NodeResult> {
  const baseDir = type === 'output' ? ctx.folders.output : ctx.folders.temp;
  let loc;
  try {
    loc = ctx.folders.saveImagePath(baseDir, prefix, images.width, images.height);
  } catch (e) {
    throw new NodeException('Exception', (e as Error).message);
  }
  const texts: Array<[string, string]> = [];
  if (ctx.prompt !== undefined && ctx.prompt !== null) texts.push(['prompt', pyJson(ctx.prompt)]);
  if (ctx.extraPngInfo && typeof ctx.extraPngInfo === 'object') {
    for (const k of Object.keys(ctx.extraPngInfo)) texts.push([k, pyJson(ctx.extraPngInfo[k])]);
  }
  const results: ImageRef[] = [];
  let counter = loc.counter;
  for (let b = 0; b < images.items.length; b++) {
    const stem = loc.filename.replaceAll('%batch_num%', String(b));
    const file = `${stem}_${String(counter).padStart(5, '0')}_.png`;
    const png =
      type === 'output' && ctx.giantOutput()
        ? giantPng()
        : await encodePng(images.items[b], images.width, images.height, texts, compression);
    await fs.writeFile(path.join(loc.folder, file), png);
    results.push({ filename: file, subfolder: loc.subfolder, type });
    counter++;
  }
  return { outputs: [], ui: { images: results } };
}

const TEMP_ALPHABET = 'abcdefghijklmnopqrstupvxyz';

export const NODE_IMPLS: Record<string, NodeFn> = {
  async CheckpointLoaderSimple(i, ctx) {
    const name = str(i, 'ckpt_name');
    if (!(ctx.folders.models.checkpoints ?? []).includes(name)) {
      throw new NodeException('FileNotFoundError', `Model in folder 'checkpoints' with filename '${name}' not found.`);
    }
    await ctx.loadModel(name);
    return {
      outputs: [
        { kind: 'MODEL', name } satisfies ModelValue,
        { kind: 'CLIP', name } satisfies ClipValue,
        { kind: 'VAE', name } satisfies VaeValue,
      ],
    };
  },

  async CLIPTextEncode(i) {
    const clip = i.clip as ClipValue | undefined;
    if (!clip) {
      throw new NodeException(
        'RuntimeError',
        'ERROR: clip input is invalid: None\n\nIf the clip is from a checkpoint loader node your checkpoint does not contain a valid clip or text encoder model.',
      );
    }
    return { outputs: [{ kind: 'CONDITIONING', text: str(i, 'text'), model: clip.name } satisfies ConditioningValue] };
  },

  async LoadImage(i, ctx) {
    const value = str(i, 'image');
    const file = ctx.folders.inputPath(value);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch {
      throw new NodeException('FileNotFoundError', `[Errno 2] No such file or directory: '${file}'`);
    }
    let dec;
    try {
      dec = await decodeImageFile(bytes);
    } catch {
      throw new NodeException('PIL.UnidentifiedImageError', `cannot identify image file '${file}'`);
    }
    const img: ImageBatch = { kind: 'IMAGE', width: dec.width, height: dec.height, items: [dec.rgb] };
    let mask: MaskBatch;
    if (dec.alpha) {
      const m = Buffer.alloc(dec.alpha.length);
      for (let k = 0; k < m.length; k++) m[k] = 255 - dec.alpha[k];
      mask = { kind: 'MASK', width: dec.width, height: dec.height, items: [m] };
    } else {
      mask = { kind: 'MASK', width: 64, height: 64, items: [Buffer.alloc(64 * 64)] };
    }
    return { outputs: [img, mask] };
  },

  async LoadImageMask(i, ctx) {
    const file = ctx.folders.inputPath(str(i, 'image'));
    let dec;
    try {
      dec = await decodeImageFile(await fs.readFile(file));
    } catch {
      throw new NodeException('PIL.UnidentifiedImageError', `cannot identify image file '${file}'`);
    }
    const channel = str(i, 'channel', 'alpha');
    const px = dec.width * dec.height;
    const m = Buffer.alloc(px);
    for (let k = 0; k < px; k++) {
      if (channel === 'alpha') m[k] = 255 - (dec.alpha ? dec.alpha[k] : 255);
      else m[k] = dec.rgb[k * 3 + (channel === 'red' ? 0 : channel === 'green' ? 1 : 2)];
    }
    return { outputs: [{ kind: 'MASK', width: dec.width, height: dec.height, items: [m] } satisfies MaskBatch] };
  },

  async VAEEncode(i) {
    return { outputs: [cropToMultipleOf8(image(i, 'pixels'))] };
  },

  async VAEEncodeTiled(i, ctx) {
    const img = image(i, 'pixels');
    const tile = num(i, 'tile_size', 512);
    const overlap = num(i, 'overlap', 64);
    await vaeTicks(ctx, vaeTileCount(img.width, img.height, tile, overlap, img.items.length));
    return { outputs: [cropToMultipleOf8(img)] };
  },

  async VAEDecode(i) {
    const l = latent(i, 'samples');
    return { outputs: [{ kind: 'IMAGE', width: l.width, height: l.height, items: l.items } satisfies ImageBatch] };
  },

  async VAEDecodeTiled(i, ctx) {
    const l = latent(i, 'samples');
    const tileSize = num(i, 'tile_size', 512);
    let overlap = num(i, 'overlap', 64);
    if (tileSize < overlap * 4) overlap = Math.floor(tileSize / 4);
    const tile = Math.floor(tileSize / 8);
    await vaeTicks(ctx, vaeTileCount(l.width / 8, l.height / 8, tile, Math.floor(overlap / 8), l.items.length));
    return { outputs: [{ kind: 'IMAGE', width: l.width, height: l.height, items: l.items } satisfies ImageBatch] };
  },

  async KSampler(i, ctx) {
    const steps = num(i, 'steps', 20);
    const denoise = num(i, 'denoise', 1);
    return sample(ctx, latent(i, 'latent_image'), {
      ...samplerInputs(i, 'seed', steps),
      strength: Math.min(1, Math.max(0, denoise)),
      ticks: denoise <= 0 ? 0 : steps,
    });
  },

  async KSamplerAdvanced(i, ctx) {
    const steps = num(i, 'steps', 20);
    const start = num(i, 'start_at_step', 0);
    const end = Math.min(num(i, 'end_at_step', 10000), steps);
    const ticks = Math.max(0, end - start);
    return sample(ctx, latent(i, 'latent_image'), {
      ...samplerInputs(i, 'noise_seed', steps),
      strength: steps > 0 ? ticks / steps : 0,
      ticks,
    });
  },

  async SaveImage(i, ctx) {
    return saveImages(ctx, image(i, 'images'), str(i, 'filename_prefix', 'ComfyUI'), 'output', 4);
  },

  async PreviewImage(i, ctx) {
    let suffix = '_temp_';
    for (let k = 0; k < 5; k++) suffix += TEMP_ALPHABET[Math.floor(Math.random() * TEMP_ALPHABET.length)];
    return saveImages(ctx, image(i, 'images'), 'ComfyUI' + suffix, 'temp', 1);
  },

  async ImageScale(i) {
    const img = image(i, 'image');
    let width = num(i, 'width');
    let height = num(i, 'height');
    if (width === 0 && height === 0) return { outputs: [img] };
    if (width === 0) width = Math.max(1, pyRound((img.width * height) / img.height));
    else if (height === 0) height = Math.max(1, pyRound((img.height * width) / img.width));
    const items = await scaleImageItems(img.items, img.width, img.height, 3, width, height, str(i, 'upscale_method'), str(i, 'crop'));
    return { outputs: [{ kind: 'IMAGE', width, height, items } satisfies ImageBatch] };
  },

  async ImageScaleBy(i) {
    const img = image(i, 'image');
    const s = num(i, 'scale_by', 1);
    const width = Math.max(1, pyRound(img.width * s));
    const height = Math.max(1, pyRound(img.height * s));
    const items = await scaleImageItems(img.items, img.width, img.height, 3, width, height, str(i, 'upscale_method'), 'disabled');
    return { outputs: [{ kind: 'IMAGE', width, height, items } satisfies ImageBatch] };
  },

  async ImageScaleToTotalPixels(i) {
    const img = image(i, 'image');
    const method = str(i, 'upscale_method', 'nearest-exact');
    const total = Math.trunc(num(i, 'megapixels', 1) * 1024 * 1024);
    const s = Math.sqrt(total / (img.width * img.height));
    const width = Math.max(1, pyRound(img.width * s));
    const height = Math.max(1, pyRound(img.height * s));
    const items = await scaleImageItems(img.items, img.width, img.height, 3, width, height, method, 'disabled');
    return { outputs: [{ kind: 'IMAGE', width, height, items } satisfies ImageBatch] };
  },

  async LatentUpscale(i) {
    const l = latent(i, 'samples');
    let width = num(i, 'width');
    let height = num(i, 'height');
    if (width === 0 && height === 0) return { outputs: [l] };
    const lw = l.width / 8;
    const lh = l.height / 8;
    if (width === 0) {
      height = Math.max(64, height);
      width = Math.max(64, pyRound((lw * height) / lh));
    } else if (height === 0) {
      width = Math.max(64, width);
      height = Math.max(64, pyRound((lh * width) / lw));
    } else {
      width = Math.max(64, width);
      height = Math.max(64, height);
    }
    const nw = Math.floor(width / 8) * 8;
    const nh = Math.floor(height / 8) * 8;
    const items = await scaleImageItems(l.items, l.width, l.height, 3, nw, nh, str(i, 'upscale_method'), str(i, 'crop'));
    return { outputs: [{ ...l, width: nw, height: nh, items } satisfies Latent] };
  },

  async LatentUpscaleBy(i) {
    const l = latent(i, 'samples');
    const s = num(i, 'scale_by', 1.5);
    const nw = Math.max(1, pyRound((l.width / 8) * s)) * 8;
    const nh = Math.max(1, pyRound((l.height / 8) * s)) * 8;
    const items = await scaleImageItems(l.items, l.width, l.height, 3, nw, nh, str(i, 'upscale_method'), 'disabled');
    return { outputs: [{ ...l, width: nw, height: nh, items } satisfies Latent] };
  },

  async RepeatLatentBatch(i) {
    const l = latent(i, 'samples');
    const amount = Math.max(1, num(i, 'amount', 1));
    const items: Buffer[] = [];
    for (let a = 0; a < amount; a++) items.push(...l.items);
    let noiseMask = l.noiseMask;
    if (noiseMask && noiseMask.items.length > 1) {
      const m: Buffer[] = [];
      for (let a = 0; a < amount; a++) m.push(...noiseMask.items);
      noiseMask = { ...noiseMask, items: m };
    }
    return { outputs: [{ ...l, items, noiseMask } satisfies Latent] };
  },

  async LatentBlend(i) {
    const a = latent(i, 'samples1');
    let b = latent(i, 'samples2');
    const f = num(i, 'blend_factor', 0.5);
    if (a.width !== b.width || a.height !== b.height) {
      const items = await scaleImageItems(b.items, b.width, b.height, 3, a.width, a.height, 'bicubic', 'center');
      b = { ...b, width: a.width, height: a.height, items };
    }
    const items = a.items.map((x, k) => lerpBuffers(b.items[k % b.items.length], x, f));
    return { outputs: [{ ...a, items } satisfies Latent] };
  },

  async UpscaleModelLoader(i, ctx) {
    const name = str(i, 'model_name');
    if (!(ctx.folders.models.upscale_models ?? []).includes(name)) {
      throw new NodeException('FileNotFoundError', `Model in folder 'upscale_models' with filename '${name}' not found.`);
    }
    const m = /(\d+)x|x(\d+)/i.exec(name);
    const scale = m ? Number(m[1] ?? m[2]) || 4 : 4;
    return { outputs: [{ kind: 'UPSCALE_MODEL', name, scale } satisfies UpscaleModelValue] };
  },

  async ImageUpscaleWithModel(i, ctx) {
    const model = i.upscale_model as UpscaleModelValue;
    const img = image(i, 'image');
    const tiles = img.items.length * tiledSteps(img.width, img.height, 512, 512, 32);
    const width = img.width * model.scale;
    const height = img.height * model.scale;
    const itemsP = Promise.all(
      img.items.map((b) =>
        sharp(b, { raw: { width: img.width, height: img.height, channels: 3 } })
          .resize(width, height, { kernel: 'lanczos3', fit: 'fill' })
          .sharpen({ sigma: 1 })
          .raw()
          .toBuffer(),
      ),
    );
    itemsP.catch(() => {});
    const stepMs = ctx.stepMs();
    for (let k = 1; k <= tiles; k++) await ctx.tick(k, tiles, stepMs);
    return { outputs: [{ kind: 'IMAGE', width, height, items: await itemsP } satisfies ImageBatch] };
  },

  async EmptyLatentImage(i) {
    const width = Math.floor(num(i, 'width', 512) / 8) * 8;
    const height = Math.floor(num(i, 'height', 512) / 8) * 8;
    const batch = num(i, 'batch_size', 1);
    const items: Buffer[] = [];
    for (let b = 0; b < batch; b++) items.push(Buffer.alloc(width * height * 3, 128));
    return { outputs: [{ kind: 'LATENT', width, height, items } satisfies Latent] };
  },

  async SetLatentNoiseMask(i) {
    const l = latent(i, 'samples');
    return { outputs: [{ ...l, noiseMask: i.mask as MaskBatch } satisfies Latent] };
  },

  async ImageInvert(i) {
    const img = image(i, 'image');
    const items = img.items.map((b) => {
      const o = Buffer.alloc(b.length);
      for (let k = 0; k < b.length; k++) o[k] = 255 - b[k];
      return o;
    });
    return { outputs: [{ ...img, items } satisfies ImageBatch] };
  },

  async InvertMask(i) {
    const m = i.mask as MaskBatch;
    const items = m.items.map((b) => {
      const o = Buffer.alloc(b.length);
      for (let k = 0; k < b.length; k++) o[k] = 255 - b[k];
      return o;
    });
    return { outputs: [{ ...m, items } satisfies MaskBatch] };
  },
};
