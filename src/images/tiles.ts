/**
 * Shared by the gallery and the strip: decode each image once (trusted, Easel's own outputs), scaled
 * into a cell, as raw pixels ready to composite.
 */
import sharp from 'sharp';

export interface Tile {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

export interface Size {
  width: number;
  height: number;
}

export async function imageSizes(images: Buffer[]): Promise<Size[]> {
  return Promise.all(
    images.map(async (img) => {
      const m = await sharp(img).metadata();
      return { width: m.autoOrient?.width ?? m.width, height: m.autoOrient?.height ?? m.height };
    }),
  );
}

/** Resize (only if needed) so the image fits inside cellW × cellH, keeping its aspect ratio. */
export async function tileFor(image: Buffer, size: Size, cellW: number, cellH: number): Promise<Tile> {
  let pipeline = sharp(image, { autoOrient: true });
  if (size.width > cellW || size.height > cellH || (size.width < cellW && size.height < cellH)) {
    pipeline = pipeline.resize({ width: cellW, height: cellH, fit: 'inside', kernel: 'mitchell' });
  }
  const { data, info } = await pipeline.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels === 4 ? 4 : 3 };
}
