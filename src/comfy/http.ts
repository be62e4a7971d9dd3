/**
 * HTTP to one ComfyUI host through undici: auth headers on every call, a timeout on every call, a
 * byte cap on every answer, failures as HostUnavailableError naming the host and the reason (never a
 * secret). Text from the host leaves through text()/parse()/unexpected(), all redacted.
 */
import { Agent, request } from 'undici';
import { ERROR_BODY_MAX_BYTES, formatCap, JSON_ANSWER_MAX_BYTES } from './answer-caps.ts';
import { authHeaders, normaliseHost, secretsOf } from './auth-headers.ts';
import { hostRedactor, type Redactor } from './redact.ts';
import { ComfyError, HostUnavailableError } from './errors.ts';
import type { HostConfig } from './types.ts';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_TRANSFER_TIMEOUT_MS = 120_000;

/** The host answered, but not with what the call needs (e.g. /view 404, an unexpected status). */
export class HostRequestError extends ComfyError {
  constructor(
    readonly host: string,
    readonly status: number,
    message: string,
  ) {
    super(message, 'host_request_failed');
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface CallOptions {
  query?: Record<string, string | undefined>;
  json?: unknown;
  body?: Buffer;
  contentType?: string;
  timeoutMs?: number;
  /** Most bytes read from a 2xx answer (default JSON_ANSWER_MAX_BYTES); error answers: at most ERROR_BODY_MAX_BYTES. */
  maxBytes?: number;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Words for a network-level failure (undici / Node error codes). */
export function networkReason(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  const code = e?.code ?? e?.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is ComfyUI running and the URL right?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was closed by the host';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'could not connect in time';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'no answer in time';
    case 'CERT_HAS_EXPIRED':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `TLS certificate problem (${code})`;
    default:
      return `network error${code ? ` (${code})` : e?.message ? ` (${e.message})` : ''}`;
  }
}

/** Words for a status that means "the host (or its proxy) will not serve us now". */
export function statusReason(status: number, statusText?: string): string | undefined {
  if (status === 401) return 'the host refused our credentials (HTTP 401): check the auth settings for this host';
  if (status === 403) return 'the host refused access (HTTP 403): check the auth settings for this host';
  if (status === 407) return 'a proxy asked for credentials (HTTP 407)';
  if (status >= 500) return `the host answered HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  return undefined;
}

/** Stop reading a body and drop its connection; the abort error it then emits is expected, not a crash. */
function discard(body: NodeJS.ReadableStream & { destroy(): void }): void {
  body.on('error', () => undefined);
  body.destroy();
}

export class HostHttp {
  readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly scrub: Redactor;
  private readonly agent: Agent;
  private closed = false;

  constructor(readonly host: HostConfig) {
    const { baseUrl, auth } = normaliseHost(host);
    this.baseUrl = baseUrl;
    this.headers = authHeaders(auth);
    this.scrub = hostRedactor(
      [...secretsOf(host), ...secretsOf({ url: host.url, auth })],
      auth.kind === 'header' ? [auth.name] : [],
    );
    this.agent = new Agent({
      keepAliveTimeout: 4_000,
      connect: { timeout: Math.min(10_000, host.timeoutMs ?? DEFAULT_TIMEOUT_MS) },
    });
  }

  get defaultTimeoutMs(): number {
    return this.host.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Auth headers for the WebSocket upgrade (same as HTTP). */
  get authHeaders(): Record<string, string> {
    return { ...this.headers };
  }

  url(path: string, query?: Record<string, string | undefined>): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, v);
    const qs = q.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  /** The one redaction for host text: this host's secrets and any credential-looking echo (see redact.ts). */
  redact(text: string): string {
    return this.scrub(text);
  }

  /** An answer's body as redacted text. */
  text(res: HttpResult): string {
    return this.redact(res.body.toString('utf8'));
  }

  unavailable(reason: string): HostUnavailableError {
    return new HostUnavailableError(this.host.name, this.redact(reason));
  }

  /**
   * One HTTP call. Network failures, timeouts, 401/403/407 and 5xx throw HostUnavailableError;
   * every other status is returned for the caller to judge.
   */
  async call(method: 'GET' | 'POST', path: string, opts: CallOptions = {}): Promise<HttpResult> {
    if (this.closed) throw this.unavailable('the client was closed');
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const headers: Record<string, string> = { ...this.headers };
    let body: Buffer | string | undefined;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.body) {
      body = opts.body;
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    }
    try {
      const res = await request(this.url(path, opts.query), {
        method,
        headers,
        body,
        signal: controller.signal,
        dispatcher: this.agent,
      });
      const bad = statusReason(res.statusCode, res.statusText);
      if (bad) {
        discard(res.body);
        throw this.unavailable(`${method} ${path}: ${bad}`);
      }
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      const cap = ok ? (opts.maxBytes ?? JSON_ANSWER_MAX_BYTES) : Math.min(opts.maxBytes ?? ERROR_BODY_MAX_BYTES, ERROR_BODY_MAX_BYTES);
      const tooLarge = () => {
        // Stop reading and drop the connection: an endless body must cost nothing more.
        discard(res.body);
        controller.abort();
        return this.unavailable(
          `${method} ${path}: the answer is larger than ${formatCap(cap)}, Easel's limit for it; reading was stopped`,
        );
      };
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > cap) throw tooLarge();
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > cap) throw tooLarge();
        chunks.push(chunk as Buffer);
      }
      return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
    } catch (err) {
      if (err instanceof ComfyError) throw err;
      if (controller.signal.aborted) throw this.unavailable(`${method} ${path}: no answer within ${seconds(timeoutMs)}`);
      throw this.unavailable(`${method} ${path}: ${networkReason(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A call whose answer must be 200 with a JSON body. */
  async json<T>(method: 'GET' | 'POST', path: string, opts: CallOptions = {}): Promise<T> {
    const res = await this.call(method, path, opts);
    if (res.status !== 200) throw this.unexpected(method, path, res);
    return this.parse<T>(method, path, res);
  }

  parse<T>(method: string, path: string, res: HttpResult): T {
    try {
      // Redacted before parsing: every string inside (node errors, history messages) comes out clean.
      return JSON.parse(this.text(res)) as T;
    } catch {
      throw new HostRequestError(
        this.host.name,
        res.status,
        `ComfyUI host ${this.host.name} answered ${method} ${path} with something that is not JSON (is the URL a ComfyUI server?)`,
      );
    }
  }

  unexpected(method: string, path: string, res: HttpResult): HostRequestError {
    const text = this.text(res).slice(0, 200).trim();
    const hint = res.status === 404 ? ' (is the URL a ComfyUI server?)' : '';
    return new HostRequestError(
      this.host.name,
      res.status,
      `ComfyUI host ${this.host.name} answered ${method} ${path} with HTTP ${res.status}${hint}${text ? `: ${text}` : ''}`,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.agent.destroy().catch(() => undefined);
  }
}
