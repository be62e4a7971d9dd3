/**
 * A whole job through the real app with every kind of secret configured (fake tokens): nothing
 * Easel writes to its log may contain any of them. The ComfyUI host is a simulator behind a bearer
 * token, so the token really travels on every request while the logs stay clean.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app/create-app.ts';
import { startPlayground, type Playground } from '../../../src/bot/playground/playground-server.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import type { EaselConfig } from '../../../src/config/types.ts';
import type { JobEvent } from '../../../src/jobs/types.ts';
import { logJobEvents } from '../../../src/ops/job-event-log.ts';
import { createLogger } from '../../../src/ops/logger.ts';
import { startOpsServer, type OpsServer } from '../../../src/ops/ops-server.ts';
import { startSimulator } from '../../../src/simulator/index.ts';
import type { Simulator } from '../../../src/simulator/types.ts';

const SECRETS = {
  DISCORD_TOKEN: 'MTAxNzQ1.fake-discord-token.Gx9Qw2',
  SLACK_BOT_TOKEN: 'xoxb-1111-2222-fakeslackbottoken',
  SLACK_SIGNING_SECRET: 'f4k3s1gn1ngs3cr3t0000aaaa',
  SLACK_APP_TOKEN: 'xapp-1-A000-fakeapptoken',
  COMFYUI_TOKEN: 'comfy-bearer-fake-7d1c9e',
};

const tmp = mkdtempSync(path.join(tmpdir(), 'easel-secrets-'));
const lines: string[] = [];
let sim: Simulator;
let config: EaselConfig;
let app: Awaited<ReturnType<typeof createApp>>;
let ops: OpsServer;
let pg: Playground;
let stopJobLog: (() => void) | undefined;

beforeAll(async () => {
  sim = await startSimulator({ stepMs: 5 });
  config = loadConfig({
    file: false,
    cwd: tmp,
    env: {
      ...SECRETS,
      COMFYUI_URL: sim.url,
      EASEL_DATA_DIR: tmp,
      EASEL_PLAYGROUND_PORT: '0',
      EASEL_OPS_PORT: '0',
      LOG_LEVEL: 'trace',
      DISCORD_APPLICATION_ID: '101745000000000000',
    },
  });
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger(config, [], { destination });
  logger.info({ config }, 'configuration loaded');
  app = await createApp(config, { logger });
  stopJobLog = logJobEvents(app, logger);
  ops = await startOpsServer(app, config, { logger, processMetrics: false });
  pg = await startPlayground(app, config.playground, { logger });
});

afterAll(async () => {
  stopJobLog?.();
  await pg?.close();
  await ops?.close();
  await app?.close();
  await sim?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('secrets never reach the log', () => {
  it('a full job, a failure and the ops endpoints log nothing secret', async () => {
    expect(config.hosts[0].auth).toEqual({ kind: 'bearer', token: SECRETS.COMFYUI_TOKEN });
    const image = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } }).png().toBuffer();
    const actor = { platform: 'playground' as const, userId: 'u1', channelId: 'playground' };
    const job = await app.submit({ command: 'restyle', options: { prompt: 'a quiet lake', steps: 6 }, images: [image], actor });
    const final = await new Promise<JobEvent>((resolve) => {
      const off = app.subscribe(job.id, (e) => {
        if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') {
          off();
          resolve(e);
        }
      });
    });
    expect(final.type).toBe('done');
    await app.render(final.job, { maxFileBytes: 8 * 1024 * 1024, maxFiles: 4 });
    await expect(app.submit({ command: 'restyle', options: { denoise: 9 }, images: [image], actor })).rejects.toThrow(/denoise/);
    expect((await fetch(`${ops.url}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${ops.url}/metrics`)).text();
    // The real app's events and status feed every metric.
    expect(metrics).toContain('easel_jobs_total{state="queued",command="restyle"} 1');
    expect(metrics).toContain('easel_jobs_total{state="running",command="restyle"} 1');
    expect(metrics).toContain('easel_jobs_total{state="done",command="restyle"} 1');
    expect(metrics).toContain('easel_job_duration_seconds_count{command="restyle",outcome="done"} 1');
    expect(metrics).toContain('easel_host_up{host="comfyui",simulated="true"} 1');
    expect(metrics).toContain('easel_queue_depth{state="waiting"} 0');
    expect(Number(/easel_gpu_busy_ratio\{host="comfyui"\} ([\d.e-]+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    // A request the playground refuses is logged without echoing headers.
    await fetch(new URL('/api/jobs', pg.url), { method: 'POST', headers: { authorization: `Bearer ${SECRETS.COMFYUI_TOKEN}` } });
    await new Promise((r) => setTimeout(r, 50));

    expect(lines.length).toBeGreaterThan(3);
    const jobLines = lines.map((l) => JSON.parse(l)).filter((l) => l.jobId === job.id);
    expect(jobLines.map((l) => l.msg)).toEqual(expect.arrayContaining(['job queued', 'job submitted to host', 'job done']));
    expect(jobLines.every((l) => l.command === 'restyle')).toBe(true);
    const all = lines.join('\n');
    for (const [name, value] of Object.entries(SECRETS)) {
      expect(all.includes(value), `${name} appears in the log`).toBe(false);
      expect(all.includes(encodeURIComponent(value)), `${name} (URL-encoded) appears in the log`).toBe(false);
      expect(all.includes(Buffer.from(value).toString('base64')), `${name} (base64) appears in the log`).toBe(false);
    }
  });
});
