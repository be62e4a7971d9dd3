/**
 * Downloads a user's attachment at once (Discord's CDN links are signed and expire), only from Discord's
 * CDN hosts (plus any origin configured for tests), never following redirects, and never reading more
 * than the size limit. Problems become UserErrors the user can act on.
 */
import { UserError, isUserError } from '../../commands/errors.ts';
import { formatBytes } from '../shared/job-text.ts';
import { readLimitedBody } from '../shared/read-limited-body.ts';

/**
 * Discord's file servers: the CDN, the media proxy, and the proxy that serves outside images shown in
 * embeds (an embed's `proxy_url`; Discord fetched the outside image, we never do).
 */
export const DISCORD_CDN_HOSTS = ['cdn.discordapp.com', 'media.discordapp.net', 'images-ext-1.discordapp.net', 'images-ext-2.discordapp.net'];

export interface AttachmentInfo {
  name: string;
  url: string;
  size: number;
  contentType?: string | null;
}

export interface DownloadPolicy {
  maxBytes: number;
  /** Extra allowed origins, e.g. `http://127.0.0.1:4567` for the fake Discord in tests. */
  extraOrigins?: string[];
  timeoutMs?: number;
}

export function isAllowedAttachmentUrl(url: string, extraOrigins: string[] = []): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  if (u.protocol === 'https:' && DISCORD_CDN_HOSTS.includes(u.hostname.toLowerCase()) && (u.port === '' || u.port === '443')) {
    return true;
  }
  return extraOrigins.some((o) => {
    try {
      return new URL(o).origin === u.origin;
    } catch {
      return false;
    }
  });
}

/**
 * When a signed Discord CDN link stops working: its `ex` parameter, hex unix seconds. Undefined for a
 * link without one.
 */
export function linkExpiresAt(url: string): number | undefined {
  let ex: string | null;
  try {
    ex = new URL(url).searchParams.get('ex');
  } catch {
    return undefined;
  }
  return ex && /^[0-9a-f]{1,12}$/i.test(ex) ? parseInt(ex, 16) * 1000 : undefined;
}

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|tiff?|avif|heic|heif)$/i;

/** Cheap checks before any download: host, declared size, declared type. Throws UserError. */
export function checkAttachment(a: AttachmentInfo, policy: DownloadPolicy): void {
  if (!isAllowedAttachmentUrl(a.url, policy.extraOrigins)) {
    throw new UserError('bad_image', `I can only read images uploaded to Discord, and "${a.name}" is not on Discord's file server.`);
  }
  if (a.size > policy.maxBytes) {
    throw new UserError(
      'image_too_large',
      `"${a.name}" is ${formatBytes(a.size)}; the largest image I accept is ${formatBytes(policy.maxBytes)}. Try a smaller or compressed copy.`,
    );
  }
  const type = a.contentType?.split(';')[0].trim().toLowerCase();
  if (type ? !type.startsWith('image/') : !IMAGE_EXT.test(a.name)) {
    throw new UserError('bad_image', `"${a.name}" is not an image (${type || 'unknown type'}). Attach a PNG, JPEG or WebP picture.`);
  }
}

export async function downloadAttachment(a: AttachmentInfo, policy: DownloadPolicy): Promise<Buffer> {
  checkAttachment(a, policy);
  let res: Response;
  try {
    res = await fetch(a.url, { redirect: 'error', signal: AbortSignal.timeout(policy.timeoutMs ?? 20_000) });
  } catch {
    throw new UserError('bad_image', `I could not download "${a.name}" from Discord. Please try again.`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new UserError('bad_image', `I could not download "${a.name}" from Discord (HTTP ${res.status}). Please upload it again.`);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooBig = () =>
    new UserError('image_too_large', `"${a.name}" is larger than ${formatBytes(policy.maxBytes)}, the largest image I accept.`);
  if (Number.isFinite(declared) && declared > policy.maxBytes) {
    await res.body.cancel().catch(() => undefined);
    throw tooBig();
  }
  try {
    return await readLimitedBody(res.body, policy.maxBytes, tooBig);
  } catch (err) {
    if (isUserError(err)) throw err;
    throw new UserError('bad_image', `The download of "${a.name}" from Discord broke off. Please try again.`);
  }
}
