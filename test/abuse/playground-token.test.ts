/**
 * Issue 10, finding 8: the playground off loopback. It refuses to listen on a non-loopback address
 * without playground.token, and with a token every API call needs it (the page itself stays public).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EaselApp } from '../../src/app/create-app.ts';
import { startPlayground, type Playground } from '../../src/bot/playground/playground-server.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { configSecrets } from '../../src/config/secrets.ts';
import { failOnUnhandledRejections, removeDir, tempDir, testConfig, testPicture } from '../e2e/app/app-harness.ts';

failOnUnhandledRejections();

const TOKEN = 'pg-3f9c2a7e41d84b0a9c6e5d21f7a8b3c4';
let dir: string;
let app: EaselApp;
let pg: Playground;

beforeAll(async () => {
  dir = tempDir('easel-abuse-pg-token-');
  const config = testConfig(dir, { playground: { port: 0 } });
  app = await createApp(config);
  pg = await startPlayground(app, { ...config.playground, token: TOKEN });
});

afterAll(async () => {
  await pg?.close();
  await app?.close();
  removeDir(dir);
});

const alice = { 'x-easel-user': 'alice-1', 'x-easel-name': 'Alice' };
const bearer = { authorization: `Bearer ${TOKEN}` };

async function submit(headers: Record<string, string>) {
  const form = new FormData();
  form.set('command', 'restyle');
  form.set('options', JSON.stringify({ steps: 4 }));
  form.set('image', new Blob([new Uint8Array(await testPicture(64, 48))], { type: 'image/png' }), 'p.png');
  return fetch(new URL('/api/jobs?command=restyle', pg.url), { method: 'POST', headers, body: form });
}

describe('playground access token', () => {
  it('refuses to listen on a non-loopback address without a token, naming the setting', async () => {
    for (const host of ['0.0.0.0', '::']) {
      await expect(startPlayground(app, { enabled: true, host, port: 0 })).rejects.toThrow(/playground\.token \(EASEL_PLAYGROUND_TOKEN\)/);
    }
  });

  it('loads the token from EASEL_PLAYGROUND_TOKEN as a secret the logger scrubs', () => {
    const c = loadConfig({ file: false, env: { EASEL_PLAYGROUND_HOST: '0.0.0.0', EASEL_PLAYGROUND_TOKEN: TOKEN }, cwd: dir });
    expect(c.playground.token).toBe(TOKEN);
    expect(configSecrets(c)).toContain(TOKEN);
  });

  it('serves the page to anyone, but every API call needs the token', async () => {
    expect((await fetch(pg.url)).status).toBe(200);
    expect((await fetch(new URL('/app.js', pg.url))).status).toBe(200);
    for (const p of ['/api/status', '/api/feed', '/api/commands', '/api/events']) {
      const res = await fetch(new URL(p, pg.url), { headers: alice });
      expect(res.status, p).toBe(401);
      const body = await res.json();
      expect(body.error).toMatch(/\?token=/);
      expect(JSON.stringify(body)).not.toContain(TOKEN);
    }
    const wrong = await fetch(new URL('/api/status', pg.url), { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    expect((await fetch(new URL('/api/status', pg.url), { headers: bearer })).status).toBe(200);
    expect((await fetch(new URL('/api/status', pg.url), { headers: { 'x-easel-token': TOKEN } })).status).toBe(200);
  });

  it('without the token nobody can submit, or act on (delete) another user\'s job', async () => {
    const refused = await submit(alice);
    expect(refused.status).toBe(401);
    const accepted = await submit({ ...alice, ...bearer });
    expect(accepted.status).toBe(202);
    const { job } = (await accepted.json()) as { job: { id: string } };
    const del = await fetch(new URL(`/api/jobs/${job.id}/delete`, pg.url), { method: 'POST', headers: alice });
    expect(del.status).toBe(401);
    expect((await app.getJob(job.id))?.platformRefs?.deleted).toBeUndefined();
  });

  it('opening the page once with ?token= sets a cookie that the page then uses', async () => {
    const bad = await fetch(new URL('/?token=nope', pg.url), { redirect: 'manual' });
    expect(bad.status).toBe(401);
    const good = await fetch(new URL(`/?token=${TOKEN}`, pg.url), { redirect: 'manual' });
    expect(good.status).toBe(303);
    expect(good.headers.get('location')).toBe('/');
    const cookie = good.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const res = await fetch(new URL('/api/status', pg.url), { headers: { cookie: cookie.split(';')[0] } });
    expect(res.status).toBe(200);
  });
});
