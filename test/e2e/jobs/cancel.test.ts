import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';

describe('cancel by the author', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 50 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('dequeues a waiting job (never sent to the host), interrupts a running one, removes one waiting on the host', async () => {
    const running = await h.service.enqueue(h.makeJob('A', { steps: 60 }));
    const onHost = await h.service.enqueue(h.makeJob('B', { steps: 60 }));
    const waiting = await h.service.enqueue(h.makeJob('C', { steps: 60 }));
    const after = await h.service.enqueue(h.makeJob('D', { steps: 3 }));
    await h.waitFor(() => h.eventsOf(running.id).some((e) => e.type === 'running' && e.step >= 2), 10_000, 'A to be sampling');
    await h.waitFor(() => h.eventsOf(onHost.id).some((e) => e.type === 'submitted'), 10_000, 'B to wait on the host');

    // Waiting in Easel's queue: it never reaches the GPU.
    const c = await h.service.cancel(waiting.id);
    expect(c.state).toBe('cancelled');
    expect(h.eventsOf(waiting.id).at(-1)?.type).toBe('cancelled');
    expect(h.eventsOf(waiting.id).some((e) => e.type === 'submitted')).toBe(false);

    // Waiting on the host behind the running one: removed from the host's queue; it never runs.
    const b = await h.service.cancel(onHost.id);
    expect(b.state).toBe('cancelled');

    // Running on the GPU: interrupted there, quickly (not after its 200 steps).
    const t0 = Date.now();
    const a = await h.service.cancel(running.id);
    expect(a.state).toBe('cancelled');
    await h.waitFor(() => !!h.sims[0].busyLog().find((b) => b.promptId === a.promptIds![0]), 5_000, 'A to stop on the host');
    const aBusy = h.sims[0].busyLog().find((b) => b.promptId === a.promptIds![0])!;
    expect(aBusy.end - aBusy.start).toBeLessThan(60 * 50);
    expect(Date.now() - t0).toBeLessThan(5_000);

    // The next job goes through, and nothing of the cancelled jobs is delivered.
    expect((await h.finished(after.id)).type).toBe('done');
    const bPrompt = (await h.store.get(onHost.id))!.promptIds![0];
    expect(h.sims[0].busyLog().some((x) => x.promptId === bPrompt)).toBe(false);
    for (const id of [running.id, onHost.id, waiting.id]) {
      expect(h.eventsOf(id).some((e) => e.type === 'done')).toBe(false);
      expect((await h.store.get(id))!.state).toBe('cancelled');
    }
    // Cancelling again is harmless.
    await expect(h.service.cancel(running.id)).resolves.toMatchObject({ state: 'cancelled' });
    await expect(h.service.cancel('no-such-job')).rejects.toMatchObject({ code: 'not_found' });
  });
});
