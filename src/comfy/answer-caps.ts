/**
 * How many bytes Easel reads from a ComfyUI host per answer. A host that streams forever or answers
 * far more than any real ComfyUI would is cut off at the cap (the connection is destroyed), so one
 * broken or hostile host can never grow Easel's memory without bound.
 */

/** JSON answers: /queue, /history/{id}, /system_stats, /prompt, /upload/image. Real ones are KBs;
 *  a /queue listing hundreds of pending workflows stays well under this. */
export const JSON_ANSWER_MAX_BYTES = 8 * 1024 * 1024;

/** GET /object_info: ComfyUI 0.3.64 alone answers ~0.45 MB, hosts with many custom node packs a few MB. */
export const OBJECT_INFO_MAX_BYTES = 32 * 1024 * 1024;

/** GET /view: the largest image ComfyUI itself accepts by default (--max-upload-size 100 MB). */
export const IMAGE_ANSWER_MAX_BYTES = 100 * 1024 * 1024;

/** Any non-2xx answer: we only show its first few hundred characters (and parse a 400's node errors). */
export const ERROR_BODY_MAX_BYTES = 1024 * 1024;

/**
 * WebSocket messages: status/progress/executed JSON are KBs and preview frames are small JPEG/PNG
 * (ComfyUI sizes previews to 512 px by default, a few hundred KB at most even as PNG at 1024 px).
 * 8 MiB leaves ample room; a bigger message closes the socket and the client reconnects.
 */
export const WS_MESSAGE_MAX_BYTES = 8 * 1024 * 1024;

export function formatCap(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB` : `${Math.round(bytes / 1024)} KiB`;
}
