import { describe, expect, it } from 'vitest';
import {
  decodeBinaryFrame,
  encodePreviewFrame,
  encodePreviewWithMetadataFrame,
} from '../../../src/comfy/binary-frames.ts';

const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 9]);

describe('binary preview frames', () => {
  it('type 1: the format is at bytes 4..7 and the image starts at byte 8', () => {
    // Header exactly as captured from ComfyUI: 00000001 00000001 ffd8ffe0...
    const frame = Buffer.concat([Buffer.from('0000000100000001', 'hex'), jpeg]);
    expect(decodeBinaryFrame(frame)).toEqual({ kind: 'preview', mime: 'image/jpeg', image: jpeg });
    const pngFrame = Buffer.concat([Buffer.from('0000000100000002', 'hex'), png]);
    expect(decodeBinaryFrame(pngFrame)).toMatchObject({ kind: 'preview', mime: 'image/png', image: png });
  });

  it('type 4: JSON metadata length, metadata with prompt and node, then the image', () => {
    const meta = {
      node_id: '3',
      prompt_id: '0cc1673a-8f01-407a-adb6-969c66e71acc',
      display_node_id: '3',
      parent_node_id: null,
      real_node_id: '3',
      image_type: 'image/jpeg',
    };
    // ComfyUI writes the JSON the Python way (", " and ": "); the captured header was 00000004 000000a6 7b226e6f.
    const json = Buffer.from(
      '{"node_id": "3", "prompt_id": "0cc1673a-8f01-407a-adb6-969c66e71acc", "display_node_id": "3", "parent_node_id": null, "real_node_id": "3", "image_type": "image/jpeg"}',
    );
    const head = Buffer.alloc(8);
    head.writeUInt32BE(4, 0);
    head.writeUInt32BE(json.length, 4);
    const frame = Buffer.concat([head, json, jpeg]);
    expect(frame.subarray(0, 12).toString('hex')).toBe('00000004000000a67b226e6f');
    expect(decodeBinaryFrame(frame)).toEqual({
      kind: 'preview',
      mime: 'image/jpeg',
      image: jpeg,
      promptId: meta.prompt_id,
      nodeId: '3',
    });
  });

  it('round-trips both preview types for both formats', () => {
    expect(decodeBinaryFrame(encodePreviewWithMetadataFrame(png, { prompt_id: 'p', node_id: '7', image_type: 'image/png' }))).toEqual({
      kind: 'preview',
      mime: 'image/png',
      image: png,
      promptId: 'p',
      nodeId: '7',
    });
    expect(decodeBinaryFrame(encodePreviewFrame(png, 'image/png'))).toMatchObject({ mime: 'image/png', image: png });
    expect(decodeBinaryFrame(encodePreviewFrame(jpeg, 'image/jpeg'))).toMatchObject({ mime: 'image/jpeg', image: jpeg });
  });

  it('type 3 text frames carry a node id and text', () => {
    const node = Buffer.from('12');
    const head = Buffer.alloc(8);
    head.writeUInt32BE(3, 0);
    head.writeUInt32BE(node.length, 4);
    expect(decodeBinaryFrame(Buffer.concat([head, node, Buffer.from('tile 3/9')]))).toEqual({
      kind: 'text',
      nodeId: '12',
      text: 'tile 3/9',
    });
  });

  it('rejects truncated or unknown frames instead of throwing', () => {
    expect(decodeBinaryFrame(Buffer.from([0, 0, 0, 1]))).toMatchObject({ kind: 'unknown' });
    const bad = Buffer.alloc(8);
    bad.writeUInt32BE(4, 0);
    bad.writeUInt32BE(500, 4);
    expect(decodeBinaryFrame(bad)).toMatchObject({ kind: 'unknown', eventType: 4 });
    const other = Buffer.alloc(12);
    other.writeUInt32BE(9, 0);
    expect(decodeBinaryFrame(other)).toMatchObject({ kind: 'unknown', eventType: 9 });
  });
});
