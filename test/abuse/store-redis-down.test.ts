/**
 * Fault suite (issue 10, finding 6): the Redis job store killed mid-run, with a real redis-server.
 * A submission must get a clear answer within seconds (not hang), the refusal is logged, and the
 * job the person was told was not queued must never appear once Redis is back. A job that finishes
 * while the store is away is still announced to its subscribers and the event feed.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { EaselApp } from '../../src/app/create-app.ts';
import { createApp } from '../../src/app/create-app.ts';
import type { JobEvent } from '../../src/jobs/types.ts';
import { JobStore } from '../../src/jobs/job-store.ts';
import { alice, removeDir, tempDir, testConfig, testPicture } from '../e2e/app/app-harness.ts';
import { startKillableRedis, type KillableRedis } from '../unit/jobs/redis-fixture.ts';

let app: EaselApp | undefined;
let redis: KillableRedis | undefined;
let dir: string | undefined;

afterEach(async () => {
  app?.simulator?.release();
  await app?.close().catch(() => undefined);
  await redis?.stop();
  removeDir(dir);
  app = redis = dir = undefined;
});

function logSink(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

async function startOnRedis(): Promise<{ app: EaselApp; lines: () => Array<Record<string, unknown>> }> {
  redis = await startKillableRedis();
  dir = tempDir('easel-redis-down-');
  const log = logSink();
  app = await createApp(testConfig(dir, { store: { redisUrl: redis.url, timeoutMs: 1000 }, simulator: { stepMs: 10 } }), { logger: log.logger });
  return { app, lines: log.lines };
}

const restyle = async () => ({ command: 'restyle' as const, actor: alice, options: { prompt: 'a fox', steps: 3 }, images: [await testPicture(64, 64)] });

describe('Redis killed while Easel runs', () => {
  it('refuses a submission within seconds, logs it, and never creates that job when Redis is back', async () => {
    const { app, lines } = await startOnRedis();
    await redis!.kill();

    const started = Date.now();
    const outcome = await Promise.race([
      app.submit(await restyle()).then(
        () => 'accepted',
        (err: { code?: string; message: string }) => err,
      ),
      new Promise((r) => setTimeout(() => r('no answer within 15 s'), 15_000)),
    ]);
    expect(outcome).toMatchObject({ code: 'store_down' });
    expect((outcome as Error).message).toMatch(/job store is not answering; nothing was queued/);
    expect(Date.now() - started).toBeLessThan(15_000);
    const logged = lines().find((l) => /could not store a new job/.test(String(l.msg)));
    expect(logged, 'a log line for the refused submission').toBeDefined();
    expect(logged!.level).toBe(50); // error

    // Redis comes back (empty, as after a crash without persistence); the queued write reaches it.
    await redis!.start();
    const store = await JobStore.open({ redisUrl: redis!.url });
    try {
      await new Promise((r) => setTimeout(r, 3_000)); // the app's client reconnects within ~2 s
      expect(await store.list()).toEqual([]);
    } finally {
      await store.close();
    }
    expect(app.simulator!.submittedPromptIds()).toEqual([]);
    expect((await app.status()).waiting).toBe(0);

    // And Easel works again without a restart.
    const job = await app.submit(await restyle());
    expect(job.state).toBe('queued');
  });

  it('announces the end of a job that finishes while the store is away', async () => {
    const { app, lines } = await startOnRedis();
    const feed: JobEvent[] = [];
    app.onEvent((e) => feed.push(e));
    app.simulator!.stallNext();
    const job = await app.submit(await restyle());
    const seen: JobEvent[] = [];
    app.subscribe(job.id, (e) => seen.push(e));
    const until = Date.now() + 10_000;
    while (!seen.some((e) => e.type === 'running') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(seen.some((e) => e.type === 'running')).toBe(true);

    await redis!.kill();
    app.simulator!.release();

    const end = Date.now() + 15_000;
    const final = () => seen.find((e) => e.type === 'done' || e.type === 'failed' || e.type === 'cancelled');
    while (!final() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    // The result was made and its images are on disk: it is delivered, store or not.
    expect(final()?.type).toBe('done');
    expect(final()?.job.outputs).toHaveLength(1);
    expect(feed.filter((e) => e.job.id === job.id).at(-1)?.type).toBe('done');
    expect(lines().some((l) => /could not save the end of job/.test(String(l.msg)))).toBe(true);
  });
});
