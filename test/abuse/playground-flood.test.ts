/**
 * Issue 10, finding 2, through the playground's HTTP API: one user flooding gets quick refusals that
 * never read the upload, and nothing of a refused request reaches the disk.
 */
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EaselApp } from '../../src/app/create-app.ts';
import { startPlayground, type Playground } from '../../src/bot/playground/playground-server.ts';
import { failOnUnhandledRejections, removeDir, tempDir, testConfig, testPicture } from '../e2e/app/app-harness.ts';

failOnUnhandledRejections();

let dir: string;
let app: EaselApp;
let pg: Playground;

beforeAll(async () => {
  dir = tempDir('easel-abuse-pg-flood-');
  // Long steps: the first job keeps the host busy, so the others wait and count against the limit.
  const config = testConfig(dir, { simulator: { stepMs: 400 }, limits: { perUserWaiting: 2, concurrentUploads: 50, perUserUploads: 50 }, playground: { port: 0 } });
  app = await createApp(config);
  pg = await startPlayground(app, config.playground);
});

afterAll(async () => {
  app?.simulator?.release();
  await pg?.close();
  await app?.close();
  removeDir(dir);
});

const mallory = { 'x-easel-user': 'mallory-1', 'x-easel-name': 'Mallory' };

function imageFiles(): string[] {
  try {
    return readdirSync(join(dir, 'images'), { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name);
  } catch {
    return [];
  }
}

function form(image: Buffer): FormData {
  const f = new FormData();
  f.set('command', 'restyle');
  f.set('options', JSON.stringify({ steps: 60 }));
  f.set('image', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'photo.png');
  return f;
}

/**
 * Send the headers of a 20 MB upload and only its first kilobyte, then wait for an answer. A server
 * that checks limits first answers at once; one that reads the whole upload first never does.
 */
function unfinishedUpload(pathAndQuery: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(pathAndQuery, pg.url);
    const req = http.request(url, {
      method: 'POST',
      headers: { ...mallory, 'content-type': 'multipart/form-data; boundary=xyz', 'content-length': String(20 * 1024 * 1024) },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer within 5 s: the server waited for the upload before checking the limits'));
    }, 5_000);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', () => undefined); // the socket is torn down once the answer is in
    req.write(Buffer.alloc(1024, 0x2d));
  });
}

describe('one user flooding the playground', () => {
  it('refuses past the limit, writes nothing for the refused ones, and answers before reading their uploads', async () => {
    // 20 different pictures in parallel: every one stored would be a file of its own.
    const pictures = await Promise.all(Array.from({ length: 20 }, (_, i) => testPicture(64, 48, i * 11)));
    const answers = await Promise.all(
      pictures.map(async (p) => {
        const res = await fetch(new URL('/api/jobs?command=restyle', pg.url), { method: 'POST', headers: mallory, body: form(p) });
        return { status: res.status, body: (await res.json()) as { code?: string; error?: string } };
      }),
    );
    const accepted = answers.filter((a) => a.status === 202);
    expect(accepted.length).toBeGreaterThanOrEqual(2);
    // Two waiting, plus at most two that already went to the host (one running, one queued behind it).
    expect(accepted.length).toBeLessThanOrEqual(4);
    const refused = answers.filter((a) => a.status !== 202);
    expect(refused.every((a) => a.status === 429 && a.body.code === 'too_many_jobs')).toBe(true);
    expect(refused[0].body.error).toMatch(/already have 2 jobs waiting/);
    expect(imageFiles()).toHaveLength(accepted.length);

    // At the limit, an upload that is still coming in is refused from its headers alone...
    const early = await unfinishedUpload('/api/jobs?command=restyle');
    expect(early.status).toBe(429);
    expect(JSON.parse(early.body).code).toBe('too_many_jobs');
    // ...also from a client that does not put the command in the address.
    const noCommand = await unfinishedUpload('/api/jobs');
    expect(noCommand.status).toBe(429);
    expect(imageFiles()).toHaveLength(accepted.length);
  });
});
