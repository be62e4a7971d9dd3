/**
 * Issue 10, finding 8 (minor): odd input to the playground gets a clear answer, never a 500 or a
 * silent success: a broken % escape in a job address, `__proto__` / `constructor` edits, and control
 * characters (NUL, U+0085) in a prompt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EaselApp } from '../../src/app/create-app.ts';
import { startPlayground, type Playground } from '../../src/bot/playground/playground-server.ts';
import { failOnUnhandledRejections, removeDir, tempDir, testConfig, testPicture } from '../e2e/app/app-harness.ts';

failOnUnhandledRejections();

let dir: string;
let app: EaselApp;
let pg: Playground;
let picture: Buffer;

beforeAll(async () => {
  dir = tempDir('easel-abuse-pg-input-');
  const config = testConfig(dir, { playground: { port: 0 } });
  app = await createApp(config);
  pg = await startPlayground(app, config.playground);
  picture = await testPicture(64, 48);
});

afterAll(async () => {
  await pg?.close();
  await app?.close();
  removeDir(dir);
});

const alice = { 'x-easel-user': 'alice-1', 'x-easel-name': 'Alice' };

async function submit(options: Record<string, unknown>) {
  const form = new FormData();
  form.set('command', 'restyle');
  form.set('options', JSON.stringify(options));
  form.set('image', new Blob([new Uint8Array(picture)], { type: 'image/png' }), 'p.png');
  const res = await fetch(new URL('/api/jobs?command=restyle', pg.url), { method: 'POST', headers: alice, body: form });
  return { status: res.status, body: (await res.json()) as { job: { id: string; params: Record<string, unknown> }; error?: string } };
}

async function edit(jobId: string, rawJson: string) {
  const res = await fetch(new URL(`/api/jobs/${jobId}/rerun`, pg.url), {
    method: 'POST',
    headers: { ...alice, 'content-type': 'application/json' },
    body: rawJson,
  });
  return { status: res.status, body: (await res.json()) as { error?: string; code?: string } };
}

describe('malformed input to the playground', () => {
  it('a broken % escape in a job address is a friendly 404, not a server error', async () => {
    for (const p of ['/api/jobs/%E0%A4%A', '/api/jobs/%zz/inputs/0', '/api/jobs/abc%/files/0']) {
      const res = await fetch(new URL(p, pg.url), { headers: alice });
      expect(res.status, p).toBe(404);
      const body = await res.json();
      expect(body.code).toBe('not_found');
      expect(body.error).not.toMatch(/went wrong on the server/);
    }
  });

  it('rejects __proto__, constructor and prototype edits with a clear error instead of accepting them silently', async () => {
    const { body } = await submit({ steps: 4, seed: 5, prompt: 'a quiet harbour' });
    const id = body.job.id;
    await new Promise<void>((resolve) => {
      const off = app.subscribe(id, (e) => {
        if (e.type === 'done' || e.type === 'failed') {
          queueMicrotask(() => off());
          resolve();
        }
      });
    });
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const res = await edit(id, `{"action":"edit","edits":{"${key}":{"denoise":0.1}}}`);
      expect(res.status, key).toBe(400);
      expect(res.body.code).toBe('bad_option');
      expect(res.body.error).toContain(`"${key}" is not an option name`);
    }
  });

  it('strips NUL, U+0085 and other control and separator characters from the prompt', async () => {
    const { status, body } = await submit({ steps: 4, prompt: 'a\u0000red\u0085fox\u2028in\u2029the\u202Esnow\u0007 \uD800x', negative: 'blur\u0000ry' });
    expect(status).toBe(202);
    expect(body.job.params.prompt).toBe('a red fox in the snow \uFFFDx');
    expect(body.job.params.negative).toBe('blur ry');
  });
});
