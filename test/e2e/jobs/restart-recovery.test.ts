import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../../src/jobs/types.ts';
import { startTestRedis, type TestRedis } from '../../unit/jobs/redis-fixture.ts';
import { startHarness, type Harness } from './harness.ts';

/**
 * Easel itself restarts (new JobService, pool and store over the same data) while jobs are on the
 * GPU and in line. Results still arrive, once, without running anything twice.
 */
async function restartMidJob(h: Harness): Promise<void> {
  const sim = h.sims[0];
  const running = await h.service.enqueue(h.makeJob('A', { steps: 30 }));
  const behind = await h.service.enqueue(h.makeJob('B', { steps: 4 }));
  const waiting = await h.service.enqueue(h.makeJob('C', { steps: 4 }));
  await h.waitFor(() => h.eventsOf(running.id).some((e) => e.type === 'running' && e.step >= 3), 10_000, 'A to be sampling');
  await h.waitFor(() => h.eventsOf(behind.id).some((e) => e.type === 'submitted'), 10_000, 'B to wait on the host');

  await h.stopService();
  const promptsBefore = sim.submittedPromptIds().length;
  expect(promptsBefore).toBe(2);
  h.events.length = 0;

  await h.startService();
  await h.service.recover();
  const ends = await Promise.all([running, behind, waiting].map((j) => h.finished(j.id, 20_000)));
  expect(ends.map((e) => e.type)).toEqual(['done', 'done', 'done']);

  for (const j of [running, behind]) {
    const rec = (await h.store.get(j.id))!;
    // Re-attached by prompt id: one prompt, run once on the host.
    expect(rec.promptIds).toHaveLength(1);
    expect(sim.submittedPromptIds().filter((p) => p === rec.promptIds![0])).toHaveLength(1);
    expect(sim.busyLog().filter((b) => b.promptId === rec.promptIds![0])).toHaveLength(1);
    expect(rec.outputs).toHaveLength(1);
    expect((await h.images.read(rec.outputs![0])).length).toBeGreaterThan(100);
  }
  // Only the job that was still in line needed a new prompt.
  expect(sim.submittedPromptIds().length).toBe(3);
  for (const j of [running, behind, waiting]) expect(h.eventsOf(j.id).filter((e) => e.type === 'done')).toHaveLength(1);
}

describe('Easel restarts mid-job (SQLite store, the default)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 20 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('re-attaches to prompts on the host and delivers every result once', async () => {
    await restartMidJob(h);
  });

  it('takes the result from history when the prompt finished while Easel was down', async () => {
    const job = await h.service.enqueue(h.makeJob('D', { steps: 10 }));
    await h.waitFor(() => h.eventsOf(job.id).some((e) => e.type === 'running'), 10_000, 'D to run');
    await h.stopService();
    // The GPU finishes while nobody listens.
    await h.waitFor(() => h.sims[0].busyLog().some((b) => b.promptId === h.sims[0].submittedPromptIds().at(-1)), 10_000, 'D to finish on the host');
    const submitted = h.sims[0].submittedPromptIds().length;

    // No adapter is listening yet while recovery delivers (they start after createApp returns).
    await h.startService(false);
    await h.service.recover();
    await h.waitFor(() => h.service.stats().running === 0 && h.service.stats().waiting === 0, 10_000, 'recovery to finish D');
    const late: JobEvent[] = [];
    h.service.onEvent((e) => late.push(e));
    expect(late.filter((e) => e.job.id === job.id).map((e) => e.type)).toEqual(['done']);
    // Only the first global listener gets the backlog.
    const second: JobEvent[] = [];
    h.service.onEvent((e) => second.push(e));
    expect(second).toEqual([]);
    expect(h.sims[0].submittedPromptIds().length).toBe(submitted);
    const rec = (await h.store.get(job.id))!;
    expect(rec.state).toBe('done');
    expect(rec.outputs).toHaveLength(1);
    // Back to a service with the harness listening, for the next test.
    await h.stopService();
    await h.startService();
  });

  it('re-runs a prompt the host lost while Easel was down (host restarted too)', async () => {
    const job = await h.service.enqueue(h.makeJob('E', { steps: 30 }));
    await h.waitFor(() => h.eventsOf(job.id).some((e) => e.type === 'running'), 10_000, 'E to run');
    await h.stopService();
    await h.sims[0].restart();
    await h.startService();
    await h.service.recover();
    expect((await h.finished(job.id)).type).toBe('done');
    const rec = (await h.store.get(job.id))!;
    expect(rec.attempts!.map((a) => a.outcome)).toEqual(['lost', 'done']);
    expect(h.sims[0].submittedPromptIds()).toEqual([rec.promptIds![1]]);
  });
});

describe('Easel restarts mid-job (Redis store)', () => {
  let redis: TestRedis;
  let h: Harness;
  beforeAll(async () => {
    redis = await startTestRedis();
    h = await startHarness({ hosts: 1, stepMs: 20, redisUrl: redis.url });
  });
  afterAll(async () => {
    await h?.close();
    await redis?.stop();
  });

  it('re-attaches to prompts on the host and delivers every result once', async () => {
    expect(h.store.kind).toBe('redis');
    await restartMidJob(h);
  });
});
