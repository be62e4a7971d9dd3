/**
 * Decide what a file really is from its first bytes. File names and content types are never trusted:
 * a chat upload called "cat.png" may be HTML, an SVG drawing, or a truncated download.
 */

/** Raster formats Easel hands to sharp. Anything else is refused before any decoder sees it. */
export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'tiff' | 'avif' | 'heic';

export type SniffResult =
  | { kind: 'image'; format: ImageFormat; mime: string }
  /** Not something Easel decodes. `looksLike` is a short phrase for messages ("HTML", "an SVG drawing"). */
  | { kind: 'other'; looksLike: string; svg: boolean };

export const IMAGE_MIME: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  tiff: 'image/tiff',
  avif: 'image/avif',
  heic: 'image/heic',
};

export const FORMAT_DISPLAY: Record<ImageFormat, string> = {
  png: 'PNG',
  jpeg: 'JPEG',
  gif: 'GIF',
  webp: 'WebP',
  tiff: 'TIFF',
  avif: 'AVIF',
  heic: 'HEIC',
};

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1', 'mif2']);
const VIDEO_BRANDS = new Set(['isom', 'iso2', 'mp41', 'mp42', 'qt  ', 'M4V ', 'M4A ', '3gp4', '3gp5', 'avc1', 'dash']);

function ascii(bytes: Buffer, start: number, end: number): string {
  return bytes.subarray(start, Math.min(end, bytes.length)).toString('latin1');
}

function startsWith(bytes: Buffer, sig: number[], offset = 0): boolean {
  if (bytes.length < offset + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (bytes[offset + i] !== sig[i]) return false;
  return true;
}

/** ISO-BMFF (HEIF/AVIF/MP4): "ftyp" box at offset 4, major brand at 8, compatible brands after 16. */
function sniffFtyp(bytes: Buffer): SniffResult | undefined {
  if (bytes.length < 16 || ascii(bytes, 4, 8) !== 'ftyp') return undefined;
  const boxSize = bytes.readUInt32BE(0);
  const end = Math.min(bytes.length, boxSize >= 16 ? boxSize : 16, 4096);
  const brands = [ascii(bytes, 8, 12)];
  for (let off = 16; off + 4 <= end; off += 4) brands.push(ascii(bytes, off, off + 4));
  if (brands.some((b) => AVIF_BRANDS.has(b))) return { kind: 'image', format: 'avif', mime: IMAGE_MIME.avif };
  if (brands.some((b) => HEIC_BRANDS.has(b))) return { kind: 'image', format: 'heic', mime: IMAGE_MIME.heic };
  if (brands.some((b) => VIDEO_BRANDS.has(b))) return { kind: 'other', looksLike: 'a video', svg: false };
  return { kind: 'other', looksLike: 'a media file', svg: false };
}

function describeText(bytes: Buffer): SniffResult | undefined {
  const head = bytes.subarray(0, 4096).toString('utf8').replace(/^\uFEFF/, '').trimStart().toLowerCase();
  if (head.startsWith('<')) {
    if (/<svg[\s>]/.test(head) || head.includes('<!doctype svg')) return { kind: 'other', looksLike: 'an SVG drawing', svg: true };
    if (/^<(!doctype html|html|head|body|meta|title|script|div|p[\s>]|!--)/.test(head)) return { kind: 'other', looksLike: 'HTML', svg: false };
    if (head.startsWith('<?xml')) return { kind: 'other', looksLike: 'an XML document', svg: false };
    return { kind: 'other', looksLike: 'HTML', svg: false };
  }
  return undefined;
}

function mostlyText(bytes: Buffer): boolean {
  const sample = bytes.subarray(0, 2048);
  if (sample.length === 0) return false;
  let printable = 0;
  for (const b of sample) {
    if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128) printable++;
    if (b === 0) return false;
  }
  return printable / sample.length > 0.95;
}

export function sniffImage(bytes: Buffer): SniffResult {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: 'image', format: 'png', mime: IMAGE_MIME.png };
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { kind: 'image', format: 'jpeg', mime: IMAGE_MIME.jpeg };
  const six = ascii(bytes, 0, 6);
  if (six === 'GIF87a' || six === 'GIF89a') return { kind: 'image', format: 'gif', mime: IMAGE_MIME.gif };
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return { kind: 'image', format: 'webp', mime: IMAGE_MIME.webp };
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return { kind: 'image', format: 'tiff', mime: IMAGE_MIME.tiff };
  }
  const ftyp = sniffFtyp(bytes);
  if (ftyp) return ftyp;

  // Known non-images (or images Easel cannot decode), named so the user knows what went wrong.
  if (ascii(bytes, 0, 2) === 'BM') return { kind: 'other', looksLike: 'a BMP image, which Easel cannot read', svg: false };
  if (ascii(bytes, 0, 4) === '8BPS') return { kind: 'other', looksLike: 'a Photoshop document', svg: false };
  if (startsWith(bytes, [0xff, 0x0a]) || ascii(bytes, 4, 8) === 'JXL ') {
    return { kind: 'other', looksLike: 'a JPEG XL image, which Easel cannot read', svg: false };
  }
  if (ascii(bytes, 0, 5) === '%PDF-') return { kind: 'other', looksLike: 'a PDF document', svg: false };
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return { kind: 'other', looksLike: 'a ZIP archive', svg: false };
  if (startsWith(bytes, [0x1f, 0x8b])) {
    // Could be .svgz; refuse as compressed data either way.
    return { kind: 'other', looksLike: 'compressed data', svg: false };
  }
  if (ascii(bytes, 0, 4) === 'RIFF') return { kind: 'other', looksLike: 'audio or video', svg: false };
  const markup = describeText(bytes);
  if (markup) return markup;
  if (mostlyText(bytes)) return { kind: 'other', looksLike: 'text', svg: false };
  return { kind: 'other', looksLike: 'some other kind of file', svg: false };
}
