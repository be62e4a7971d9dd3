/**
 * A tiny file with a huge picture: a 1-bit greyscale PNG of 16000 × 16000 pixels that compresses to
 * a few tens of KB. Decoding it naively costs hundreds of MB and seconds; the giantImageNext() fault
 * makes a prompt's SaveImage write this instead of its real result, as a broken or hostile host could.
 */
import { deflateSync } from 'node:zlib';

export const GIANT_SIDE = 16_000;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

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
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(rowBytes * side), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  if (side === GIANT_SIDE) cached = png;
  return png;
}
