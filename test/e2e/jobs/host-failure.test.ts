import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../../../src/simulator/index.ts';
import type { Simulator } from '../../../src/simulator/types.ts';
import { startCutLink, type CutLink } from './cut-link.ts';
import { startHarness, type Harness } from './harness.ts';

function doneCount(h: Harness, jobId: string): number {
  return h.eventsOf(jobId).filter((e) => e.type === 'done').length;
}

describe('a host killed mid-job, another host up', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 2, stepMs: 20 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('finishes the job on the other host, exactly once, and tells the user it is safe meanwhile', async () => {
    const [sim1, sim2] = h.sims;
    const job = await h.service.enqueue(h.makeJob('A', { steps: 40 }));
    await h.waitFor(() => h.eventsOf(job.id).some((e) => e.type === 'running' && e.step >= 3), 10_000, 'the job to be sampling');
    const firstHost = (await h.store.get(job.id))!.host!;
    const dying = firstHost === 'gpu-1' ? sim1 : sim2;
    const other = firstHost === 'gpu-1' ? sim2 : sim1;
    await dying.kill();

    const end = await h.finished(job.id, 20_000);
    expect(end.type).toBe('done');
    const rec = (await h.store.get(job.id))!;
    expect(rec.host).not.toBe(firstHost);
    expect(rec.outputs).toHaveLength(1);
    expect(rec.promptIds).toHaveLength(2);
    // The second prompt ran on the other host, once; the first never finished anywhere.
    expect(other.submittedPromptIds().filter((id) => rec.promptIds!.includes(id))).toEqual([rec.promptIds![1]]);
    expect(other.busyLog().filter((b) => b.promptId === rec.promptIds![1])).toHaveLength(1);
    expect(doneCount(h, job.id)).toBe(1);
    const waiting = h.eventsOf(job.id).find((e) => e.type === 'waiting');
    expect(waiting && waiting.type === 'waiting' && waiting.reason).toMatch(/stopped responding.*safe in the queue/);

    // The dead host comes back: announced again with its catalogue and used again.
    const ups: string[] = [];
    h.pool.on('host-up', (name: string) => ups.push(name));
    await dying.start();
    await h.waitFor(() => ups.includes(firstHost) && h.pool.isAvailable(firstHost), 10_000, 'the host to come back');
    const a = await h.service.enqueue(h.makeJob('B', { steps: 20 }));
    const b = await h.service.enqueue(h.makeJob('C', { steps: 20 }));
    const c = await h.service.enqueue(h.makeJob('D', { steps: 20 }));
    await Promise.all([a, b, c].map((j) => h.finished(j.id)));
    const hosts = new Set(await Promise.all([a, b, c].map(async (j) => (await h.store.get(j.id))!.host)));
    expect(hosts).toEqual(new Set(['gpu-1', 'gpu-2']));
  });
});

describe('the only host restarts mid-job', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 20 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('re-runs the lost prompt once after the restart; the job waiting behind it also completes', async () => {
    const sim = h.sims[0];
    const first = await h.service.enqueue(h.makeJob('A', { steps: 30 }));
    const second = await h.service.enqueue(h.makeJob('B', { steps: 5 }));
    await h.waitFor(() => h.eventsOf(first.id).some((e) => e.type === 'running' && e.step >= 3), 10_000, 'the job to be sampling');
    await h.waitFor(() => h.eventsOf(second.id).some((e) => e.type === 'submitted'), 10_000, 'B to wait on the host');
    await sim.restart();
    const [e1, e2] = await Promise.all([h.finished(first.id), h.finished(second.id)]);
    expect(e1.type).toBe('done');
    expect(e2.type).toBe('done');
    for (const id of [first.id, second.id]) {
      const rec = (await h.store.get(id))!;
      // One prompt before the restart (lost with the host's queue), one after, which ran once.
      expect(rec.promptIds).toHaveLength(2);
      expect(sim.submittedPromptIds().filter((p) => rec.promptIds!.includes(p))).toEqual([rec.promptIds![1]]);
      expect(rec.attempts!.map((a) => a.outcome)).toEqual(['lost', 'done']);
      expect(doneCount(h, id)).toBe(1);
    }
  });
});

