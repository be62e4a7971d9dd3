/**
 * The HTTP transport discord.js's REST client uses, on the project's undici 7 with a dispatcher of
 * our own. Why: discord.js ships its own undici 6, whose `request()` hands bodies to the process-wide
 * global dispatcher — and that is whichever undici loaded first (the ComfyUI client loads undici 7).
 * An undici 7 dispatcher does not recognise the FormData discord.js builds for file uploads and
 * fails ("action is not a function"), so every message with an image would be lost. Here multipart
 * bodies are serialised to bytes first and sent through one undici version end to end.
 */
import { STATUS_CODES } from 'node:http';
import { Agent, request } from 'undici';
import type { RESTOptions, ResponseLike } from 'discord.js';

export interface RestTransport {
  makeRequest: RESTOptions['makeRequest'];
  close(): Promise<void>;
}

type Init = Parameters<RESTOptions['makeRequest']>[1];

export function createRestTransport(): RestTransport {
  const agent = new Agent({ connect: { timeout: 15_000 } });
  const makeRequest = async (url: string, init: Init): Promise<ResponseLike> => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers[k] = String(v);
    let body: string | Buffer | Uint8Array | undefined;
    const raw = init.body as unknown;
    if (raw === null || raw === undefined) body = undefined;
    else if (typeof raw === 'string' || raw instanceof Uint8Array) body = raw;
    else if (raw instanceof ArrayBuffer) body = new Uint8Array(raw);
    else if (typeof FormData !== 'undefined' && raw instanceof FormData) {
      const encoded = new Response(raw);
      body = Buffer.from(await encoded.arrayBuffer());
      headers['content-type'] = encoded.headers.get('content-type') ?? 'multipart/form-data';
    } else if (raw instanceof Blob) body = new Uint8Array(await raw.arrayBuffer());
    else throw new TypeError('discord REST: unsupported request body');

    const res = await request(url, {
      method: (init.method ?? 'GET') as 'GET',
      headers,
      body,
      signal: init.signal ?? undefined,
      dispatcher: agent,
    });
    const responseHeaders = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (Array.isArray(v)) for (const item of v) responseHeaders.append(k, item);
      else if (v !== undefined) responseHeaders.set(k, v);
    }
    return {
      body: res.body,
      arrayBuffer: () => res.body.arrayBuffer(),
      json: () => res.body.json(),
      text: () => res.body.text(),
      get bodyUsed() {
        return res.body.bodyUsed;
      },
      headers: responseHeaders,
      status: res.statusCode,
      statusText: STATUS_CODES[res.statusCode] ?? '',
      ok: res.statusCode >= 200 && res.statusCode < 300,
    } as unknown as ResponseLike;
  };
  return { makeRequest: makeRequest as RESTOptions['makeRequest'], close: () => agent.close() };
}
