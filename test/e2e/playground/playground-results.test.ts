/**
 * What the playground's HTTP surface says about a result and a typo: a misspelt style typed in the text
 * box is refused with the same "did you mean" as the CLI (nothing is queued), a result states its size
 * against the input's and offers every image at the input's size, and a ladder's images can be varied
 * and upscaled one by one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app/create-app.ts';
import type { FeedMessage } from '../../../src/bot/playground/job-feed.ts';
import { startPlayground, type Playground } from '../../../src/bot/playground/playground-server.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';

type JobMessage = Extract<FeedMessage, { type: 'job' }>;

const tmp = mkdtempSync(path.join(tmpdir(), 'easel-pg-results-'));
let app: Awaited<ReturnType<typeof createApp>>;
let pg: Playground;
let photo: Buffer;
const me = { 'x-easel-user': 'carol-3', 'x-easel-name': 'Carol' };

beforeAll(async () => {
  const config = defaultConfig({ dataDir: tmp, simulator: { stepMs: 3, previews: false }, playground: { port: 0 } });
  app = await createApp(config);
  pg = await startPlayground(app, config.playground);
  photo = await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 30, g: 140, b: 200 } } }).png().toBuffer();
});

afterAll(async () => {
  await pg?.close();
  await app?.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function submit(text: string): Promise<{ status: number; body: Record<string, unknown> & Partial<JobMessage> }> {
  const form = new FormData();
  form.set('command', 'restyle');
  form.set('text', text);
  form.set('image', new Blob([new Uint8Array(photo)], { type: 'image/png' }), 'photo.png');
  const res = await fetch(new URL('/api/jobs', pg.url), { method: 'POST', headers: me, body: form });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & Partial<JobMessage> };
}

/** Poll the job until its result is rendered. */
async function finished(id: string): Promise<JobMessage> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const m = (await (await fetch(new URL(`/api/jobs/${id}`, pg.url))).json()) as JobMessage;
    if (m.result) return m;
    if (m.job.state === 'failed') throw new Error(`job failed: ${m.job.error?.message}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} has no result after 20 s`);
}

describe('playground results', { timeout: 60_000 }, () => {
  it('a misspelt style in the text box is refused with did-you-mean, and nothing is queued', async () => {
    const before = (await app.recentJobs('playground', 100)).length;
    for (const text of ['style watercolr', 'watercolr']) {
      const r = await submit(text);
      expect(r.status, text).toBe(400);
      expect(r.body.error, text).toMatch(/you gave "watercolr" \(did you mean watercolor\?\)/);
    }
    expect((await app.recentJobs('playground', 100)).length).toBe(before);
  });

  it('a result states its size and offers each image at the input size, made by the core', async () => {
    const r = await submit('watercolor steps 2');
    expect(r.status).toBe(202);
    const done = await finished(r.body.job!.id);
    const result = done.result!;
    const out = result.outputs[0];
    expect(result.summary).toContain(`Output: ${out.width}×${out.height}, the model's working size (your image: 96×64)`);
    expect(result.matched).toMatchObject({ width: 96, height: 64 });
    const res = await fetch(new URL(result.matched!.urls[0], pg.url));
    expect(res.status).toBe(200);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect({ width: meta.width, height: meta.height, format: meta.format }).toEqual({ width: 96, height: 64, format: 'png' });
  });

  it('a ladder result has V and U buttons for each of its images, and V2 of it runs', async () => {
    const r = await submit('anime steps 2');
    const parent = await finished(r.body.job!.id);
    const ladderRes = await fetch(new URL(`/api/jobs/${parent.job.id}/rerun`, pg.url), {
      method: 'POST',
      headers: { ...me, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'ladder' }),
    });
    expect(ladderRes.status).toBe(202);
    const ladder = await finished(((await ladderRes.json()) as JobMessage).job.id);
    const labels = ladder.result!.actions.map((a) => a.label);
    expect(labels).toEqual(expect.arrayContaining(['V1', 'V2', 'V3', 'V4', 'U1', 'U2', 'U3', 'U4']));
    expect(labels).not.toContain('Ladder');
    const vary = await fetch(new URL(`/api/jobs/${ladder.job.id}/rerun`, pg.url), {
      method: 'POST',
      headers: { ...me, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'vary', index: 2 }),
    });
    expect(vary.status).toBe(202);
    const varied = await finished(((await vary.json()) as JobMessage).job.id);
    expect(varied.job.command).toBe('variations');
  });
});
