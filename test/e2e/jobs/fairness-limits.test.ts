import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/commands/errors.ts';
import { startHarness, type Harness } from './harness.ts';

function startOrder(h: Harness): string[] {
  // The order prompts started on the (single) GPU, from the simulator's own record.
  return h.sims[0]
    .busyLog()
    .slice()
    .sort((a, b) => a.start - b.start)
    .map((b) => b.promptId);
}

describe('fair sharing of one GPU', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 10 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('user B starts within one slot although user A queued 20 jobs first', async () => {
    const a = [];
    for (let i = 0; i < 20; i++) a.push(await h.service.enqueue(h.makeJob('A', { steps: 4 })));
    // Let A's first job reach the host, as it would in real use.
    await h.waitFor(() => h.sims[0].submittedPromptIds().length >= 1, 10_000, 'A to start');
    const b = await h.service.enqueue(h.makeJob('B', { steps: 4 }));
    const queuedB = h.eventsOf(b.id).find((e) => e.type === 'queued');
    expect(queuedB).toMatchObject({ position: 1 });
    await h.finished(b.id, 20_000);
    const bPrompt = (await h.store.get(b.id))!.promptIds![0];
    const order = startOrder(h);
    const bIndex = order.indexOf(bPrompt);
    // At most A's running job and the one waiting behind it on the host started before B.
    expect(bIndex).toBeGreaterThanOrEqual(0);
    expect(bIndex).toBeLessThanOrEqual(2);
    // And A's jobs still all complete, in A's order.
    const ends = await Promise.all(a.map((j) => h.finished(j.id, 30_000)));
    expect(ends.every((e) => e.type === 'done')).toBe(true);
    const aPrompts = await Promise.all(a.map(async (j) => (await h.store.get(j.id))!.promptIds![0]));
    const all = startOrder(h);
    const aStarts = aPrompts.map((p) => all.indexOf(p));
    expect(aStarts.every((i) => i >= 0)).toBe(true);
    expect(aStarts).toEqual([...aStarts].sort((x, y) => x - y));
  });

  it('keeps exactly one prompt waiting on the host behind the running one', async () => {
    const jobs = [];
    for (let i = 0; i < 6; i++) jobs.push(await h.service.enqueue(h.makeJob(`U${i}`, { steps: 5 })));
    let maxOnHost = 0;
    const timer = setInterval(async () => {
      const n = (await h.pool.client('gpu-1')!.queueRemaining().catch(() => 0)) as number;
      maxOnHost = Math.max(maxOnHost, n);
    }, 15);
    await Promise.all(jobs.map((j) => h.finished(j.id)));
    clearInterval(timer);
    // Never more than one running plus one waiting on the host (Easel keeps the order of the rest).
    expect(maxOnHost).toBe(2);
  });
});

describe('limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 20, limits: { queueCap: 4, perUserWaiting: 2, perUserRunning: 1, cooldownSeconds: 0 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses over the per-user and global limits with clear messages, keeping what was queued', async () => {
    // Fill the host's two slots with user X so the queue below stays put.
    const x1 = await h.service.enqueue(h.makeJob('X', { steps: 30 }));
    const x2 = await h.service.enqueue(h.makeJob('X', { steps: 30 }));
    await h.waitFor(() => h.service.stats().running === 2, 10_000, 'two jobs on the host');
    const p1 = await h.service.enqueue(h.makeJob('P', { steps: 2 }));
    await h.service.enqueue(h.makeJob('P', { steps: 2 }));
    const over = h.service.enqueue(h.makeJob('P', { steps: 2 }));
    await expect(over).rejects.toBeInstanceOf(UserError);
    await expect(over).rejects.toMatchObject({ code: 'too_many_jobs' });
    await h.service.enqueue(h.makeJob('Q', { steps: 2 }));
    await h.service.enqueue(h.makeJob('R', { steps: 2 }));
    const full = h.service.enqueue(h.makeJob('S', { steps: 2 }));
    await expect(full).rejects.toMatchObject({ code: 'queue_full', message: expect.stringMatching(/queue is full/) });
    expect(h.service.stats()).toEqual({ waiting: 4, running: 2 });
    // Cancelling one makes room again.
    await h.service.cancel(p1.id);
    await expect(h.service.enqueue(h.makeJob('S', { steps: 2 }))).resolves.toMatchObject({ state: 'queued' });
    await h.service.cancel(x1.id);
    await h.service.cancel(x2.id);
  });
});

describe('cooldown', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 5, limits: { cooldownSeconds: 30 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('makes a user wait between submissions and says how long', async () => {
    await h.service.enqueue(h.makeJob('C', { steps: 1 }));
    await expect(h.service.enqueue(h.makeJob('C', { steps: 1 }))).rejects.toMatchObject({
      code: 'cooldown',
      message: expect.stringMatching(/wait (29|30) seconds/),
    });
    await expect(h.service.enqueue(h.makeJob('D', { steps: 1 }))).resolves.toMatchObject({ state: 'queued' });
  });
});

describe('per-user running limit across hosts', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 2, stepMs: 10, limits: { perUserRunning: 1 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('never runs one user on two GPUs at once; another user gets the second GPU', async () => {
    const a = [];
    for (let i = 0; i < 4; i++) a.push(await h.service.enqueue(h.makeJob('A', { steps: 5 })));
    const b = await h.service.enqueue(h.makeJob('B', { steps: 5 }));
    await Promise.all([...a, b].map((j) => h.finished(j.id)));
    const hostsOfA = new Set(await Promise.all(a.map(async (j) => (await h.store.get(j.id))!.host)));
    expect(hostsOfA.size).toBe(1);
    const hostOfB = (await h.store.get(b.id))!.host;
    expect(hostOfB).not.toBe([...hostsOfA][0]);
    // What the limit promises the user: never two of A's jobs on a GPU at the same moment
    // (the host's own record of when each prompt ran, across both hosts).
    const aPrompts = new Set((await Promise.all(a.map(async (j) => (await h.store.get(j.id))!.promptIds!))).flat());
    const aRuns = h.sims
      .flatMap((s) => s.busyLog())
      .filter((r) => aPrompts.has(r.promptId))
      .sort((x, y) => x.start - y.start);
    expect(aRuns).toHaveLength(4);
    for (let i = 1; i < aRuns.length; i++) expect(aRuns[i].start).toBeGreaterThanOrEqual(aRuns[i - 1].end);
  });
});
