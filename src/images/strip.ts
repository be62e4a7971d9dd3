/**
 * The denoise ladder strip: the same seed at several strengths in one row, each captioned underneath
 * ("denoise 0.30", "denoise 0.45", ...), so the effect of strength can be read left to right.
 */
import type { OverlayOptions } from 'sharp';
import { CHAR_WIDTH, captionSvg, clampLabel, type Caption } from './label-svg.ts';
import { encodePreviewToFit, encodeRawPng, type FittedImage, type RawFitOptions, type RawImage } from './fit-bytes.ts';
import { blit, createCanvas, finishCanvas, imageSizes, tileFor } from './tiles.ts';

export interface StripOptions {
  /** Total width limit (default 3072). */
  maxWidth?: number;
  /** Tile height limit (default 768). */
  maxTileHeight?: number;
  gap?: number;
  background?: string;
}

export const STRIP_MAX_IMAGES = 12;
const BACKGROUND = '#1e1f22';

/** The strip as a PNG (lossless). */
export async function composeStrip(images: Buffer[], labels: string[], opts: StripOptions = {}): Promise<Buffer> {
  return encodeRawPng(await composeStripRaw(images, labels, opts));
}

/** The strip encoded for a chat upload under maxBytes in one step (see encodePreviewToFit). */
export async function composeStripFitted(
  images: Buffer[],
  labels: string[],
  maxBytes: number,
  opts: StripOptions & RawFitOptions = {},
): Promise<FittedImage> {
  return encodePreviewToFit(await composeStripRaw(images, labels, opts), maxBytes, opts);
}

export async function composeStripRaw(images: Buffer[], labels: string[], opts: StripOptions = {}): Promise<RawImage> {
  const n = images.length;
  if (n < 1 || n > STRIP_MAX_IMAGES) throw new Error(`a strip holds 1 to ${STRIP_MAX_IMAGES} images, got ${n}`);
  const maxWidth = opts.maxWidth ?? 3072;
  const maxTileHeight = opts.maxTileHeight ?? 768;
  const gap = opts.gap ?? 8;
  const background = opts.background ?? BACKGROUND;

  const sizes = await imageSizes(images);
  const naturalW = Math.max(...sizes.map((s) => s.width));
  const naturalH = Math.max(...sizes.map((s) => s.height));
  const scale = Math.min(1, (maxWidth - (n + 1) * gap) / (n * naturalW), maxTileHeight / naturalH);
  const cellW = Math.max(1, Math.floor(naturalW * scale));
  const cellH = Math.max(1, Math.floor(naturalH * scale));
  const fontSize = Math.max(14, Math.min(40, Math.round(cellW * 0.075)));
  const band = Math.round(fontSize * 2);
  const width = n * cellW + (n + 1) * gap;
  const height = gap + cellH + band;
  const maxChars = Math.max(4, Math.floor((cellW * 0.9) / (fontSize * CHAR_WIDTH * 0.9)));

  const tiles = await Promise.all(images.map((img, i) => tileFor(img, sizes[i], cellW, cellH, background)));
  const canvas = createCanvas(width, height, background);
  const captions: Caption[] = [];
  tiles.forEach((tile, i) => {
    const cellLeft = gap + i * (cellW + gap);
    const left = cellLeft + Math.floor((cellW - tile.width) / 2);
    const top = gap + Math.floor((cellH - tile.height) / 2);
    blit(canvas, tile, left, top);
    const text = clampLabel(labels[i] ?? String(i + 1), maxChars);
    if (text) captions.push({ cx: cellLeft + cellW / 2, cy: band / 2, text, fontSize });
  });

  // One caption overlay covering just the label band under the images.
  const overlays: OverlayOptions[] = captions.length ? [{ input: captionSvg(width, band, captions), left: 0, top: gap + cellH }] : [];
  return finishCanvas(canvas, overlays);
}
