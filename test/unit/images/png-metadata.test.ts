import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { addPngText, readPngText } from '../../../src/images/png-metadata.ts';
import { noisyPng, pngFromChunks } from './image-fixtures.ts';

const workflow = {
  '3': { class_type: 'KSampler', inputs: { seed: 42, steps: 20, cfg: 7, denoise: 0.45, model: ['4', 0] } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a café at dusk, 東京, 🌆', clip: ['4', 1] } },
};

function chunkTypes(png: Buffer): string[] {
  const types: string[] = [];
  let off = 8;
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    types.push(png.toString('latin1', off + 4, off + 8));
    // Every chunk, ours included, must carry a correct CRC.
    expect(png.readUInt32BE(off + 8 + len)).toBe(crc32(png.subarray(off + 4, off + 8 + len)));
    off += 12 + len;
  }
  return types;
}

describe('PNG text metadata', () => {
  it('round-trips parameters and the API workflow, after IHDR, with correct CRCs; sharp still decodes it', async () => {
    const png = await noisyPng(64, 48);
    const prompt = JSON.stringify(workflow);
    const tagged = addPngText(png, { parameters: 'a café at dusk\nSteps: 20, Seed: 42', prompt });
    const types = chunkTypes(tagged);
    expect(types[0]).toBe('IHDR');
    expect(types.slice(1, 3)).toEqual(['tEXt', 'tEXt']);
    expect(types.at(-1)).toBe('IEND');

    const text = readPngText(tagged);
    expect(text.parameters).toBe('a café at dusk\nSteps: 20, Seed: 42');
    // Non-Latin-1 characters are JSON-escaped (as ComfyUI's json.dumps writes them) and parse back identically.
    expect(text.prompt).not.toMatch(/[^\x20-\x7e]/);
    expect(JSON.parse(text.prompt)).toEqual(workflow);

    const meta = await sharp(tagged).metadata();
    expect([meta.width, meta.height]).toEqual([64, 48]);
    expect(meta.comments).toEqual(expect.arrayContaining([{ keyword: 'prompt', text: text.prompt }]));
    const [a, b] = await Promise.all([sharp(png).raw().toBuffer(), sharp(tagged, { failOn: 'warning' }).raw().toBuffer()]);
    expect(a.equals(b)).toBe(true);
  });

  it('writes non-Latin-1 plain text as UTF-8 iTXt and reads it back', () => {
    const png = pngFromChunks([
      { type: 'IHDR', data: Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]) },
      { type: 'IDAT', data: deflateSync(Buffer.from([0, 0])) },
      { type: 'IEND', data: Buffer.alloc(0) },
    ]);
    const tagged = addPngText(png, { parameters: '東京の夜 🌆' });
    expect(chunkTypes(tagged)).toEqual(['IHDR', 'iTXt', 'IDAT', 'IEND']);
    expect(readPngText(tagged)).toEqual({ parameters: '東京の夜 🌆' });
  });

  it('replaces existing entries with the same keyword instead of duplicating them', async () => {
    const png = await noisyPng(16, 16);
    const once = addPngText(png, { parameters: 'old', workflow: '{"nodes":[]}' });
    const twice = addPngText(once, { parameters: 'new' });
    expect(chunkTypes(twice).filter((t) => t === 'tEXt')).toHaveLength(2);
    expect(readPngText(twice)).toEqual({ parameters: 'new', workflow: '{"nodes":[]}' });
  });

  it('reads zTXt and compressed iTXt written by other tools, and ignores chunks with a bad CRC', () => {
    const ihdr = { type: 'IHDR', data: Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]) };
    const z = { type: 'zTXt', data: Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), deflateSync(Buffer.from('squeezed'))]) };
    const i = { type: 'iTXt', data: Buffer.concat([Buffer.from('Title\0\x01\0en\0\0', 'latin1'), deflateSync(Buffer.from('Ünïcode', 'utf8'))]) };
    const t = { type: 'tEXt', data: Buffer.from('Author\0someone', 'latin1') };
    const png = pngFromChunks([ihdr, z, i, t, { type: 'IDAT', data: deflateSync(Buffer.from([0, 0])) }, { type: 'IEND', data: Buffer.alloc(0) }]);
    expect(readPngText(png)).toEqual({ Comment: 'squeezed', Title: 'Ünïcode', Author: 'someone' });
    // Flip one byte of the tEXt payload: its CRC no longer matches, so it is not trusted.
    const damaged = Buffer.from(png);
    const at = damaged.indexOf('someone');
    damaged[at] ^= 1;
    expect(readPngText(damaged)).toEqual({ Comment: 'squeezed', Title: 'Ünïcode' });
  });

  it('rejects non-PNG input and invalid keywords', async () => {
    expect(() => addPngText(Buffer.from('GIF89a....'), { a: 'b' })).toThrow(/not a PNG/);
    expect(() => readPngText(Buffer.alloc(0))).toThrow(/not a PNG/);
    const png = await noisyPng(4, 4);
    expect(() => addPngText(png, { '': 'x' })).toThrow(/keyword/);
    expect(() => addPngText(png, { ['k'.repeat(80)]: 'x' })).toThrow(/keyword/);
  });
});
