/**
 * The job store as an operator gets it: with no settings, Easel keeps jobs in an embedded SQLite file
 * under its data folder; with REDIS_URL set, in Redis. Checked through loadConfig + createApp, the
 * way `easel start` builds it, with a real job whose whole record must be in the chosen store.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EaselApp } from '../../../src/app/create-app.ts';
import { loadConfig } from '../../../src/config/load-config.ts';
import { JobStore } from '../../../src/jobs/job-store.ts';
import type { Actor, JobEvent, JobRecord } from '../../../src/jobs/types.ts';
import { startTestRedis, type TestRedis } from '../../unit/jobs/redis-fixture.ts';

const actor: Actor = { platform: 'discord', userId: 'store-user', displayName: 'Store', channelId: 'chan-9', serverId: 'guild-9' };

async function runOneJob(app: EaselApp): Promise<JobRecord> {
  const png = await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toBuffer();
  const job = await app.submit({ command: 'restyle', options: { prompt: 'store wiring', steps: 2, seed: 7 }, images: [png], actor });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('job did not finish')), 20_000);
    const off = app.subscribe(job.id, (e: JobEvent) => {
      if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') {
        clearTimeout(timer);
        off();
        if (e.type === 'done') resolve();
        else reject(new Error(`job ended ${e.type}`));
      }
    });
  });
  await app.setPlatformRefs(job.id, { discord: { messageId: 'msg-1' } });
  return job;
}

/** What an operator expects a finished record to hold. */
function expectFullRecord(rec: JobRecord | undefined, id: string): void {
  expect(rec).toBeDefined();
  expect(rec!.id).toBe(id);
  expect(rec!.state).toBe('done');
  expect(rec!.params).toMatchObject({ prompt: 'store wiring', steps: 2, seed: 7 });
  expect(rec!.inputs).toHaveLength(1);
  expect(rec!.inputs[0].sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(rec!.outputs!.length).toBeGreaterThan(0);
  expect(rec!.actor).toMatchObject({ platform: 'discord', userId: 'store-user', channelId: 'chan-9', serverId: 'guild-9' });
  expect(rec!.platformRefs).toEqual({ discord: { messageId: 'msg-1' } });
  expect(rec!.createdAt).toBeGreaterThan(0);
  expect(rec!.startedAt).toBeGreaterThanOrEqual(rec!.createdAt);
  expect(rec!.finishedAt).toBeGreaterThanOrEqual(rec!.startedAt!);
  expect(rec!.promptIds).toHaveLength(1);
}

describe('job store chosen from the configuration', () => {
  const dirs: string[] = [];
  let redis: TestRedis | undefined;
  const apps: EaselApp[] = [];
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await redis?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const configIn = (env: NodeJS.ProcessEnv) => {
    const cwd = mkdtempSync(join(tmpdir(), 'easel-store-wiring-'));
    dirs.push(cwd);
    // No config file, nothing but the environment given: what a new user gets in an empty folder.
    const config = loadConfig({ file: false, cwd, env: { EASEL_SIMULATOR_STEP_MS: '5', ...env } });
    return { cwd, config };
  };

  it('without REDIS_URL: an embedded SQLite file in the data folder, kept across a restart', async () => {
    const { cwd, config } = configIn({});
    expect(config.store.redisUrl).toBeUndefined();
    expect(config.store.sqlitePath).toBe(join(cwd, '.easel', 'easel.db'));
    const app = await createApp(config);
    apps.push(app);
    const job = await runOneJob(app);
    await app.close();
    expect(existsSync(config.store.sqlitePath)).toBe(true);

    const store = await JobStore.open({ sqlitePath: config.store.sqlitePath });
    try {
      expect(store.kind).toBe('sqlite');
      expectFullRecord(await store.get(job.id), job.id);
    } finally {
      await store.close();
    }
    // A new process over the same folder sees the job.
    const again = await createApp(config);
    apps.push(again);
    expect((await again.getJob(job.id))?.state).toBe('done');
    await again.close();
  });

  it('with REDIS_URL: jobs live in Redis, not in a SQLite file', async () => {
    const { config } = configIn({ REDIS_URL: redis!.url });
    expect(config.store.redisUrl).toBe(redis!.url);
    const app = await createApp(config);
    apps.push(app);
    const job = await runOneJob(app);
    await app.close();
    expect(existsSync(config.store.sqlitePath)).toBe(false);

    const store = await JobStore.open({ redisUrl: redis!.url });
    try {
      expect(store.kind).toBe('redis');
      expectFullRecord(await store.get(job.id), job.id);
      await store.delete(job.id);
    } finally {
      await store.close();
    }
  });
});
