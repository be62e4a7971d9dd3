/**
 * The operations server: GET /healthz (JSON, 200 healthy / 503 not) and GET /metrics (Prometheus).
 * Listens on config.ops (127.0.0.1:9464 by default) — separate from the playground and Slack ports.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Easel } from '../app/types.ts';
import type { EaselConfig } from '../config/types.ts';
import { checkHealth, defaultStoreCheck, type StoreCheck } from './health.ts';
import { createMetrics } from './metrics.ts';

export interface OpsServerOptions {
  logger?: Logger;
  /** Throws when the job store cannot be written (default: folder write probe, or Redis PING). */
  checkStore?: StoreCheck;
  /** Include Node.js process metrics (default true). */
  processMetrics?: boolean;
}

export interface OpsServer {
  url: string;
  registry: Registry;
  close(): Promise<void>;
}

export async function startOpsServer(
  easel: Easel,
  config: Pick<EaselConfig, 'ops' | 'store' | 'storage'>,
  opts: OpsServerOptions = {},
): Promise<OpsServer> {
  const metrics = createMetrics(easel, { processMetrics: opts.processMetrics });
  const storeCheck = opts.checkStore ?? defaultStoreCheck(config);

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://ops');
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      if (url.pathname === '/healthz') {
        const report = await checkHealth(easel, storeCheck, Boolean(config.store.redisUrl));
        if (!report.ok) opts.logger?.warn({ problems: report.problems }, 'health check failing');
        res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(`${JSON.stringify(report)}\n`);
        return;
      }
      if (url.pathname === '/metrics') {
        const body = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(body);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
    } catch (err) {
      opts.logger?.error({ err }, 'ops request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.ops.port, config.ops.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  opts.logger?.debug({ url }, 'health and metrics server listening (/healthz, /metrics)');

  return {
    url,
    registry: metrics.registry,
    async close() {
      metrics.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
