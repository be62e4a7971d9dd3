/**
 * Cheap structural checks that tell "the file was cut off" apart from other damage, so the user hears
 * "upload it again" rather than a vague "damaged". They only read chunk headers, never pixels.
 */
import type { ImageFormat } from './sniff.ts';

/** True when a PNG's chunk chain runs past the end of the data or stops before IEND. */
export function pngIsTruncated(bytes: Buffer): boolean {
  let off = 8;
  while (off + 8 <= bytes.length) {
    const len = bytes.readUInt32BE(off);
    const type = bytes.toString('latin1', off + 4, off + 8);
    const next = off + 12 + len;
    if (next > bytes.length) return true;
    if (type === 'IEND') return false;
    off = next;
  }
  return true;
}

/** True when a JPEG has no end-of-image marker near its end (trailing padding is tolerated). */
export function jpegIsTruncated(bytes: Buffer): boolean {
  const tail = bytes.subarray(Math.max(0, bytes.length - 1024));
  for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return false;
  return true;
}

export function looksTruncated(format: ImageFormat, bytes: Buffer): boolean {
  if (format === 'png') return pngIsTruncated(bytes);
  if (format === 'jpeg') return jpegIsTruncated(bytes);
  if (format === 'gif') return bytes[bytes.length - 1] !== 0x3b;
  if (format === 'webp' && bytes.length >= 12) return bytes.readUInt32LE(4) + 8 > bytes.length;
  return false;
}
