/**
 * The playground's HTTP surface against the real app (createApp on the built-in simulator):
 * submit, live events, results, reruns, permissions, cancel, delete, and the guards that keep other
 * web sites from driving a page that has no login.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app/create-app.ts';
import { hostAllowed, startPlayground, type Playground } from '../../../src/bot/playground/playground-server.ts';
import type { FeedMessage } from '../../../src/bot/playground/job-feed.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'easel-pg-api-'));
let app: Awaited<ReturnType<typeof createApp>>;
let pg: Playground;
let photo: Buffer;

beforeAll(async () => {
  const config = defaultConfig({ dataDir: tmp, simulator: { stepMs: 5, previews: true }, playground: { port: 0 }, limits: { perUserRunning: 1 } });
  app = await createApp(config);
  // Keep only one result's files in memory, so older galleries are rendered again on request.
  pg = await startPlayground(app, config.playground, { maxRenderedResults: 1 });
  photo = await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 30, g: 140, b: 200 } } })
    .composite([{ input: await sharp({ create: { width: 32, height: 32, channels: 3, background: '#f5c542' } }).png().toBuffer(), left: 10, top: 10 }])
    .png()
    .toBuffer();
});

afterAll(async () => {
  await pg?.close();
  await app?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const alice = { 'x-easel-user': 'alice-1', 'x-easel-name': 'Alice' };
const bob = { 'x-easel-user': 'bob-2', 'x-easel-name': 'Bob' };

function submitForm(command: string, image: Buffer | null, extra: Record<string, string> = {}): FormData {
  const form = new FormData();
  form.set('command', command);
  for (const [k, v] of Object.entries(extra)) form.set(k, v);
  if (image) form.set('image', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'photo.png');
  return form;
}

async function post(p: string, body: FormData | object, headers: Record<string, string> = alice) {
  const isForm = body instanceof FormData;
  const res = await fetch(new URL(p, pg.url), {
    method: 'POST',
    headers: isForm ? headers : { ...headers, 'content-type': 'application/json' },
    body: isForm ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & Partial<Extract<FeedMessage, { type: 'job' }>> };
}

/** Collect server-sent events until `until` says stop. `ready` resolves once the stream is open. */
function watchEvents(until: (m: FeedMessage, all: FeedMessage[]) => boolean, timeoutMs = 20_000): Promise<FeedMessage[]> & { ready: Promise<void> } {
  let opened!: () => void;
  const ready = new Promise<void>((r) => (opened = r));
  const done = new Promise<FeedMessage[]>((resolve, reject) => {
    const seen: FeedMessage[] = [];
    const req = http.get(new URL('/api/events', pg.url), (res) => {
      opened();
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (!data) continue;
          const m = JSON.parse(data) as FeedMessage;
          seen.push(m);
          if (until(m, seen)) {
            clearTimeout(timer);
            req.destroy();
            resolve(seen);
          }
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`timed out; saw ${seen.map((m) => (m.type === 'job' ? `${m.job.id.slice(0, 6)}:${m.progress?.type ?? m.job.state}${m.result ? '+result' : ''}` : m.type)).join(', ')}`));
    }, timeoutMs);
  });
  return Object.assign(done, { ready });
}

const doneWithResult = (id: string) => (m: FeedMessage) => m.type === 'job' && m.job.id === id && Boolean(m.result);

