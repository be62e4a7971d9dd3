/**
 * The client's memo of uploaded images (issue 10 finding 5): kept while the host stays the same,
 * forgotten when system_stats shows another host behind the same URL (e.g. a replaced container).
 * A small HTTP proxy in front of the simulator plays the replacement by changing the version it reports.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComfyClient } from '../../../src/comfy/client.ts';
import { startSimulator } from '../../../src/simulator/index.ts';
import type { Simulator } from '../../../src/simulator/types.ts';
import { pngOf } from './workflows.ts';

let sim: Simulator;
let proxy: http.Server;
let proxyUrl: string;
let version = '0.3.64';
const uploads: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({ stepMs: 2, previews: false });
  const target = new URL(sim.url);
  proxy = http.createServer((req, res) => {
    if (req.url === '/upload/image') uploads.push(req.url);
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      if (req.url !== '/system_stats') {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      upRes.on('data', (c: Buffer) => chunks.push(c));
      upRes.on('end', () => {
        const stats = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        stats.system.comfyui_version = version;
        const text = JSON.stringify(stats);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => proxy.close(() => r()));
  await sim.close();
});

describe('the uploaded-image memo', () => {
  it('is kept while the host is the same and forgotten when system_stats shows another host', async () => {
    const client = new ComfyClient({ name: 'swapped', url: proxyUrl, timeoutMs: 5_000 });
    try {
      const bytes = await pngOf([5, 6, 7]);
      await client.systemStats();
      const name = await client.uploadImage(bytes);
      expect(uploads).toHaveLength(1);
      await client.systemStats();
      expect(await client.uploadImage(bytes)).toBe(name);
      expect(uploads).toHaveLength(1);

      // Another ComfyUI now answers at that URL, without our inputs.
      sim.loseInputs();
      version = '0.3.65';
      await client.systemStats();
      expect(await client.uploadImage(bytes)).toBe(name);
      expect(uploads).toHaveLength(2);
    } finally {
      await client.close();
    }
  });
});
