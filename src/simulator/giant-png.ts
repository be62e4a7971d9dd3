/**
 * A tiny file with a huge picture: a 1-bit greyscale PNG of 16000 × 16000 pixels that compresses to
 * a few tens of KB. Decoding it naively costs hundreds of MB and seconds; the giantImageNext() fault
 * makes a prompt's SaveImage write this instead of its real result, as a broken or hostile host could.
 */
import { deflateSync } from 'node:zlib';
import { PNG_SIGNATURE, pngChunk } from '../images/png-chunk.ts';

export const GIANT_SIDE = 16_000;

let cached: Buffer | undefined;

/** The giant PNG (built once per process: ~32 MB of zero rows deflated, then kept as ~30 KB). */
export function giantPng(side = GIANT_SIDE): Buffer {
  if (side === GIANT_SIDE && cached) return cached;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const rowBytes = 1 + Math.ceil(side / 8); // filter byte + packed pixels
  const png = Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(rowBytes * side), { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
  if (side === GIANT_SIDE) cached = png;
  return png;
}
