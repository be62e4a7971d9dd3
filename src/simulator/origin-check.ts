/**
 * ComfyUI's anti-CSRF check (server.py origin_only_middleware, active unless --enable-cors-header): when
 * the Host is a loopback address and an Origin header names another host, the request gets 403. Browsers
 * send Origin; Node's fetch/undici and ws do not, so server-side clients never trip it.
 */
import { isIP } from 'node:net';

function isLoopback(hostname: string | null): boolean {
  if (!hostname) return false;
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const kind = isIP(h);
  if (kind === 4) return h.startsWith('127.');
  if (kind === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return h === 'localhost' || h.endsWith('.localhost');
}

function split(authority: string): { hostname: string | null; port: string | null } {
  try {
    const u = new URL(`http://${authority}`);
    return { hostname: u.hostname || null, port: u.port || (/:\d+$/.test(authority) ? authority.replace(/^.*:/, '') : null) };
  } catch {
    return { hostname: null, port: null };
  }
}

/** True when ComfyUI would answer 403 to a request with these headers. */
export function originRefused(hostHeader: string | undefined, originHeader: string | undefined): boolean {
  if (hostHeader === undefined || originHeader === undefined) return false;
  let host = hostHeader.toLowerCase();
  let origin: { netloc: string; hostname: string | null; port: string | null };
  try {
    const u = new URL(originHeader);
    origin = { netloc: u.host.toLowerCase(), hostname: u.hostname.toLowerCase() || null, port: u.port || null };
  } catch {
    // urlparse of something without a scheme has an empty netloc: nothing to compare
    origin = { netloc: '', hostname: null, port: null };
  }
  const hostParts = split(host);
  if (!isLoopback(hostParts.hostname)) return false;
  let originDomain: string | null = origin.netloc;
  // A side without a port is compared by host name only (for odd browsers), as ComfyUI does.
  if (origin.port === null) host = hostParts.hostname ?? '';
  if (hostParts.port === null) originDomain = origin.hostname;
  if (!host || !originDomain) return false;
  return host !== originDomain;
}
