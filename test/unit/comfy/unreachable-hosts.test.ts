import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ComfyClient } from '../../../src/comfy/client.ts';
import { HostUnavailableError } from '../../../src/comfy/errors.ts';

const TOKEN = 'sekrit-token-123';
const closers: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

describe('a host that never answers', () => {
  it('every call times out with HostUnavailableError naming the host and the reason', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s); // accept, read, never answer
      s.on('error', () => undefined);
    });
    const port = await listen(server);
    closers.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    });
    const client = new ComfyClient(
      { name: 'gpu-silent', url: `http://127.0.0.1:${port}`, timeoutMs: 300, auth: { kind: 'bearer', token: TOKEN } },
      { backoff: { initialMs: 50, maxMs: 200 } },
    );
    closers.push(() => client.close());
    const started = Date.now();
    const err = await client.queueRemaining().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostUnavailableError);
    expect((err as Error).message).toBe('ComfyUI host gpu-silent is unavailable: GET /prompt: no answer within 0.3 s');
    expect(Date.now() - started).toBeLessThan(2_000);

    const up = await client.connect().catch((e: unknown) => e);
    expect(up).toBeInstanceOf(HostUnavailableError);
    expect((up as Error).message).toMatch(/gpu-silent.*no WebSocket handshake within/);
    expect((up as Error).message).not.toContain(TOKEN);

    const sub = await client
      .submit({ '1': { class_type: 'SaveImage', inputs: {} } })
      .catch((e: unknown) => e);
    expect(sub).toBeInstanceOf(HostUnavailableError);
    expect((sub as Error).message).toContain('POST /prompt: no answer within 0.3 s');
  });

  it('a refused connection is reported as such', async () => {
    const server = net.createServer();
    const port = await listen(server);
    await new Promise<void>((r) => server.close(() => r()));
    const client = new ComfyClient({ name: 'gpu-off', url: `http://127.0.0.1:${port}` }, { backoff: { initialMs: 50, maxMs: 100 } });
    closers.push(() => client.close());
    await expect(client.systemStats()).rejects.toThrow(
      'ComfyUI host gpu-off is unavailable: GET /system_stats: connection refused (is ComfyUI running and the URL right?)',
    );
    await expect(client.connect()).rejects.toThrow(/gpu-off is unavailable: connection refused/);
  });
});

describe('a proxy that refuses our credentials', () => {
  it('gives a clear 401 error without the secret, and never retries the socket in a tight loop', async () => {
    let upgrades = 0;
    const server = http.createServer((req, res) => {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end(`denied: ${req.headers.authorization}`); // a careless proxy echoing the header
    });
    server.on('upgrade', (_req, socket) => {
      upgrades++;
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    const port = await listen(server);
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    closers.push(() => server.closeAllConnections());
    const client = new ComfyClient(
      { name: 'gpu-locked', url: `http://127.0.0.1:${port}`, auth: { kind: 'bearer', token: TOKEN } },
      { backoff: { initialMs: 10, maxMs: 20 } },
    );
    closers.push(() => client.close());
    const downs: string[] = [];
    client.on('down', (r: string) => downs.push(r));

    const err = await client.queue().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostUnavailableError);
    expect((err as Error).message).toBe(
      'ComfyUI host gpu-locked is unavailable: GET /queue: the host refused our credentials (HTTP 401): check the auth settings for this host',
    );

    const wsErr = await client.connect().catch((e: unknown) => e);
    expect(wsErr).toBeInstanceOf(HostUnavailableError);
    expect((wsErr as Error).message).toContain('refused the WebSocket upgrade (HTTP 401)');
    expect((wsErr as Error).message).not.toContain(TOKEN);
    await new Promise((r) => setTimeout(r, 800));
    // With a 10 ms backoff a naive client would have tried ~50 times by now.
    expect(upgrades).toBe(1);
    expect(downs).toHaveLength(1);
    expect(downs[0]).not.toContain(TOKEN);
    expect(client.connected).toBe(false);
  });
});
