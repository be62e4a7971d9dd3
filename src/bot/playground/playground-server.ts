/**
 * The playground: a local web page that works like a chat channel, as a third front end over the
 * same Easel interface (no special paths). Plain HTML/CSS/JS from ./public, served by node:http;
 * live job updates over server-sent events. It listens on 127.0.0.1 by default and refuses requests
 * from other sites (Host and Origin checks); off loopback it needs playground.token (see playground-auth).
 */
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { AdmissionTicket, Easel } from '../../app/types.ts';
import { isUserError } from '../../commands/errors.ts';
import { COMMAND_NAMES, type CommandName, type RerunAction } from '../../commands/types.ts';
import { isLoopbackAddress } from '../../config/loopback.ts';
import type { EaselConfig } from '../../config/types.ts';
import type { Actor } from '../../jobs/types.ts';
import { HttpError, readForm, readJson, sendBytes, sendJson } from './http-helpers.ts';
import { JobFeed } from './job-feed.ts';
import { PlaygroundAuth } from './playground-auth.ts';

const PUBLIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');
const STATIC: Record<string, { file: string; mime: string }> = {
  '/': { file: 'index.html', mime: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', mime: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', mime: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', mime: 'image/svg+xml' },
};
const RERUN_ACTIONS: RerunAction[] = ['reroll', 'subtle', 'strong', 'ladder', 'vary', 'upscale', 'edit'];
export const PLAYGROUND_CHANNEL = 'playground';
/** Refusals that say "not now" rather than "not this": 429 Too Many Requests. */
const TRY_LATER = new Set(['queue_full', 'too_many_jobs', 'cooldown', 'busy']);

export interface PlaygroundOptions {
  logger?: Logger;
  /** Largest request body (all images of one submission), bytes. Default 64 MiB; intake applies the real limits. */
  maxUploadBytes?: number;
  /** Finished results whose encoded files stay in memory (default 20; older ones are rendered again on request). */
  maxRenderedResults?: number;
  /** How many of the page's recent jobs (from the store) it shows again after a restart. Default 50. */
  historyJobs?: number;
}

/** Recent jobs shown again after a restart, unless PlaygroundOptions.historyJobs says otherwise. */
export const PLAYGROUND_HISTORY_JOBS = 50;

export interface Playground {
  url: string;
  close(): Promise<void>;
}

/** Who is asking: a per-browser id the page keeps in localStorage, plus the name typed on the page. */
function actorOf(req: IncomingMessage): Actor {
  const userId = String(req.headers['x-easel-user'] ?? '');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(userId)) throw new HttpError(400, 'Missing or bad X-Easel-User header (reload the page).');
  let displayName = '';
  try {
    displayName = decodeURIComponent(String(req.headers['x-easel-name'] ?? '')).trim().slice(0, 40);
  } catch {
    displayName = ''; // a malformed name is no reason to refuse the request
  }
  if (!displayName) displayName = 'you';
  return { platform: 'playground', userId, displayName, channelId: PLAYGROUND_CHANNEL };
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host === '::1' || host.endsWith('.localhost');
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined; // "null" (sandboxed frames, file: pages) is never this page
  }
}

/** Is this Host header one the playground answers to? */
export function hostAllowed(hostHeader: string, configuredHost: string): boolean {
  const name = hostHeader.replace(/:\d+$/, '').toLowerCase();
  if (!name) return false;
  if (isLoopbackHost(name) || name === configuredHost.toLowerCase()) return true;
  // An IP literal cannot be a rebound DNS name.
  return isIP(name.replace(/^\[|\]$/g, '')) !== 0;
}

