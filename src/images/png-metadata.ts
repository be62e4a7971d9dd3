/**
 * PNG text metadata. Easel writes the job parameters under "parameters" (the A1111 convention) and
 * the ComfyUI API workflow under "prompt" (and the UI graph under "workflow" when it has one), the
 * keys ComfyUI itself writes, so a result dropped onto ComfyUI reopens the graph that made it.
 *
 * Values that fit Latin-1 go into tEXt chunks. JSON values with other characters (a prompt in
 * Japanese, an emoji) are written with \uXXXX escapes, still as tEXt, exactly like Python's
 * json.dumps does for ComfyUI. Any other non-Latin-1 text goes into an uncompressed UTF-8 iTXt chunk.
 */
import { crc32, inflateSync } from 'node:zlib';
import { PNG_SIGNATURE, pngChunk } from './png-chunk.ts';

const TEXT_TYPES = new Set(['tEXt', 'zTXt', 'iTXt']);
/** Compressed text is inflated at most to this size (a zTXt bomb is skipped, not expanded). */
const MAX_TEXT = 16 * 1024 * 1024;

interface Chunk {
  type: string;
  /** Offset of the chunk's length field. */
  start: number;
  /** Offset just past its CRC. */
  end: number;
  data: Buffer;
  crcOk: boolean;
}

function assertPng(png: Buffer): void {
  if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG file');
}

function* chunks(png: Buffer): Generator<Chunk> {
  let off = 8;
  while (off + 12 <= png.length) {
    const len = png.readUInt32BE(off);
    const end = off + 12 + len;
    if (end > png.length) throw new Error('PNG is truncated');
    const type = png.toString('latin1', off + 4, off + 8);
    const crcOk = crc32(png.subarray(off + 4, off + 8 + len)) === png.readUInt32BE(off + 8 + len);
    yield { type, start: off, end, data: png.subarray(off + 8, off + 8 + len), crcOk };
    if (type === 'IEND') return;
    off = end;
  }
}

function isLatin1(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\u0001-\u00ff]*$/.test(s);
}

function looksLikeJson(s: string): boolean {
  const t = s.trimStart();
  if (!(t.startsWith('{') || t.startsWith('['))) return false;
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** Escape everything outside ASCII as \uXXXX. Valid for JSON text: such characters only occur inside strings. */
function asciiJson(s: string): string {
  return s.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function textChunk(keyword: string, value: string): Buffer {
  if (!/^[\u0020-\u007e\u00a1-\u00ff]{1,79}$/.test(keyword) || keyword !== keyword.trim() || keyword.includes('  ')) {
    throw new Error(`invalid PNG text keyword ${JSON.stringify(keyword)}`);
  }
  const key = Buffer.from(keyword, 'latin1');
  if (!value.includes('\u0000')) {
    if (isLatin1(value)) return pngChunk('tEXt', Buffer.concat([key, Buffer.from([0]), Buffer.from(value, 'latin1')]));
    if (looksLikeJson(value)) return pngChunk('tEXt', Buffer.concat([key, Buffer.from([0]), Buffer.from(asciiJson(value), 'latin1')]));
  }
  // iTXt: keyword, 0, compression flag 0, method 0, empty language tag, 0, empty translated keyword, 0, UTF-8 text.
  return pngChunk('iTXt', Buffer.concat([key, Buffer.from([0, 0, 0, 0, 0]), Buffer.from(value.replaceAll('\u0000', ''), 'utf8')]));
}

/**
 * Return a copy of `png` with these text entries, placed right after IHDR (where every reader looks).
 * Existing text chunks with the same keywords are replaced; pixels are untouched.
 */
export function addPngText(png: Buffer, text: Record<string, string>): Buffer {
  assertPng(png);
  const keys = new Set(Object.keys(text));
  const parts: Buffer[] = [PNG_SIGNATURE];
  let inserted = false;
  for (const c of chunks(png)) {
    if (TEXT_TYPES.has(c.type) && keys.has(keywordOf(c.data))) continue;
    parts.push(png.subarray(c.start, c.end));
    if (c.type === 'IHDR' && !inserted) {
      for (const [k, v] of Object.entries(text)) parts.push(textChunk(k, v));
      inserted = true;
    }
  }
  if (!inserted) throw new Error('PNG has no IHDR chunk');
  return Buffer.concat(parts);
}

function keywordOf(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.toString('latin1', 0, nul < 0 ? data.length : nul);
}

/** All text entries (tEXt, zTXt, iTXt) of a PNG. Chunks with a bad CRC are ignored. */
export function readPngText(png: Buffer): Record<string, string> {
  assertPng(png);
  const out: Record<string, string> = {};
  for (const c of chunks(png)) {
    if (!TEXT_TYPES.has(c.type) || !c.crcOk) continue;
    const nul = c.data.indexOf(0);
    if (nul <= 0) continue;
    const key = c.data.toString('latin1', 0, nul);
    try {
      if (c.type === 'tEXt') {
        out[key] = c.data.toString('latin1', nul + 1);
      } else if (c.type === 'zTXt') {
        out[key] = inflateSync(c.data.subarray(nul + 2), { maxOutputLength: MAX_TEXT }).toString('latin1');
      } else {
        const compressed = c.data[nul + 1] === 1;
        const langEnd = c.data.indexOf(0, nul + 3);
        const transEnd = langEnd < 0 ? -1 : c.data.indexOf(0, langEnd + 1);
        if (transEnd < 0) continue;
        const body = c.data.subarray(transEnd + 1);
        out[key] = (compressed ? inflateSync(body, { maxOutputLength: MAX_TEXT }) : body).toString('utf8');
      }
    } catch {
      // A damaged compressed chunk is skipped like a bad CRC.
    }
  }
  return out;
}
