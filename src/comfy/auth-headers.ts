/**
 * Headers that get a request through the reverse proxy in front of a ComfyUI host, and a scrubber
 * that keeps those secrets out of every message we produce.
 */
import type { HostAuth, HostConfig } from './types.ts';

/** The headers to send on every HTTP call and on the WebSocket upgrade. */
export function authHeaders(auth: HostAuth | undefined): Record<string, string> {
  if (!auth || auth.kind === 'none') return {};
  switch (auth.kind) {
    case 'bearer':
      return { authorization: `Bearer ${auth.token}` };
    case 'basic':
      return {
        authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`,
      };
    case 'header':
      return { [auth.name.toLowerCase()]: auth.value };
  }
}

/** Every secret string that could appear in a message for this host (raw and encoded forms). */
export function secretsOf(host: Pick<HostConfig, 'auth' | 'url'>): string[] {
  const out: string[] = [];
  const auth = host.auth;
  if (auth?.kind === 'bearer') out.push(auth.token);
  if (auth?.kind === 'basic') {
    out.push(auth.password, Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64'));
  }
  if (auth?.kind === 'header') out.push(auth.value);
  try {
    const u = new URL(host.url);
    if (u.password) out.push(u.password, decodeURIComponent(u.password));
  } catch {
    /* an invalid URL has no secret to hide */
  }
  return out.filter((s) => s.length >= 3);
}

/** Replace any secret of the host found in `text` by "***". */
export function redactSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

/**
 * Split a host URL into a clean base (no credentials, no trailing slash) and the auth to use:
 * credentials written in the URL (http://user:pass@host) become basic auth when no auth is configured.
 */
export function normaliseHost(host: HostConfig): { baseUrl: string; auth: HostAuth } {
  let url: URL;
  try {
    url = new URL(host.url);
  } catch {
    throw new TypeError(`host ${host.name}: "${host.url.replace(/\/\/[^@/]*@/, '//***@')}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`host ${host.name}: the URL must start with http:// or https://`);
  }
  let auth: HostAuth = host.auth ?? { kind: 'none' };
  if ((url.username || url.password) && auth.kind === 'none') {
    auth = {
      kind: 'basic',
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    };
  }
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  const baseUrl = url.toString().replace(/\/+$/, '');
  return { baseUrl, auth };
}
