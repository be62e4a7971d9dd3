/**
 * The result gallery: 1 image alone, 2 side by side, 3-4 as 2 × 2, 5-6 as 3 × 2, 7-9 as 3 × 3, each
 * tile badged 1..N (or with the given labels) so "V2" / "U3" buttons obviously match a picture.
 */
import type { OverlayOptions } from 'sharp';
import { badgeSvg, clampLabel } from './label-svg.ts';
import { encodePreviewToFit, encodeRawPng, type FittedImage, type RawFitOptions, type RawImage } from './fit-bytes.ts';
import { blit, createCanvas, finishCanvas, imageSizes, tileFor } from './tiles.ts';

export interface GalleryOptions {
  /** Neither side of the gallery exceeds this (default 2560). Tiles are never upscaled. */
  maxSide?: number;
  /** Pixels between tiles (default 8). */
  gap?: number;
  background?: string;
}

export const GALLERY_MAX_IMAGES = 9;
export const DEFAULT_GALLERY_MAX_SIDE = 2560;
const BACKGROUND = '#1e1f22';

export function galleryGrid(count: number): { cols: number; rows: number } {
  if (count < 1 || count > GALLERY_MAX_IMAGES) throw new Error(`a gallery holds 1 to ${GALLERY_MAX_IMAGES} images, got ${count}`);
  if (count === 1) return { cols: 1, rows: 1 };
  if (count === 2) return { cols: 2, rows: 1 };
  if (count <= 4) return { cols: 2, rows: 2 };
  if (count <= 6) return { cols: 3, rows: 2 };
  return { cols: 3, rows: 3 };
}

/** The gallery as a PNG (lossless). */
export async function composeGallery(images: Buffer[], labels: string[], opts: GalleryOptions = {}): Promise<Buffer> {
  return encodeRawPng(await composeGalleryRaw(images, labels, opts));
}

/** The gallery encoded for a chat upload under maxBytes in one step (see encodePreviewToFit). */
export async function composeGalleryFitted(
  images: Buffer[],
  labels: string[],
  maxBytes: number,
  opts: GalleryOptions & RawFitOptions = {},
): Promise<FittedImage> {
  return encodePreviewToFit(await composeGalleryRaw(images, labels, opts), maxBytes, opts);
}

export async function composeGalleryRaw(images: Buffer[], labels: string[], opts: GalleryOptions = {}): Promise<RawImage> {
  const { cols, rows } = galleryGrid(images.length);
  const maxSide = opts.maxSide ?? DEFAULT_GALLERY_MAX_SIDE;
  const gap = opts.gap ?? 8;
  const background = opts.background ?? BACKGROUND;

  const sizes = await imageSizes(images);
  const naturalW = Math.max(...sizes.map((s) => s.width));
  const naturalH = Math.max(...sizes.map((s) => s.height));
  const scale = Math.min(1, (maxSide - (cols - 1) * gap) / (cols * naturalW), (maxSide - (rows - 1) * gap) / (rows * naturalH));
  const cellW = Math.max(1, Math.floor(naturalW * scale));
  const cellH = Math.max(1, Math.floor(naturalH * scale));
  const width = cols * cellW + (cols - 1) * gap;
  const height = rows * cellH + (rows - 1) * gap;

  const tiles = await Promise.all(images.map((img, i) => tileFor(img, sizes[i], cellW, cellH, background)));
  const badgeSize = Math.max(22, Math.min(64, Math.round(Math.min(cellW, cellH) * 0.075)));
  const margin = Math.round(badgeSize * 0.4);
  const maxChars = Math.max(1, Math.floor((cellW - 2 * margin) / (badgeSize * 0.45)));

  const canvas = createCanvas(width, height, background);
  const overlays: OverlayOptions[] = [];
  tiles.forEach((tile, i) => {
    const col = i % cols;
    const row = Math.floor(i / cols);
    // Centre each tile in its cell (images of another aspect ratio get bands of background).
    const left = col * (cellW + gap) + Math.floor((cellW - tile.width) / 2);
    const top = row * (cellH + gap) + Math.floor((cellH - tile.height) / 2);
    blit(canvas, tile, left, top);
    const text = clampLabel(labels[i] ?? String(i + 1), maxChars);
    if (!text) return;
    const badge = badgeSvg(text, badgeSize, tile.width - margin, tile.height - margin);
    overlays.push({ input: badge, left: left + margin, top: top + margin });
  });

  return finishCanvas(canvas, overlays);
}
