/**
 * Downloading a user's Slack file (url_private) with the bot token. Slack does not answer 401 when the
 * token lacks `files:read`: it answers 200 with an HTML sign-in page (or redirects to one). We detect
 * that and say how to fix it, fetch only from Slack's file hosts (the token must never go elsewhere),
 * follow redirects by hand (only to Slack hosts), and stop at a size limit.
 */
import { UserError } from '../../commands/errors.ts';
import type { SlackFileRef } from './slack-modal.ts';
import { readLimitedBody } from '../shared/read-limited-body.ts';

export const SIGN_IN_PAGE_MESSAGE =
  'Easel could not read that file: Slack answered with a sign-in page. Add the files:read scope and reinstall the app.';

export interface DownloadOptions {
  botToken: string;
  /** Host names allowed besides files.slack.com (tests: the fake's 127.0.0.1). */
  extraHosts?: string[];
  maxBytes: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const SLACK_FILE_HOSTS = ['files.slack.com'];
const IMAGE_EXTENSIONS = /\.(png|jpe?g|webp|gif|bmp|tiff?|avif|heic)$/i;

/** Is this Slack file an image we could use? (mimetype first, then the name.) */
export function isImageFile(file: SlackFileRef): boolean {
  if (file.mimetype) return file.mimetype.startsWith('image/');
  return IMAGE_EXTENSIONS.test(file.name ?? '');
}

export function allowedFileHost(url: URL, extraHosts: string[] = []): boolean {
  const host = url.hostname.toLowerCase();
  if (SLACK_FILE_HOSTS.includes(host)) return url.protocol === 'https:';
  return extraHosts.map((h) => h.toLowerCase()).includes(host) && (url.protocol === 'https:' || url.protocol === 'http:');
}

function looksLikeHtml(head: Buffer): boolean {
  const text = head.subarray(0, 512).toString('utf8').trimStart().toLowerCase();
  return text.startsWith('<!doctype html') || text.startsWith('<html') || text.startsWith('<head') || text.startsWith('<!--');
}

function tooLarge(name: string, maxBytes: number): UserError {
  return new UserError('image_too_large', `${name} is too large: Easel takes images up to ${Math.floor(maxBytes / (1024 * 1024))} MB.`);
}

/** Fetch the bytes of a Slack file. Throws UserError with a message the user can act on. */
export async function downloadSlackFile(file: SlackFileRef, opts: DownloadOptions): Promise<Buffer> {
  const name = file.name ?? 'that file';
  const raw = file.url_private_download ?? file.url_private;
  if (!raw) throw new UserError('bad_image', `Easel could not read ${name}: Slack gave no download link for it.`);
  if (file.size !== undefined && file.size > opts.maxBytes) throw tooLarge(name, opts.maxBytes);
  const doFetch = opts.fetch ?? fetch;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError('bad_image', `Easel could not read ${name}: its link is not valid.`);
  }
  for (let hop = 0; hop < 4; hop++) {
    if (!allowedFileHost(url, opts.extraHosts)) {
      throw new UserError('bad_image', `Easel only reads files stored on Slack; ${name} points to ${url.hostname}.`);
    }
    const signal = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
    let res: Response;
    try {
      res = await doFetch(url, { headers: { Authorization: `Bearer ${opts.botToken}` }, redirect: 'manual', signal });
    } catch {
      throw new UserError('bad_image', `Easel could not download ${name} from Slack (network error). Try again.`);
    }
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      await res.body?.cancel();
      if (!location) break;
      const next = new URL(location, url);
      // Slack sends people without a session to its sign-in page; a file never lives there.
      if (!allowedFileHost(next, opts.extraHosts) || /signin|login/i.test(next.pathname)) {
        throw new UserError('bad_image', SIGN_IN_PAGE_MESSAGE);
      }
      url = next;
      continue;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new UserError('bad_image', `Easel could not download ${name}: Slack answered ${res.status}. Try uploading it again.`);
    }
    const type = (res.headers.get('content-type') ?? '').toLowerCase();
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      await res.body?.cancel();
      throw tooLarge(name, opts.maxBytes);
    }
    const data = await readLimited(res, opts.maxBytes, name);
    if (type.includes('text/html') || looksLikeHtml(data)) throw new UserError('bad_image', SIGN_IN_PAGE_MESSAGE);
    return data;
  }
  throw new UserError('bad_image', `Easel could not download ${name}: Slack kept redirecting.`);
}

function readLimited(res: Response, maxBytes: number, name: string): Promise<Buffer> {
  return readLimitedBody(res.body, maxBytes, () => tooLarge(name, maxBytes));
}