describe('playground API over the real app', () => {
  it('serves the page with a content security policy and says simulated in the status', async () => {
    const res = await fetch(pg.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain('<script type="module" src="/app.js">');
    const status = await (await fetch(new URL('/api/status', pg.url))).json();
    expect(status.simulated).toBe(true);
    const commands = await (await fetch(new URL('/api/commands', pg.url))).json();
    expect(commands.map((c: { name: string }) => c.name)).toContain('restyle');
  });

  it('runs /restyle: queue, progress with previews, a rendered result, full-size PNG', async () => {
    const submitted = await post('/api/jobs', submitForm('restyle', photo, { text: 'a lighthouse at dusk', options: JSON.stringify({ steps: 8 }) }));
    expect(submitted.status).toBe(202);
    const id = submitted.body.job!.id;
    expect(submitted.body.job!.author).toEqual({ userId: 'alice-1', displayName: 'Alice' });
    const events = await watchEvents(doneWithResult(id));
    const mine = events.filter((m): m is Extract<FeedMessage, { type: 'job' }> => m.type === 'job' && m.job.id === id);
    const kinds = mine.map((m) => m.progress?.type).filter(Boolean);
    expect(kinds).toContain('running');
    expect(mine.some((m) => m.progress?.preview?.startsWith('data:image/'))).toBe(true);
    const final = mine[mine.length - 1];
    expect(final.job.params.prompt).toContain('lighthouse');
    expect(final.result!.summary.join('\n')).toMatch(/seed/i);
    expect(final.result!.actions.map((a) => a.action)).toEqual(expect.arrayContaining(['reroll', 'subtle', 'strong', 'ladder', 'edit', 'delete']));
    const file = await fetch(new URL(final.result!.files[0].url, pg.url));
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toMatch(/^image\//);
    const meta = await sharp(Buffer.from(await file.arrayBuffer())).metadata();
    expect(meta.width).toBeGreaterThan(0);
    const full = await fetch(new URL(final.result!.outputs[0].url, pg.url));
    expect(full.headers.get('content-type')).toBe('image/png');
    const input = await fetch(new URL(final.job.inputs[0].url, pg.url));
    expect(input.status).toBe(200);
  });

  it('reroll by anyone, delete only by the author (default policy), with friendly refusals', async () => {
    const first = await post('/api/jobs', submitForm('restyle', photo, { options: JSON.stringify({ steps: 4, seed: 1234 }) }));
    const id = first.body.job!.id;
    await watchEvents(doneWithResult(id));

    const reroll = await post(`/api/jobs/${id}/rerun`, { action: 'reroll' }, bob);
    expect(reroll.status).toBe(202);
    expect(reroll.body.job!.parentId).toBe(id);
    expect(reroll.body.job!.action).toBe('reroll');
    expect(reroll.body.job!.params.seed).not.toBe(1234);
    await watchEvents(doneWithResult(reroll.body.job!.id));

    const bobDelete = await post(`/api/jobs/${id}/delete`, {}, bob);
    expect(bobDelete.status).toBe(403);
    expect(String(bobDelete.body.error)).toMatch(/Only the person who started this job/);

    const watch = watchEvents((m) => m.type === 'deleted' && m.jobId === id);
    await watch.ready;
    expect((await post(`/api/jobs/${id}/delete`, {}, alice)).status).toBe(200);
    expect((await watch).some((m) => m.type === 'deleted')).toBe(true);
    const feed = (await (await fetch(new URL('/api/feed', pg.url))).json()) as FeedMessage[];
    expect(feed.some((m) => m.type === 'job' && m.job.id === id)).toBe(false);
    expect((await fetch(new URL(`/api/jobs/${id}`, pg.url))).status).toBe(404);
    expect((await fetch(new URL(`/api/jobs/${id}/files/0`, pg.url))).status).toBe(404);

    const bad = await post(`/api/jobs/${reroll.body.job!.id}/rerun`, { action: 'explode' });
    expect(bad.status).toBe(400);
    expect(String(bad.body.error)).toContain('Unknown action');
  });

  it('still serves an older result after its files were let go', async () => {
    const feed = (await (await fetch(new URL('/api/feed', pg.url))).json()) as FeedMessage[];
    const withResults = feed.filter((m): m is Extract<FeedMessage, { type: 'job' }> => m.type === 'job' && Boolean(m.result));
    expect(withResults.length).toBeGreaterThanOrEqual(2);
    for (const m of withResults) {
      const res = await fetch(new URL(m.result!.files[0].url, pg.url));
      expect(res.status).toBe(200);
      expect((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width).toBeGreaterThan(0);
    }
  });

  it('edit reruns with the changed options', async () => {
    const first = await post('/api/jobs', submitForm('restyle', photo, { options: JSON.stringify({ steps: 4 }) }));
    await watchEvents(doneWithResult(first.body.job!.id));
    const edited = await post(`/api/jobs/${first.body.job!.id}/rerun`, { action: 'edit', edits: { prompt: 'a red barn', denoise: 0.35 } });
    expect(edited.status).toBe(202);
    expect(edited.body.job!.params).toMatchObject({ prompt: 'a red barn', denoise: 0.35 });
    await watchEvents(doneWithResult(edited.body.job!.id));
  });

  it('shows the queue position of a job waiting behind another', async () => {
    const a = await post('/api/jobs', submitForm('restyle', photo, { options: JSON.stringify({ steps: 40 }) }));
    const b = await post('/api/jobs', submitForm('restyle', photo, { options: JSON.stringify({ steps: 4 }) }));
    expect(b.status).toBe(202);
    // The reply to the submission already carries the queue state the page shows.
    expect(b.body.progress?.type).toBe('queued');
    expect(b.body.progress?.position).toBeGreaterThanOrEqual(1);
    expect(b.body.progress?.lines.join(' ')).toMatch(/Queued/);
    const seenB = watchEvents(doneWithResult(b.body.job!.id));
    expect((await post(`/api/jobs/${a.body.job!.id}/cancel`, {})).status).toBe(200);
    await seenB;
  });

  it('cancels a running job', async () => {
    const started = await post('/api/jobs', submitForm('restyle', photo, { options: JSON.stringify({ steps: 60 }) }));
    const id = started.body.job!.id;
    const events = watchEvents((m) => m.type === 'job' && m.job.id === id && m.job.state === 'cancelled');
    const cancelled = await post(`/api/jobs/${id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    const seen = await events;
    const last = seen[seen.length - 1] as Extract<FeedMessage, { type: 'job' }>;
    expect(last.progress?.lines.join(' ')).toMatch(/Cancelled/);
  });

  it('buttons act only on playground jobs', async () => {
    const image = await app.submit({
      command: 'restyle',
      options: { steps: 4 },
      images: [photo],
      actor: { platform: 'discord', userId: 'carol', channelId: 'general' },
    });
    const refused = await post(`/api/jobs/${image.id}/rerun`, { action: 'reroll' });
    expect(refused.status).toBe(404);
    expect((await fetch(new URL(`/api/jobs/${image.id}/inputs/0`, pg.url))).status).toBe(404);
    const feed = (await (await fetch(new URL('/api/feed', pg.url))).json()) as FeedMessage[];
    expect(feed.some((m) => m.type === 'job' && m.job.id === image.id)).toBe(false);
  });

  it('refuses bad submissions with messages a person can act on', async () => {
    const noImage = await post('/api/jobs', submitForm('restyle', null));
    expect(noImage.status).toBe(400);
    expect(noImage.body.error).toMatch(/needs an image/);

    const notImage = await post('/api/jobs', submitForm('restyle', Buffer.from('hello, I am a text file')));
    expect(notImage.status).toBe(400);
    expect(notImage.body.code).toBe('bad_image');

    const badOption = await post('/api/jobs', submitForm('restyle', photo, { options: JSON.stringify({ denoise: 7 }) }));
    expect(badOption.status).toBe(400);
    expect(badOption.body.code).toBe('bad_option');
    expect(badOption.body.error).toMatch(/denoise/);

    const noUser = await post('/api/jobs', submitForm('restyle', photo), {});
    expect(noUser.status).toBe(400);
    expect(noUser.body.error).toMatch(/X-Easel-User/);

    const oddName = await post('/api/jobs', submitForm('paint', photo), { 'x-easel-user': 'dave-4', 'x-easel-name': '%E0%A4%A' });
    expect(oddName.status).toBe(400);
    expect(oddName.body.error).toMatch(/Pick a command/);

    const unknown = await post('/api/jobs', submitForm('paint', photo));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/Pick a command/);
  });

  it('answers only to localhost and refuses changes from other sites', async () => {
    const url = new URL(pg.url);
    const viaHost = await new Promise<number>((resolve, reject) => {
      http.get({ host: url.hostname, port: url.port, path: '/api/status', headers: { host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(viaHost).toBe(403);
    expect(hostAllowed('localhost:7860', '127.0.0.1')).toBe(true);
    expect(hostAllowed('[::1]:7860', '127.0.0.1')).toBe(true);
    expect(hostAllowed('192.168.1.20:7860', '0.0.0.0')).toBe(true);
    expect(hostAllowed('easel.lan:7860', 'easel.lan')).toBe(true);
    expect(hostAllowed('evil.example:7860', '0.0.0.0')).toBe(false);
    expect(hostAllowed('', '127.0.0.1')).toBe(false);
    const crossSite = await fetch(new URL('/api/jobs', pg.url), { method: 'POST', headers: { ...alice, origin: 'http://evil.example' }, body: submitForm('restyle', photo) });
    expect(crossSite.status).toBe(403);
    const nullOrigin = await fetch(new URL('/api/jobs', pg.url), { method: 'POST', headers: { ...alice, origin: 'null' }, body: submitForm('restyle', photo) });
    expect(nullOrigin.status).toBe(403);
  });
});
