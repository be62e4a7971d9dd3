/**
 * Test helper: a tiny reverse proxy in front of a ComfyUI (simulator) that demands credentials on
 * every HTTP request and on the WebSocket upgrade, like nginx/Caddy in front of a real host.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export interface AuthProxy {
  url: string;
  /** What reached the proxy: method, path, whether the credentials were right. */
  seen: Array<{ kind: 'http' | 'upgrade'; path: string; ok: boolean }>;
  /** Stop passing data on the WebSockets open now (TCP stays up): a "zombie" socket. */
  freezeSockets(): void;
  close(): Promise<void>;
}

export interface AuthProxyOptions {
  /** Hold the upstream answer to matching requests this long before passing it on. */
  holdMs?: (method: string, path: string) => number;
}

/** `check(headers)` decides whether a request carries the right credentials. */
export async function startAuthProxy(
  upstream: string,
  check: (headers: http.IncomingHttpHeaders) => boolean,
  options: AuthProxyOptions = {},
): Promise<AuthProxy> {
  const tunnels = new Set<{ up: net.Socket; down: Duplex }>();
  const target = new URL(upstream);
  const seen: AuthProxy['seen'] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const ok = check(req.headers);
    seen.push({ kind: 'http', path: req.url ?? '', ok });
    if (!ok) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
      res.end(`401 Unauthorized: got ${JSON.stringify(req.headers.authorization ?? null)}`); // echoes, like a careless proxy
      return;
    }
    const headers = { ...req.headers, host: target.host };
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (upRes) => {
        const hold = options.holdMs?.(req.method ?? 'GET', req.url ?? '') ?? 0;
        setTimeout(() => {
          if (res.destroyed) return upRes.resume();
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        }, hold);
      },
    );
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket, head) => {
    const ok = check(req.headers);
    seen.push({ kind: 'upgrade', path: req.url ?? '', ok });
    if (!ok) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const up = net.connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
      tunnels.add({ up, down: socket });
    });
    sockets.add(up);
    up.on('close', () => {
      sockets.delete(up);
      socket.destroy();
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
    socket.on('close', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    freezeSockets: () => {
      for (const t of tunnels) {
        t.up.unpipe(t.down);
        t.down.unpipe(t.up);
        t.up.pause();
        t.down.pause();
      }
      tunnels.clear();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
