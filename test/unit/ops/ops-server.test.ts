import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppStatus, Easel } from '../../../src/app/types.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';
import type { JobEvent, JobRecord } from '../../../src/jobs/types.ts';
import { pingRedis } from '../../../src/ops/health.ts';
import { busyTime } from '../../../src/ops/metrics.ts';
import { startOpsServer, type OpsServer } from '../../../src/ops/ops-server.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'easel-ops-'));
const servers: OpsServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(tmp, { recursive: true, force: true });
});

/** The part of Easel the ops server uses: status() and onEvent(). */
function fakeEasel(status: AppStatus) {
  const listeners = new Set<(e: JobEvent) => void>();
  const easel = {
    status: async () => structuredClone(status),
    onEvent(listener: (e: JobEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as Easel;
  return { easel, status, emit: (e: JobEvent) => listeners.forEach((l) => l(e)), listeners };
}

const upStatus = (): AppStatus => ({
  hosts: [{ name: 'simulator', simulated: true, up: true, disabledPresets: [] }],
  waiting: 0,
  running: 0,
  simulated: true,
  builtInSimulator: true,
});

async function start(easel: Easel, dataDir: string) {
  const config = defaultConfig({ dataDir, ops: { host: '127.0.0.1', port: 0 } });
  const server = await startOpsServer(easel, config, { processMetrics: false });
  servers.push(server);
  return server;
}

describe('/healthz', () => {
  it('is 200 with host and store details when a host is up and the store writable', async () => {
    const { easel } = fakeEasel(upStatus());
    const s = await start(easel, path.join(tmp, 'ok'));
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = await res.json();
    expect(body).toMatchObject({ ok: true, simulated: true, store: { ok: true, kind: 'sqlite' }, hosts: [{ name: 'simulator', up: true }], problems: [], warnings: [] });
  });

  it('stays 200 with one of two hosts down, and names the dead one under warnings', async () => {
    const fake = fakeEasel({
      ...upStatus(),
      simulated: false,
      hosts: [
        { name: 'gpu-1', simulated: false, up: true, disabledPresets: [] },
        { name: 'gpu-2', simulated: false, up: false, disabledPresets: [] },
      ],
    });
    const s = await start(fake.easel, path.join(tmp, 'degraded'));
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ ok: true, problems: [], warnings: ['ComfyUI host gpu-2 is down'] });
  });

  it('is 503 naming the hosts when none is reachable', async () => {
    const fake = fakeEasel({ ...upStatus(), simulated: false, hosts: [{ name: 'gpu-1', simulated: false, up: false, disabledPresets: [] }] });
    const s = await start(fake.easel, path.join(tmp, 'down'));
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.ok).toBe(false);
    expect(body.problems).toEqual(['no ComfyUI host reachable (gpu-1)']);
    // Recovers when the host comes back.
    fake.status.hosts[0].up = true;
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it('is 503 when the store folder cannot be written', async () => {
    const blocker = path.join(tmp, 'not-a-folder');
    writeFileSync(blocker, 'x');
    const { easel } = fakeEasel(upStatus());
    // dataDir below a regular file: mkdir fails.
    const s = await start(easel, path.join(blocker, 'data'));
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.store.ok).toBe(false);
    // Names the folder that failed and the setting that chose it.
    expect(body.problems[0]).toMatch(/^The job store folder .*not-a-folder\/data cannot be written \(ENOTDIR/);
    expect(body.problems[0]).toMatch(/store\.sqlitePath \(or EASEL_SQLITE_PATH\)/);
  });

  it('answers 404 elsewhere and 405 for POST', async () => {
    const { easel } = fakeEasel(upStatus());
    const s = await start(easel, path.join(tmp, 'misc'));
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    expect((await fetch(`${s.url}/healthz`, { method: 'POST' })).status).toBe(405);
  });
});

describe('/metrics', () => {
  // One creation time for every event of the job (a fresh Date.now() per call made the measured
  // duration 1.999 s now and then).
  const createdAt = Date.now() - 2000;
  const job = (over: Partial<JobRecord> = {}): JobRecord => ({
    id: 'j1',
    command: 'restyle',
    preset: 'restyle',
    params: {},
    inputs: [],
    actor: { platform: 'playground', userId: 'u', channelId: 'c' },
    state: 'queued',
    createdAt,
    ...over,
  });

  it('exposes every Easel metric and counts a job through its states', async () => {
    const fake = fakeEasel({ ...upStatus(), waiting: 3, running: 1 });
    const s = await start(fake.easel, path.join(tmp, 'm'));
    const before = await (await fetch(`${s.url}/metrics`)).text();
    for (const name of ['easel_jobs_total', 'easel_queue_depth', 'easel_job_duration_seconds', 'easel_host_up', 'easel_gpu_busy_ratio']) {
      expect(before).toContain(`# TYPE ${name} `);
    }
    expect(before).toContain('easel_queue_depth{state="waiting"} 3');
    expect(before).toContain('easel_queue_depth{state="running"} 1');
    expect(before).toContain('easel_host_up{host="simulator",simulated="true"} 1');

    fake.emit({ type: 'queued', job: job(), position: 1, etaMs: 0 });
    fake.emit({ type: 'submitted', job: job({ state: 'submitted', host: 'simulator' }), host: 'simulator', simulated: true });
    for (let step = 1; step <= 3; step++) {
      fake.emit({ type: 'running', job: job({ state: 'running', host: 'simulator' }), step, maxSteps: 3, run: 1, runs: 1 });
    }
    const midway = await (await fetch(`${s.url}/metrics`)).text();
    expect(Number(/easel_gpu_busy_ratio\{host="simulator"\} ([\d.e-]+)/.exec(midway)?.[1])).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 30));
    fake.emit({ type: 'done', job: job({ state: 'done', host: 'simulator', finishedAt: Date.now() }) });
    fake.emit({ type: 'failed', job: job({ id: 'j2', command: 'upscale', state: 'failed' }), code: 'x', reason: 'y' });

    const after = await (await fetch(`${s.url}/metrics`)).text();
    expect(after).toContain('easel_jobs_total{state="queued",command="restyle"} 1');
    expect(after).toContain('easel_jobs_total{state="running",command="restyle"} 1');
    expect(after).toContain('easel_jobs_total{state="done",command="restyle"} 1');
    expect(after).toContain('easel_jobs_total{state="failed",command="upscale"} 1');
    expect(after).toContain('easel_job_duration_seconds_count{command="restyle",outcome="done"} 1');
    const sum = Number(/easel_job_duration_seconds_sum\{command="restyle",outcome="done"\} ([\d.]+)/.exec(after)?.[1]);
    expect(sum).toBeGreaterThanOrEqual(2);
    expect(sum).toBeLessThan(10);
    const ratio = Number(/easel_gpu_busy_ratio\{host="simulator"\} ([\d.e-]+)/.exec(after)?.[1]);
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThanOrEqual(1);
  });

  it('stops listening to events when closed', async () => {
    const fake = fakeEasel(upStatus());
    const config = defaultConfig({ dataDir: path.join(tmp, 'c'), ops: { port: 0 } });
    const s = await startOpsServer(fake.easel, config, { processMetrics: false });
    expect(fake.listeners.size).toBe(1);
    await s.close();
    expect(fake.listeners.size).toBe(0);
  });

  it('busyTime merges overlapping runs and clips to the window', () => {
    expect(busyTime([[0, 10], [5, 15], [20, 30]], 0, 100)).toBe(25);
    expect(busyTime([[0, 10], [5, 15], [20, 30]], 8, 25)).toBe(12);
    expect(busyTime([], 0, 10)).toBe(0);
  });
});

