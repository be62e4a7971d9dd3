/**
 * The health check behind GET /healthz: every ComfyUI host (or the simulator) reachable according
 * to easel.status(), and the job store and image folder writable (writable-folders.ts). Healthy only when at least one host is up and the
 * store is writable; hosts that are down are listed either way.
 */
import net from 'node:net';
import type { Easel } from '../app/types.ts';
import type { EaselConfig } from '../config/types.ts';
import { FolderNotWritableError, probeWritable, writableFolders } from './writable-folders.ts';

export interface HealthReport {
  ok: boolean;
  simulated: boolean;
  store: { ok: boolean; kind: 'sqlite' | 'redis'; error?: string };
  hosts: Array<{ name: string; up: boolean; simulated: boolean }>;
  waiting: number;
  running: number;
  /** Why ok is false, in plain words. */
  problems: string[];
  /** Degraded but serving: e.g. one of several hosts is down (its jobs move to the others). */
  warnings: string[];
}

export type StoreCheck = () => Promise<void>;

/** PING a Redis server over RESP (AUTH first when the URL has a password). */
export function pingRedis(url: string, timeoutMs = 2000): Promise<void> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
    let buffer = '';
    const expected = u.password ? 2 : 1;
    const timer = setTimeout(() => done(new Error('Redis did not answer in time')), timeoutMs);
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.on('error', (err) => done(new Error(`cannot reach Redis (${(err as NodeJS.ErrnoException).code ?? err.message})`)));
    socket.on('connect', () => {
      if (u.password) {
        const user = decodeURIComponent(u.username);
        const pw = decodeURIComponent(u.password);
        const args = user ? ['AUTH', user, pw] : ['AUTH', pw];
        socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
      }
      socket.write('*1\r\n$4\r\nPING\r\n');
    });
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const replies = buffer.split('\r\n').filter(Boolean);
      if (replies.some((r) => r.startsWith('-'))) return done(new Error('Redis refused the health check (authentication?)'));
      if (replies.length >= expected && replies[replies.length - 1] === '+PONG') done();
    });
  });
}

/**
 * Default store check: Redis answering PING, the SQLite job store's folder and the image folder
 * writable (a probe file each, always removed again). A folder that fails is named with its setting.
 */
export function defaultStoreCheck(config: Pick<EaselConfig, 'store' | 'storage'>): StoreCheck {
  return async () => {
    if (config.store.redisUrl) await pingRedis(config.store.redisUrl);
    for (const folder of writableFolders(config)) await probeWritable(folder);
  };
}

export async function checkHealth(easel: Easel, storeCheck: StoreCheck, redis: boolean): Promise<HealthReport> {
  const problems: string[] = [];
  let store: HealthReport['store'] = { ok: true, kind: redis ? 'redis' : 'sqlite' };
  try {
    await storeCheck();
  } catch (err) {
    if (err instanceof FolderNotWritableError) {
      store = { ok: false, kind: store.kind, error: err.message };
      problems.push(err.message);
    } else {
      const message = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      store = { ok: false, kind: store.kind, error: message };
      problems.push(`job store not answering: ${message}`);
    }
  }
  let report: Omit<HealthReport, 'ok' | 'store' | 'problems' | 'warnings'>;
  try {
    const s = await easel.status();
    report = {
      simulated: s.simulated,
      hosts: s.hosts.map((h) => ({ name: h.name, up: h.up, simulated: h.simulated })),
      waiting: s.waiting,
      running: s.running,
    };
  } catch (err) {
    report = { simulated: false, hosts: [], waiting: 0, running: 0 };
    problems.push(`status unavailable: ${(err as Error).message}`);
  }
  const up = report.hosts.filter((h) => h.up).length;
  if (report.hosts.length > 0 && up === 0) problems.push(`no ComfyUI host reachable (${report.hosts.map((h) => h.name).join(', ')})`);
  if (report.hosts.length === 0 && problems.length === 0) problems.push('no ComfyUI host configured');
  const warnings = up > 0 ? report.hosts.filter((h) => !h.up).map((h) => `ComfyUI host ${h.name} is down`) : [];
  return { ok: problems.length === 0, store, ...report, problems, warnings };
}
