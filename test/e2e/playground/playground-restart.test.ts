/**
 * After a restart the playground shows its earlier jobs again from the store: finished results with
 * their buttons (which keep working), cancelled ones with their reason, in the order they were made.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app/create-app.ts';
import { startPlayground, type Playground } from '../../../src/bot/playground/playground-server.ts';
import type { FeedMessage } from '../../../src/bot/playground/job-feed.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';

type JobMessage = Extract<FeedMessage, { type: 'job' }>;

const tmp = mkdtempSync(path.join(tmpdir(), 'easel-pg-restart-'));
const config = defaultConfig({ dataDir: tmp, simulator: { stepMs: 5 }, playground: { port: 0 } });
const alice = { 'x-easel-user': 'alice-1', 'x-easel-name': 'Alice' };
let app: Awaited<ReturnType<typeof createApp>> | undefined;
let pg: Playground | undefined;
let photo: Buffer;

beforeAll(async () => {
  photo = await sharp({ create: { width: 80, height: 64, channels: 3, background: { r: 200, g: 90, b: 40 } } }).png().toBuffer();
});

afterAll(async () => {
  await pg?.close();
  await app?.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function post(base: string, p: string, body: FormData | object) {
  const isForm = body instanceof FormData;
  const res = await fetch(new URL(p, base), {
    method: 'POST',
    headers: isForm ? alice : { ...alice, 'content-type': 'application/json' },
    body: isForm ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Partial<JobMessage> & Record<string, unknown> };
}

function restyle(options: object): FormData {
  const form = new FormData();
  form.set('command', 'restyle');
  form.set('options', JSON.stringify(options));
  form.set('image', new Blob([new Uint8Array(photo)], { type: 'image/png' }), 'photo.png');
  return form;
}

/** Follow the page's event stream (snapshot first, then changes) until every job `until` names is settled. */
function watchUntil(base: string, until: (latest: Map<string, JobMessage>) => boolean, timeoutMs = 20_000): Promise<Map<string, JobMessage>> {
  return new Promise((resolve, reject) => {
    const latest = new Map<string, JobMessage>();
    const req = http.get(new URL('/api/events', base), (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const data = buffer.slice(0, i).split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          buffer = buffer.slice(i + 2);
          if (!data) continue;
          const m = JSON.parse(data) as FeedMessage;
          if (m.type === 'job') latest.set(m.job.id, m);
          if (until(latest)) {
            clearTimeout(timer);
            req.destroy();
            resolve(latest);
          }
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`timed out; saw ${[...latest.values()].map((m) => `${m.job.id.slice(0, 6)}:${m.job.state}${m.result ? '+result' : ''}`).join(', ')}`));
    }, timeoutMs);
  });
}

const hasResult = (...ids: string[]) => (latest: Map<string, JobMessage>) => ids.every((id) => Boolean(latest.get(id)?.result));

describe('playground after a restart', () => {
  it('shows the earlier results again, in order, and their buttons still work', async () => {
    app = await createApp(config);
    pg = await startPlayground(app, config.playground);
    const first = await post(pg.url, '/api/jobs', restyle({ steps: 4, seed: 111, prompt: 'a harbour at dawn' }));
    expect(first.status).toBe(202);
    const older = first.body.job!.id;
    await watchUntil(pg.url, hasResult(older));
    const second = await post(pg.url, '/api/jobs', restyle({ steps: 4, seed: 222, prompt: 'a mill in the snow' }));
    const newer = second.body.job!.id;
    await watchUntil(pg.url, hasResult(newer));
    const third = await post(pg.url, '/api/jobs', restyle({ steps: 60 }));
    const stopped = third.body.job!.id;
    expect((await post(pg.url, `/api/jobs/${stopped}/cancel`, {})).status).toBe(200);
    await watchUntil(pg.url, (latest) => latest.get(stopped)?.job.state === 'cancelled');
    await pg.close();
    await app.close();

    // A new process over the same data folder.
    app = await createApp(config);
    pg = await startPlayground(app, config.playground);
    const base = pg.url;
    const seen = await watchUntil(base, hasResult(older, newer));
    expect(seen.get(older)!.result!.summary.join('\n')).toContain('111');
    expect(seen.get(newer)!.result!.summary.join('\n')).toContain('222');

    const feed = ((await (await fetch(new URL('/api/feed', base))).json()) as FeedMessage[]).filter((m): m is JobMessage => m.type === 'job');
    expect(feed.map((m) => m.job.id)).toEqual([older, newer, stopped]);
    expect(feed[0].job.params.prompt).toBe('a harbour at dawn');
    for (const m of feed.slice(0, 2)) {
      expect(m.job.state).toBe('done');
      expect(m.result!.actions.map((a) => a.action)).toEqual(expect.arrayContaining(['reroll', 'subtle', 'strong', 'edit', 'delete']));
      const file = await fetch(new URL(m.result!.files[0].url, base));
      expect(file.status).toBe(200);
      expect((await sharp(Buffer.from(await file.arrayBuffer())).metadata()).width).toBeGreaterThan(0);
    }
    expect(feed[2].job.state).toBe('cancelled');
    expect(feed[2].progress?.lines.join(' ')).toMatch(/Cancelled/);

    // The older result's reroll button works after the restart.
    const reroll = await post(base, `/api/jobs/${older}/rerun`, { action: 'reroll' });
    expect(reroll.status).toBe(202);
    expect(reroll.body.job!.parentId).toBe(older);
    expect(reroll.body.job!.params.prompt).toBe('a harbour at dawn');
    expect(reroll.body.job!.params.seed).not.toBe(111);
    const done = await watchUntil(base, hasResult(reroll.body.job!.id));
    expect([...done.keys()].slice(0, 4)).toEqual([older, newer, stopped, reroll.body.job!.id]);
  });
});