describe('a dropped WebSocket mid-job', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 20 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('does not resubmit: the client reconnects and the same prompt finishes', async () => {
    const job = await h.service.enqueue(h.makeJob('A', { steps: 25 }));
    await h.waitFor(() => h.eventsOf(job.id).some((e) => e.type === 'running' && e.step >= 3), 10_000, 'the job to be sampling');
    h.sims[0].dropSockets();
    expect((await h.finished(job.id)).type).toBe('done');
    const rec = (await h.store.get(job.id))!;
    expect(rec.promptIds).toHaveLength(1);
    expect(h.sims[0].submittedPromptIds().filter((p) => p === rec.promptIds![0])).toHaveLength(1);
    expect(rec.outputs).toHaveLength(1);
  });
});

describe('every host down', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 5 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps new jobs safe in the queue, says so, and runs them when the host is back', async () => {
    const sim = h.sims[0];
    await sim.kill();
    await h.waitFor(() => !h.pool.isAvailable('gpu-1'), 5_000, 'the pool to notice');
    const job = await h.service.enqueue(h.makeJob('A', { steps: 3 }));
    const waiting = h.eventsOf(job.id).find((e) => e.type === 'waiting');
    expect(waiting && waiting.type === 'waiting' && waiting.reason).toMatch(/GPU host is down.*safe in the queue/);
    expect(h.pool.status()[0]).toMatchObject({ name: 'gpu-1', up: false });
    await sim.start();
    expect((await h.finished(job.id)).type).toBe('done');
    expect(h.pool.status()[0]).toMatchObject({ name: 'gpu-1', up: true });
  });
});

describe('a host cut off the network mid-job (it keeps working), another host up', () => {
  let h: Harness;
  let sims: Simulator[];
  let link: CutLink;
  let secondHostOpen = false;
  beforeAll(async () => {
    sims = await Promise.all([startSimulator({ stepMs: 100, previews: false }), startSimulator({ stepMs: 5, previews: false })]);
    link = await startCutLink(sims[0].url);
    h = await startHarness({
      sims,
      hostUrl: (s, i) => (i === 0 ? link.url : s.url),
      // Both jobs start on gpu-1 (one running, one waiting on it); gpu-2 takes work once gpu-1 is cut off.
      eligible: (host) => host !== 'gpu-2' || secondHostOpen,
    });
  });
  afterAll(async () => {
    await h?.close();
    await link?.close();
    await Promise.all((sims ?? []).map((s) => s.close()));
  });

  it('finishes both jobs on the other host once, and removes their old prompts from the first host when it is reachable again', async () => {
    const running = await h.service.enqueue(h.makeJob('A', { steps: 60 }));
    const behind = await h.service.enqueue(h.makeJob('B', { steps: 60 }));
    await h.waitFor(() => h.eventsOf(running.id).some((e) => e.type === 'running' && e.step >= 2), 10_000, 'A to be sampling on gpu-1');
    await h.waitFor(() => h.eventsOf(behind.id).some((e) => e.type === 'submitted'), 10_000, 'B to wait on gpu-1');
    const [p1] = (await h.store.get(running.id))!.promptIds!;
    const [p3] = (await h.store.get(behind.id))!.promptIds!;

    secondHostOpen = true;
    await link.cut();
    const ends = await Promise.all([running, behind].map((j) => h.finished(j.id, 15_000)));
    expect(ends.map((e) => e.type)).toEqual(['done', 'done']);
    for (const j of [running, behind]) {
      const rec = (await h.store.get(j.id))!;
      expect(rec.host).toBe('gpu-2');
      expect(rec.attempts!.map((a) => [a.host, a.outcome])).toEqual([
        ['gpu-1', 'lost'],
        ['gpu-2', 'done'],
      ]);
      expect(h.eventsOf(j.id).filter((e) => e.type === 'done')).toHaveLength(1);
    }
    // gpu-1 never lost its queue: A's first prompt is still sampling there (60 steps of 100 ms).
    expect(sims[0].busyLog().some((b) => b.promptId === p1)).toBe(false);

    await link.heal();
    // Back on the network: A's old prompt is interrupted, B's old one never runs there.
    await h.waitFor(() => sims[0].busyLog().some((b) => b.promptId === p1), 10_000, 'the abandoned prompt to stop on gpu-1');
    const p1Run = sims[0].busyLog().find((b) => b.promptId === p1)!;
    expect(p1Run.end - p1Run.start).toBeLessThan(5_000);
    await h.waitFor(() => h.pool.isAvailable('gpu-1'), 10_000, 'gpu-1 to be usable again');
    await new Promise((r) => setTimeout(r, 300));
    expect(sims[0].busyLog().some((b) => b.promptId === p3)).toBe(false);
    expect((await h.pool.client('gpu-1')!.queueRemaining())).toBe(0);
  });
});
