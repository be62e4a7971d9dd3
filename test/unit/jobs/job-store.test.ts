import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobStore } from '../../../src/jobs/job-store.ts';
import type { JobRecord, JobState } from '../../../src/jobs/types.ts';
import { startTestRedis, type TestRedis } from './redis-fixture.ts';

function job(id: string, state: JobState, createdAt: number): JobRecord {
  return {
    id,
    command: 'restyle',
    preset: 'restyle-sd15',
    params: { prompt: 'oil painting', denoise: 0.6, seed: 42 },
    inputs: [{ sha256: 'ab'.repeat(32), path: 'images/ab.png', width: 512, height: 512, mime: 'image/png', bytes: 1000 }],
    actor: { platform: 'discord', userId: 'u1', channelId: 'c1', serverId: 'g1' },
    state,
    createdAt,
    promptIds: ['p-1'],
    attempts: [{ run: 1, host: 'gpu-1', promptId: 'p-1', submittedAt: createdAt + 1 }],
  };
}

async function exercise(open: () => Promise<JobStore>): Promise<void> {
  const store = await open();
  await store.save(job('j1', 'queued', 1));
  await store.save(job('j2', 'running', 2));
  await store.save(job('j3', 'done', 3));
  const j2 = (await store.get('j2'))!;
  expect(j2.version).toBe(1);
  expect(j2.attempts?.[0].promptId).toBe('p-1');
  j2.state = 'failed';
  j2.error = { code: 'job_failed', message: 'KSampler failed' };
  await store.save(j2);
  expect((await store.list({ states: ['queued', 'running', 'uploading', 'submitted'] })).map((j) => j.id)).toEqual(['j1']);
  expect((await store.list()).map((j) => j.id)).toEqual(['j1', 'j2', 'j3']);
  expect((await store.list({ states: ['failed'] })).map((j) => j.id)).toEqual(['j2']);
  expect(await store.get('nope')).toBeUndefined();
  await store.close();

  // Reopen: everything is still there, including the active index.
  const again = await open();
  const back = (await again.get('j2'))!;
  expect(back.state).toBe('failed');
  expect(back.version).toBe(2);
  expect(back.error?.message).toBe('KSampler failed');
  expect((await again.list({ states: ['queued'] })).map((j) => j.id)).toEqual(['j1']);
  await again.delete('j1');
  expect(await again.get('j1')).toBeUndefined();
  expect(await again.list({ states: ['queued'] })).toEqual([]);
  await again.close();
}

describe('JobStore on SQLite (the default)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'easel-store-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps records, versions and the in-flight index across reopen', async () => {
    const path = join(dir, 'nested', 'jobs.sqlite');
    await exercise(() => JobStore.open({ sqlitePath: path }));
  });

  it('lists thousands of records', async () => {
    const store = await JobStore.open({ sqlitePath: join(dir, 'many.sqlite') });
    for (let i = 0; i < 1200; i++) await store.save(job(`j${String(i).padStart(5, '0')}`, i % 2 ? 'done' : 'queued', i));
    expect((await store.list()).length).toBe(1200);
    expect((await store.list({ states: ['queued'] })).length).toBe(600);
    await store.close();
  });

  it('reports a store it cannot open with the path', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'not a folder');
    await expect(JobStore.open({ sqlitePath: join(blocker, 'jobs.sqlite') })).rejects.toThrow(/a-file\/jobs\.sqlite/);
  });
});

describe('JobStore on Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('keeps records, versions and the in-flight index across reopen', async () => {
    const namespace = `easel-test-${process.pid}-${Date.now()}`;
    await exercise(() => JobStore.open({ redisUrl: redis.url, namespace }));
  });

  it('says clearly when Redis is not reachable', async () => {
    await expect(JobStore.open({ redisUrl: 'redis://user:hunter2@127.0.0.1:1', connectTimeoutMs: 1000 })).rejects.toThrow(/Redis job store at redis:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:1/);
  });
});
