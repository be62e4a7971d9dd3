/**
 * Fault suite (issue 10, finding 1 and the deadline): a prompt that never finishes must not hold its
 * host slot. Cancel releases the slot at once whatever the host does with the interrupt, and a
 * prompt past its deadline is stopped on the host, its slot released and its job failed with a
 * reason the user can act on. The never-finishing prompt is the simulator's stallNext().
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/jobs/types.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import type { Simulator } from '../../src/simulator/types.ts';
import { startHarness, type Harness, type HarnessOptions } from '../e2e/jobs/harness.ts';
import { startDeafHost, type DeafHost } from './deaf-host.ts';

let h: Harness | undefined;
let sim: Simulator | undefined;
let deaf: DeafHost | undefined;

afterEach(async () => {
  sim?.release();
  await h?.close();
  await deaf?.close();
  await sim?.close();
  h = sim = deaf = undefined;
});

/** One host holding one job at a time (depth 1), optionally behind a host that does not act on interrupts. */
async function oneSlotHost(opts: { deaf?: 'ignore' | 'hang'; stepMs?: number } & HarnessOptions = {}): Promise<Harness> {
  sim = await startSimulator({ stepMs: opts.stepMs ?? 10, previews: false });
  if (opts.deaf) deaf = await startDeafHost(sim.url, opts.deaf);
  const proxy = deaf;
  h = await startHarness({
    ...opts,
    sims: [sim],
    hostUrl: proxy ? () => proxy.url : undefined,
    pool: { depth: 1, ...opts.pool },
  });
  return h;
}

const submitted = (h: Harness, id: string) => h.eventsOf(id).some((e) => e.type === 'submitted');
const ended = (h: Harness, id: string): JobEvent | undefined =>
  h.eventsOf(id).find((e) => e.type === 'done' || e.type === 'failed' || e.type === 'cancelled');

describe('cancelling a prompt that never finishes', () => {
  it('gives the host slot to the next job at once, even when the host acknowledges the interrupt and keeps running', async () => {
    const h = await oneSlotHost({ deaf: 'ignore' });
    h.sims[0].stallNext();
    const stuck = await h.service.enqueue(h.makeJob('A', { steps: 3 }));
    await h.waitFor(() => h.eventsOf(stuck.id).some((e) => e.type === 'running'), 10_000, 'the stuck job to start');
    const next = await h.service.enqueue(h.makeJob('B', { steps: 3 }));
    await new Promise((r) => setTimeout(r, 100));
    expect(submitted(h, next.id)).toBe(false); // the one slot is taken

    const c = await h.service.cancel(stuck.id);
    expect(c.state).toBe('cancelled');
    expect(ended(h, stuck.id)?.type).toBe('cancelled');
    // The next job is sent to the host without waiting for the stuck prompt to end there.
    await h.waitFor(() => submitted(h, next.id), 3_000, 'the next job to be sent to the host');
    expect(deaf!.interrupts()).toBeGreaterThan(0);
    expect(h.service.stats().running).toBe(1);

    // Once the host gets going again, the next job completes and nothing of the cancelled one is delivered.
    h.sims[0].release();
    expect((await h.finished(next.id)).type).toBe('done');
    expect(h.eventsOf(stuck.id).some((e) => e.type === 'done')).toBe(false);
    expect((await h.store.get(stuck.id))!.state).toBe('cancelled');
  });

  it('answers and frees the slot when the host never answers the interrupt at all', async () => {
    const h = await oneSlotHost({ deaf: 'hang', service: { cancelWaitMs: 300 } });
    h.sims[0].stallNext();
    const stuck = await h.service.enqueue(h.makeJob('A', { steps: 3 }));
    await h.waitFor(() => h.eventsOf(stuck.id).some((e) => e.type === 'running'), 10_000, 'the stuck job to start');
    const next = await h.service.enqueue(h.makeJob('B', { steps: 3 }));

    const answer = await Promise.race([
      h.service.cancel(stuck.id).then((j) => j.state),
      new Promise((r) => setTimeout(() => r('no answer within 5 s'), 5_000)),
    ]);
    expect(answer).toBe('cancelled');
    await h.waitFor(() => submitted(h, next.id), 3_000, 'the next job to be sent to the host');
  });
});

