/**
 * The playground's access token (playground.token / EASEL_PLAYGROUND_TOKEN). When one is configured,
 * every /api/ request must carry it: `Authorization: Bearer <token>`, `X-Easel-Token: <token>`, or the
 * cookie set by opening the page once as `/?token=<token>`. Compared in constant time (of SHA-256
 * digests, so the length of the token leaks nothing either); the token is never logged or echoed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './http-helpers.ts';

export const TOKEN_COOKIE = 'easel_playground';

const NEEDS_TOKEN =
  'This playground needs its access token. Open it once as http://<this address>/?token=<your token> ' +
  '(the value of playground.token / EASEL_PLAYGROUND_TOKEN), or send it as "Authorization: Bearer <token>".';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export class PlaygroundAuth {
  private readonly expected?: Buffer;

  constructor(private readonly token: string | undefined) {
    this.expected = token ? digest(token) : undefined;
  }

  get required(): boolean {
    return this.expected !== undefined;
  }

  matches(given: string | undefined): boolean {
    if (!this.expected) return true;
    if (given === undefined) return false;
    return timingSafeEqual(digest(given), this.expected);
  }

  /** The token a request carries, from the header, X-Easel-Token, or the cookie. */
  private given(req: IncomingMessage): string | undefined {
    const auth = req.headers.authorization;
    if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
    const header = req.headers['x-easel-token'];
    if (typeof header === 'string') return header;
    return cookieValue(req.headers.cookie, TOKEN_COOKIE);
  }

  /** Throws HttpError 401 unless the request carries the token (always passes when none is configured). */
  check(req: IncomingMessage): void {
    if (!this.required) return;
    if (!this.matches(this.given(req))) throw new HttpError(401, NEEDS_TOKEN, 'unauthorized');
  }

  /** `/?token=…`: a right token becomes a cookie and the page opens without it in the address. */
  signIn(res: ServerResponse, given: string): void {
    if (!this.required) {
      res.writeHead(303, { location: '/', 'cache-control': 'no-store' });
      res.end();
      return;
    }
    if (!this.matches(given)) throw new HttpError(401, 'That access token is not right. Check playground.token (EASEL_PLAYGROUND_TOKEN) and open the page again.', 'unauthorized');
    res.writeHead(303, {
      location: '/',
      'cache-control': 'no-store',
      'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(this.token!)}; Path=/; HttpOnly; SameSite=Strict`,
    });
    res.end();
  }
}
