/**
 * The host gate (how several instances keep limits.perUserRunning across all their hosts): a job the
 * gate refuses leaves the service untouched and its host slot serves the next user at once; a job
 * let in gives its place back when it leaves the host, also when it is cancelled while the gate was
 * still deciding.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HostGate } from '../../../src/jobs/job-service.ts';
import type { JobRecord } from '../../../src/jobs/types.ts';
import { startHarness, type Harness } from './harness.ts';

describe('host gate', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** A gate the test answers by hand, recording what the service asked and gave back. */
  function manualGate(decide: (job: JobRecord, host: string) => Promise<boolean>) {
    const log: string[] = [];
    const handedBack: JobRecord[] = [];
    const gate: HostGate = {
      async enter(job, host) {
        log.push(`ask ${job.actor.userId}@${host}`);
        if (!(await decide(job, host))) return undefined;
        return () => log.push(`leave ${job.actor.userId}@${host}`);
      },
      handBack: (job) => handedBack.push(job),
    };
    return { gate, log, handedBack };
  }

  it('a refused job goes back untouched, and the host serves the next user meanwhile', async () => {
    const g = manualGate(async (job) => job.actor.userId !== 'busy-elsewhere');
    h = await startHarness({ hosts: 1, stepMs: 5, service: { hostGate: g.gate } });
    const refused = await h.service.enqueue(h.makeJob('busy-elsewhere', { steps: 4 }));
    const next = await h.service.enqueue(h.makeJob('someone', { steps: 4 }));
    expect((await h.finished(next.id)).type).toBe('done');
    await h.waitFor(() => g.handedBack.length === 1, 5_000, 'the hand-back');
    expect(g.handedBack[0]).toMatchObject({ id: refused.id, state: 'queued' });
    // Nothing was done with it: no upload, no prompt, no end; this service has let go of it.
    expect(h.eventsOf(refused.id).map((e) => e.type)).toEqual(['queued']);
    expect(h.service.peek(refused.id)).toBeUndefined();
    expect((await h.store.get(refused.id))?.state).toBe('queued');
    expect(h.sims[0].submittedPromptIds()).toHaveLength(1);
    expect(g.log).toEqual(['ask busy-elsewhere@gpu-1', 'ask someone@gpu-1', 'leave someone@gpu-1']);
    // Offered again (as the shared queue does once the user's other host is free), it runs.
    const again = await h.service.enqueue({ ...refused, actor: { ...refused.actor, userId: 'free-now' } });
    expect((await h.finished(again.id)).type).toBe('done');
  });

  it('a job cancelled while the gate decides ends cancelled, is not handed back, and gives its place back', async () => {
    let answer!: (ok: boolean) => void;
    let asked!: () => void;
    const wasAsked = new Promise<void>((r) => (asked = r));
    const g = manualGate(
      () =>
        new Promise<boolean>((ok) => {
          answer = ok;
          asked();
        }),
    );
    h = await startHarness({ hosts: 1, stepMs: 5, service: { hostGate: g.gate } });
    const job = await h.service.enqueue(h.makeJob('quick-change', { steps: 4 }));
    await wasAsked;
    const cancelling = h.service.cancel(job.id);
    answer(true);
    expect((await cancelling).state).toBe('cancelled');
    await h.waitFor(() => g.log.includes('leave quick-change@gpu-1'), 5_000, 'the place to be given back');
    expect(g.handedBack).toEqual([]);
    expect(h.sims[0].submittedPromptIds()).toEqual([]);
  });

  it('when the gate cannot answer, the job runs under this instance’s own limits', async () => {
    h = await startHarness({
      hosts: 1,
      stepMs: 5,
      service: {
        hostGate: {
          enter: () => Promise.reject(new Error('redis went away')),
          handBack: () => {
            throw new Error('must not hand back');
          },
        },
      },
    });
    const job = await h.service.enqueue(h.makeJob('anyone', { steps: 4 }));
    expect((await h.finished(job.id)).type).toBe('done');
  });
});