export async function startPlayground(easel: Easel, config: EaselConfig['playground'], opts: PlaygroundOptions = {}): Promise<Playground> {
  if (!config.token && !isLoopbackAddress(config.host)) {
    throw new Error(
      `The playground will not listen on ${config.host} without an access token: anyone who can reach it could act as any user. ` +
        'Set playground.token (EASEL_PLAYGROUND_TOKEN) to a long random value, or keep playground.host on 127.0.0.1.',
    );
  }
  const auth = new PlaygroundAuth(config.token);
  const historyJobs = Math.max(0, Math.floor(opts.historyJobs ?? PLAYGROUND_HISTORY_JOBS));
  const feed = new JobFeed(easel, { logger: opts.logger, maxRenderedResults: opts.maxRenderedResults, maxJobs: Math.max(100, historyJobs) });
  // The page's earlier jobs are in the store: show them again (with their buttons) after a restart.
  // Their results are rendered in the background; pages that are open get each one as it is ready.
  let history: Awaited<ReturnType<Easel['recentJobs']>> = [];
  try {
    history = historyJobs > 0 ? await easel.recentJobs('playground', historyJobs) : [];
  } catch (err) {
    opts.logger?.error({ err }, 'playground: could not load earlier jobs; the page starts empty');
  }
  const restoring = feed.restore(history).catch((err: unknown) => opts.logger?.error({ err }, 'playground: restoring earlier jobs failed'));
  const maxUpload = opts.maxUploadBytes ?? 64 * 1024 * 1024;
  const sseClients = new Set<ServerResponse>();

  const checkRequestSource = (req: IncomingMessage) => {
    // DNS-rebinding guard: answer only to localhost names, IP addresses and the configured host name,
    // never to some other DNS name that happens to point here.
    if (!hostAllowed(req.headers.host ?? '', config.host)) throw new HttpError(403, 'The playground only answers on localhost (or an IP address).');
    // Cross-site guard for changes: a browser sends Origin; it must be this page.
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const origin = req.headers.origin;
      if (origin !== undefined && originHost(origin) !== req.headers.host) throw new HttpError(403, 'Requests from other sites are refused.');
    }
  };

  const getEntryJob = async (id: string) => {
    const job = feed.get(id)?.job ?? (await easel.getJob(id));
    if (!job || job.actor.platform !== 'playground' || job.platformRefs?.deleted) throw new HttpError(404, 'That job is gone (deleted or expired).', 'not_found');
    return job;
  };

  /** The upload of an admitted submission: read the form (stopped if the ticket runs out), then submit. */
  const submitForm = async (
    req: IncomingMessage,
    res: ServerResponse,
    actor: Actor,
    ticket: AdmissionTicket,
    named: CommandName | null,
    pickCommand: () => HttpError,
  ) => {
    const form = await readForm(req, maxUpload, ticket.signal);
    const command = (String(form.get('command') ?? '') || named || '') as CommandName;
    if (named && command !== named) throw new HttpError(400, `The form is for /${command} but the address says /${named}; send it again.`);
    const spec = easel.commands.find((c) => c.name === command);
    if (!spec) throw pickCommand();
    let options: Record<string, unknown> = {};
    const text = String(form.get('text') ?? '').trim();
    if (text) options = easel.parseText(command, text);
    const raw = form.get('options');
    if (raw) {
      try {
        const parsed = JSON.parse(String(raw)) as unknown;
        if (parsed && typeof parsed === 'object') options = { ...options, ...(parsed as Record<string, unknown>) };
      } catch {
        throw new HttpError(400, 'The options could not be read.');
      }
    }
    const images: Buffer[] = [];
    for (const name of spec.images) {
      const entry = form.get(name);
      if (!entry || typeof entry === 'string' || entry.size === 0) {
        throw new HttpError(400, `/${command} needs ${spec.images.length > 1 ? `${spec.images.length} images` : 'an image'}: attach ${name === 'image' ? 'one' : `the ${name.replace(/(\d)$/, ' $1')}`} first.`, 'bad_image');
      }
      images.push(Buffer.from(await entry.arrayBuffer()));
    }
    const job = await easel.submit({ command, options, images, actor, ticket });
    feed.track(job);
    return sendJson(res, 202, feed.message(feed.get(job.id) ?? { job }));
  };

  const routes = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const method = req.method ?? 'GET';
    const p = url.pathname;

    // `/?token=…` once: the token goes into a cookie and out of the address bar.
    if (p === '/' && method === 'GET' && url.searchParams.has('token')) return auth.signIn(res, url.searchParams.get('token') ?? '');
    // The page itself is public; everything under /api/ needs the token when one is configured.
    if (p.startsWith('/api/')) auth.check(req);

    const file = STATIC[p];
    if (file && method === 'GET') {
      const data = await readFile(path.join(PUBLIC_DIR, file.file));
      res.writeHead(200, {
        'content-type': file.mime,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        ...(file.file === 'index.html'
          ? { 'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'" }
          : {}),
      });
      res.end(data);
      return;
    }

    if (p === '/api/commands' && method === 'GET') return sendJson(res, 200, easel.commands);
    if (p === '/api/status' && method === 'GET') return sendJson(res, 200, await easel.status());
    if (p === '/api/feed' && method === 'GET') return sendJson(res, 200, feed.snapshot());
    if (p === '/api/choices' && method === 'GET') {
      const command = url.searchParams.get('command') as CommandName;
      if (!COMMAND_NAMES.includes(command)) throw new HttpError(400, 'Unknown command.');
      return sendJson(res, 200, easel.choices(command, url.searchParams.get('option') ?? '', url.searchParams.get('typed') ?? undefined));
    }
    if (p === '/api/events' && method === 'GET') return openEventStream(req, res);

    if (p === '/api/jobs' && method === 'POST') {
      const actor = actorOf(req);
      const pickCommand = () => new HttpError(400, `Pick a command (${easel.commands.map((c) => c.name).join(', ')}).`);
      // Admission before a byte of the upload is read: with ?command= (what the page sends) the command
      // policy too, otherwise the queue and per-user limits now and the command's policy before decoding.
      const named = url.searchParams.get('command');
      if (named !== null && !easel.commands.some((c) => c.name === named)) throw pickCommand();
      const ticket = await easel.admit({ command: (named ?? undefined) as CommandName | undefined, actor });
      try {
        return await submitForm(req, res, actor, ticket, named as CommandName | null, pickCommand);
      } finally {
        ticket.release(); // a no-op once submit has used it
      }
    }

    const m = /^\/api\/jobs\/([^/]+)(?:\/(\w+)(?:\/(\d+))?)?$/.exec(p);
    if (m) {
      let id: string;
      try {
        id = decodeURIComponent(m[1]);
      } catch {
        throw new HttpError(404, 'That job address is not valid (it has a broken % escape); open the job from the page again.', 'not_found');
      }
      const sub = m[2];
      const index = m[3] !== undefined ? Number(m[3]) : undefined;
      if (!sub && method === 'GET') {
        const job = await getEntryJob(id);
        const entry = feed.get(id);
        return sendJson(res, 200, entry ? feed.message(entry) : feed.message({ job }));
      }
      if ((sub === 'inputs' || sub === 'outputs') && index !== undefined && method === 'GET') {
        const job = await getEntryJob(id);
        const image = (sub === 'inputs' ? job.inputs : job.outputs ?? [])[index];
        if (!image) throw new HttpError(404, 'No such image.', 'not_found');
        if (sub === 'outputs' && url.searchParams.get('size') === 'input') {
          // "Match input size": the core resizes the result to the input's size and aspect.
          const rendered = await easel.render(job, { maxFileBytes: Number.MAX_SAFE_INTEGER, maxFiles: 1000, outputSize: 'input' });
          const single = rendered.files[(job.outputs?.length ?? 0) > 1 ? index + 1 : index];
          if (!single) throw new HttpError(404, 'No such image.', 'not_found');
          return sendBytes(res, single.data, single.mime, { 'content-disposition': `inline; filename="${single.name.replace(/"/g, '')}"` });
        }
        return sendBytes(res, await easel.readImage(image), image.mime);
      }
      if (sub === 'files' && index !== undefined && method === 'GET') {
        const f = await feed.file(id, index);
        if (!f) throw new HttpError(404, 'No such file.', 'not_found');
        return sendBytes(res, f.data, f.mime, { 'content-disposition': `inline; filename="${f.name.replace(/"/g, '')}"` });
      }
      // Buttons act only on the playground's own jobs (never on a Discord or Slack job by id).
      if (method === 'POST' && (sub === 'rerun' || sub === 'cancel' || sub === 'delete')) await getEntryJob(id);
      if (sub === 'rerun' && method === 'POST') {
        const actor = actorOf(req);
        const body = await readJson(req);
        const action = body.action as RerunAction;
        if (!RERUN_ACTIONS.includes(action)) throw new HttpError(400, `Unknown action "${String(body.action)}".`);
        const idx = body.index === undefined ? undefined : Number(body.index);
        const edits = body.edits && typeof body.edits === 'object' ? (body.edits as Record<string, unknown>) : undefined;
        const job = await easel.rerun({ jobId: id, action, actor, index: idx, edits });
        feed.track(job);
        return sendJson(res, 202, feed.message(feed.get(job.id) ?? { job }));
      }
      if (sub === 'cancel' && method === 'POST') {
        const job = await easel.cancel(id, actorOf(req));
        return sendJson(res, 200, { id: job.id, state: job.state });
      }
      if (sub === 'delete' && method === 'POST') {
        await easel.remove(id, actorOf(req));
        feed.markDeleted(id);
        return sendJson(res, 200, { id, deleted: true });
      }
    }
    throw new HttpError(404, 'Not found.', 'not_found');
  };

  const openEventStream = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    sseClients.add(res);
    const send = (m: unknown) => res.write(`data: ${JSON.stringify(m)}\n\n`);
    for (const m of feed.snapshot()) send(m);
    const off = feed.listen(send);
    const ping = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(ping);
      off();
      sseClients.delete(res);
    });
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://playground');
    Promise.resolve()
      .then(() => {
        checkRequestSource(req);
        return routes(req, res, url);
      })
      .catch((err: unknown) => {
        if (res.headersSent) {
          res.end();
          return;
        }
        // Refused before its upload was read (or halfway): answer and close the connection rather
        // than read and throw away the rest of a big body.
        if (!req.complete) res.setHeader('connection', 'close');
        if (isUserError(err)) {
          const status =
            err.code === 'not_found' ? 404 : err.code === 'forbidden' ? 403 : TRY_LATER.has(err.code) ? 429 : 400;
          return sendJson(res, status, { error: err.message, code: err.code });
        }
        if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message, code: err.code });
        opts.logger?.error({ err, path: url.pathname }, 'playground request failed');
        sendJson(res, 500, { error: 'Something went wrong on the server; the details are in its log.', code: 'internal' });
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}/`;
  opts.logger?.info({ url }, 'playground listening: open it in a browser');

  return {
    url,
    async close() {
      feed.close();
      for (const res of sseClients) res.end();
      sseClients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await restoring; // it stops after the result being rendered, if any
    },
  };
}
