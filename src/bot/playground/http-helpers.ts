/** Small helpers for the playground's node:http server: bounded bodies, JSON replies, form parsing. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = 'bad_request',
  ) {
    super(message);
  }
}

/** Read the whole body, at most maxBytes; `signal` (e.g. an admission ticket's) stops a body that takes too long. */
export async function readBody(req: IncomingMessage, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new HttpError(413, `That upload is too large (over ${Math.round(maxBytes / 1024 / 1024)} MiB).`, 'image_too_large');
  signal?.throwIfAborted();
  const stop = () => req.destroy();
  signal?.addEventListener('abort', stop, { once: true });
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of req) {
      total += (chunk as Buffer).length;
      if (total > maxBytes) throw new HttpError(413, `That upload is too large (over ${Math.round(maxBytes / 1024 / 1024)} MiB).`, 'image_too_large');
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage, maxBytes = 1024 * 1024): Promise<Record<string, unknown>> {
  const body = await readBody(req, maxBytes);
  if (body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'The request body must be a JSON object.');
}

/** Parse multipart/form-data with the platform's own parser (undici's Response.formData). */
export async function readForm(req: IncomingMessage, maxBytes: number, signal?: AbortSignal): Promise<FormData> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data;/i.test(type)) throw new HttpError(415, 'Send the form as multipart/form-data.');
  const body = await readBody(req, maxBytes, signal);
  try {
    // A view of the body, not a copy (uploads are megabytes).
    return await new Response(new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.length), { headers: { 'content-type': type } }).formData();
  } catch {
    throw new HttpError(400, 'The form could not be read.');
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendBytes(res: ServerResponse, data: Buffer, mime: string, extra: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': mime, 'content-length': data.length, 'cache-control': 'private, max-age=3600', ...extra });
  res.end(data);
}
