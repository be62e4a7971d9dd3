/**
 * An HTTP + WebSocket proxy in front of a ComfyUI host (the simulator) that does not act on
 * POST /interrupt, the way a real host behaves when a node is stuck somewhere that never checks
 * ComfyUI's interrupt flag (a hung CUDA call, a custom node in a loop):
 *  - 'ignore': answers 200 with an empty body (what ComfyUI answers) and the prompt keeps running;
 *  - 'hang': never answers (a host whose server thread is wedged).
 * Everything else, the WebSocket included, passes through unchanged.
 */
import http from 'node:http';
import { connect, type Socket } from 'node:net';

export interface DeafHost {
  url: string;
  /** How many POST /interrupt it swallowed. */
  interrupts(): number;
  close(): Promise<void>;
}

export async function startDeafHost(targetUrl: string, mode: 'ignore' | 'hang'): Promise<DeafHost> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let swallowed = 0;
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url?.split('?')[0] === '/interrupt') {
      swallowed++;
      req.resume();
      if (mode === 'ignore') req.on('end', () => res.writeHead(200, { 'content-length': '0' }).end());
      return; // 'hang': no answer at all
    }
    const upstream = http.request(
      { host: target.hostname, port: Number(target.port), method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, client: Socket, head: Buffer) => {
    const upstream = connect({ host: target.hostname, port: Number(target.port) }, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    interrupts: () => swallowed,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