describe('a deadline per job', () => {
  it('stops a prompt on a fresh host at the configured ceiling, frees the slot and says why', async () => {
    const h = await oneSlotHost({ limits: { jobTimeoutSeconds: 1 } });
    h.sims[0].stallNext();
    const stuck = await h.service.enqueue(h.makeJob('A', { steps: 3 }));
    const next = await h.service.enqueue(h.makeJob('B', { steps: 3 }));

    const end = await h.finished(stuck.id, 10_000);
    expect(end.type).toBe('failed');
    if (end.type !== 'failed') return;
    expect(end.code).toBe('timed_out');
    expect(end.reason).toMatch(/took longer than 1 s on GPU host gpu-1/);
    expect(end.reason).toMatch(/fewer steps/);
    const stored = (await h.store.get(stuck.id))!;
    expect(stored.state).toBe('failed');
    expect(stored.error?.code).toBe('timed_out');

    // Interrupted on the host (the simulator's worker let go of it), and the next job runs.
    const promptId = stored.promptIds![0];
    await h.waitFor(() => h.sims[0].busyLog().some((b) => b.promptId === promptId), 5_000, 'the prompt to stop on the host');
    expect((await h.finished(next.id)).type).toBe('done');
  });

  it('frees the slot at the deadline even when the host ignores the interrupt', async () => {
    const h = await oneSlotHost({ deaf: 'ignore', limits: { jobTimeoutSeconds: 1 } });
    h.sims[0].stallNext();
    const stuck = await h.service.enqueue(h.makeJob('A', { steps: 3 }));
    const next = await h.service.enqueue(h.makeJob('B', { steps: 3 }));
    const end = await h.finished(stuck.id, 10_000);
    expect(end).toMatchObject({ type: 'failed', code: 'timed_out' });
    await h.waitFor(() => submitted(h, next.id), 3_000, 'the next job to be sent to the host');
    expect(deaf!.interrupts()).toBeGreaterThan(0);
  });

  it('does not leave the next job waiting forever behind a prompt the host never lets go of', async () => {
    const h = await oneSlotHost({ deaf: 'ignore', limits: { jobTimeoutSeconds: 1 } });
    h.sims[0].stallNext();
    const stuck = await h.service.enqueue(h.makeJob('A', { steps: 3 }));
    const next = await h.service.enqueue(h.makeJob('B', { steps: 3 }));
    expect(await h.finished(stuck.id, 10_000)).toMatchObject({ type: 'failed', code: 'timed_out' });
    // B reaches the host but never starts there: the host counts as failing, B's prompt is taken off
    // its queue, and B ends with a reason instead of "starting soon" forever.
    const end = await h.finished(next.id, 20_000);
    expect(end).toMatchObject({ type: 'failed', code: 'host_down' });
    if (end.type === 'failed') expect(end.reason).toMatch(/did not start a queued prompt within 2 s/);
    expect(h.eventsOf(next.id).some((e) => e.type === 'waiting')).toBe(true);
    const ids = (await h.store.get(next.id))!.promptIds!;
    expect(ids.length).toBeGreaterThan(0);
    const pendingOnHost = async () => JSON.stringify(((await (await fetch(`${h.sims[0].url}/queue`)).json()) as { queue_pending: unknown }).queue_pending);
    const until = Date.now() + 5_000;
    let pending = await pendingOnHost();
    while (ids.some((id) => pending.includes(id)) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      pending = await pendingOnHost();
    }
    for (const id of ids) expect(pending).not.toContain(id);
  });

  it("follows the host's learned speed: a stuck prompt fails long before the ceiling, longer jobs still finish", async () => {
    const h = await oneSlotHost({ stepMs: 20, service: { deadlineFloorMs: 400 } });
    // Learn the host's speed on two ordinary jobs.
    for (const user of ['A', 'B']) {
      const j = await h.service.enqueue(h.makeJob(user, { steps: 5 }));
      expect((await h.finished(j.id)).type).toBe('done');
    }
    h.sims[0].stallNext();
    const t0 = Date.now();
    const stuck = await h.service.enqueue(h.makeJob('C', { steps: 5 }));
    const end = await h.finished(stuck.id, 15_000);
    expect(end).toMatchObject({ type: 'failed', code: 'timed_out' });
    if (end.type !== 'failed') return;
    expect(end.reason).toMatch(/it usually takes about [\d.]+ s there/);
    // The ceiling (600 s by default) is far away: the deadline came from what the host showed it can do.
    expect(Date.now() - t0).toBeLessThan(10_000);

    // Four times the steps: four times the time allowed, so an honest longer job is not cut short.
    const longer = await h.service.enqueue(h.makeJob('D', { steps: 20 }));
    expect((await h.finished(longer.id)).type).toBe('done');
  });
});
