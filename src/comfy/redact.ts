/**
 * The one scrubber for text that comes from a ComfyUI host (HTTP bodies, node errors, WebSocket
 * messages, tracebacks) or that names one. Whatever a host echoes — our Authorization header in a
 * 400 body, a cookie in a traceback, credentials in a URL — leaves the client only through here, so
 * nothing downstream (users, logs, the job store) can forget to clean it.
 *
 * Removed: the host's configured secrets (token, password, header value, basic auth base64, URL
 * password, raw and URL-encoded), any `Bearer …` / `Basic …` / `Token …` credential, values of
 * Authorization / Cookie / API-key-like header echoes (and of the host's own auth header name),
 * `user:password@` in URLs and token-like query parameters.
 */

const MASK = '***';

/** Header names whose echoed value is always a secret. */
const SECRET_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-access-token',
];

/** `Bearer <anything token-like>`; Basic/Token/Digest only when the value looks encoded (not "Basic auth"). */
const BEARER = /\b(Bearer)(\s+)[A-Za-z0-9._~+/=:-]{3,}/gi;
const OTHER_SCHEME = /\b(Basic|Token|Digest)(\s+)(?:(?=[A-Za-z0-9._~+/=:-]*[0-9+/=])[A-Za-z0-9._~+/=:-]{8,}|[A-Za-z0-9._~+/=:-]{20,})/g;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:'"]*:[^\s/@'"]*@/gi;
const SECRET_QUERY = /([?&](?:token|access_token|api_key|apikey|key|password|secret|auth)=)[^&\s'"#]+/gi;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `name: value`, `"name": "value"`, `'name': 'value'` and `name=value` echoes: the value goes, up to
 * the end of the line or its closing quote.
 */
function headerEcho(names: string[]): RegExp {
  const alt = names.map(escapeRegExp).join('|');
  return new RegExp(`((?:${alt})\\\\?["']?\\s*[:=]\\s*)(\\\\?["']?)([^"'\\r\\n\\\\]*)`, 'gi');
}

const DEFAULT_HEADER_ECHO = headerEcho(SECRET_HEADERS);

/** Every form of a secret that could show up in a text: as is and URL-encoded. */
function forms(secret: string): string[] {
  const out = new Set<string>([secret]);
  try {
    out.add(encodeURIComponent(secret));
  } catch {
    /* lone surrogate: no encoded form */
  }
  return [...out].filter((s) => s.length >= 3);
}

export interface Redactor {
  (text: string): string;
}

/**
 * A redactor for one host: `secrets` are its configured credentials (see secretsOf), `headerNames`
 * the names of extra auth headers it is configured with (e.g. X-Comfy-Key).
 */
export function hostRedactor(secrets: string[], headerNames: string[] = []): Redactor {
  // Longest first, so a secret that contains another is masked whole.
  const all = [...new Set(secrets.flatMap(forms))].sort((a, b) => b.length - a.length);
  const extra = headerNames.map((n) => n.toLowerCase()).filter((n) => n && !SECRET_HEADERS.includes(n));
  const echo = extra.length > 0 ? headerEcho([...SECRET_HEADERS, ...extra]) : DEFAULT_HEADER_ECHO;
  return (text: string) => redactHostText(text, all, echo);
}

function redactHostText(text: string, secrets: string[], echo: RegExp): string {
  if (!text) return text;
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK);
  out = out.replace(echo, (_m, head: string, quote: string, value: string) =>
    value.length === 0 ? `${head}${quote}` : `${head}${quote}${MASK}`,
  );
  out = out.replace(BEARER, (_m, scheme: string, space: string) => `${scheme}${space}${MASK}`);
  out = out.replace(OTHER_SCHEME, (_m, scheme: string, space: string) => `${scheme}${space}${MASK}`);
  out = out.replace(URL_CREDENTIALS, (_m, scheme: string) => `${scheme}${MASK}@`);
  out = out.replace(SECRET_QUERY, (_m, key: string) => `${key}${MASK}`);
  return out;
}

/** Redact without host-specific secrets (patterns only). */
export const redactPatterns: Redactor = hostRedactor([]);
