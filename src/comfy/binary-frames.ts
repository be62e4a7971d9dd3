/**
 * ComfyUI's binary WebSocket frames. Every integer is a big-endian uint32.
 *   type 1 PREVIEW_IMAGE:               [0..3]=1, [4..7]=format (1 JPEG, 2 PNG), image from byte 8
 *   type 3 TEXT:                        [0..3]=3, [4..7]=len(node id), node id, then UTF-8 text
 *   type 4 PREVIEW_IMAGE_WITH_METADATA: [0..3]=4, [4..7]=N, N bytes of JSON, then the image
 */

export type BinaryFrame =
  | {
      kind: 'preview';
      mime: 'image/jpeg' | 'image/png';
      image: Buffer;
      /** Only type-4 frames say which prompt and node they belong to. */
      promptId?: string;
      nodeId?: string;
    }
  | { kind: 'text'; nodeId: string; text: string }
  | { kind: 'unknown'; eventType: number; reason: string };

export const PREVIEW_IMAGE = 1;
export const TEXT = 3;
export const PREVIEW_IMAGE_WITH_METADATA = 4;

function sniffMime(image: Buffer): 'image/jpeg' | 'image/png' | undefined {
  if (image.length >= 3 && image[0] === 0xff && image[1] === 0xd8 && image[2] === 0xff) return 'image/jpeg';
  if (image.length >= 8 && image.readUInt32BE(0) === 0x89504e47) return 'image/png';
  return undefined;
}

export function decodeBinaryFrame(data: Buffer): BinaryFrame {
  if (data.length < 8) return { kind: 'unknown', eventType: data.length >= 4 ? data.readUInt32BE(0) : -1, reason: 'frame shorter than 8 bytes' };
  const eventType = data.readUInt32BE(0);
  if (eventType === PREVIEW_IMAGE) {
    const format = data.readUInt32BE(4);
    const image = data.subarray(8);
    const mime = format === 2 ? 'image/png' : format === 1 ? 'image/jpeg' : sniffMime(image);
    if (!mime) return { kind: 'unknown', eventType, reason: `unknown image format ${format}` };
    return { kind: 'preview', mime, image };
  }
  if (eventType === PREVIEW_IMAGE_WITH_METADATA) {
    const len = data.readUInt32BE(4);
    if (8 + len > data.length) return { kind: 'unknown', eventType, reason: 'metadata length past the end of the frame' };
    let meta: Record<string, unknown>;
    try {
      meta = JSON.parse(data.subarray(8, 8 + len).toString('utf8')) as Record<string, unknown>;
    } catch {
      return { kind: 'unknown', eventType, reason: 'metadata is not JSON' };
    }
    const image = data.subarray(8 + len);
    const declared = meta.image_type;
    const mime =
      declared === 'image/png' || declared === 'image/jpeg' ? declared : (sniffMime(image) ?? 'image/jpeg');
    return {
      kind: 'preview',
      mime,
      image,
      promptId: typeof meta.prompt_id === 'string' ? meta.prompt_id : undefined,
      nodeId: typeof meta.node_id === 'string' ? meta.node_id : undefined,
    };
  }
  if (eventType === TEXT) {
    const len = data.readUInt32BE(4);
    if (8 + len > data.length) return { kind: 'unknown', eventType, reason: 'node id length past the end of the frame' };
    return {
      kind: 'text',
      nodeId: data.subarray(8, 8 + len).toString('utf8'),
      text: data.subarray(8 + len).toString('utf8'),
    };
  }
  return { kind: 'unknown', eventType, reason: `unknown binary event type ${eventType}` };
}

/** Build frames (used by tests and by anything that needs to speak the protocol). */
export function encodePreviewFrame(image: Buffer, mime: 'image/jpeg' | 'image/png'): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(PREVIEW_IMAGE, 0);
  head.writeUInt32BE(mime === 'image/png' ? 2 : 1, 4);
  return Buffer.concat([head, image]);
}

export function encodePreviewWithMetadataFrame(image: Buffer, metadata: Record<string, unknown>): Buffer {
  const json = Buffer.from(JSON.stringify(metadata), 'utf8');
  const head = Buffer.alloc(8);
  head.writeUInt32BE(PREVIEW_IMAGE_WITH_METADATA, 0);
  head.writeUInt32BE(json.length, 4);
  return Buffer.concat([head, json, image]);
}