describe('Redis health check', () => {
  /** A tiny RESP server: demands AUTH when given a password, answers PING with PONG. */
  async function fakeRedis(password?: string) {
    const server = net.createServer((socket) => {
      let authed = !password;
      socket.on('data', (chunk) => {
        const parts = chunk.toString().split('\r\n');
        for (let i = 0; i < parts.length; i++) {
          if (parts[i] === 'AUTH') {
            const given = parts[i + 2];
            authed = given === password;
            socket.write(authed ? '+OK\r\n' : '-WRONGPASS invalid password\r\n');
          }
          if (parts[i] === 'PING') socket.write(authed ? '+PONG\r\n' : '-NOAUTH Authentication required.\r\n');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(r)) };
  }

  it('passes with the right password and fails clearly with a wrong one or none', async () => {
    const redis = await fakeRedis('s3cret-pw');
    try {
      await expect(pingRedis(`redis://:s3cret-pw@127.0.0.1:${redis.port}`)).resolves.toBeUndefined();
      await expect(pingRedis(`redis://:wrong@127.0.0.1:${redis.port}`)).rejects.toThrow(/refused/);
      await expect(pingRedis(`redis://127.0.0.1:${redis.port}`)).rejects.toThrow(/refused/);
    } finally {
      await redis.close();
    }
    await expect(pingRedis(`redis://127.0.0.1:${redis.port}`, 500)).rejects.toThrow(/cannot reach Redis/);
  });
});
