/**
 * Fault suite: the job store fails just as a job ends. The end is announced (the result is posted),
 * and it must also reach the store once the store is back: a record left saying "running" is taken
 * up again after a restart, and its result delivered a second time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/jobs/types.ts';
import { startHarness, type Harness } from '../e2e/jobs/harness.ts';

let h: Harness | undefined;

afterEach(async () => {
  h?.sims[0]?.release();
  await h?.close();
  h = undefined;
});

describe('the job store fails as a job ends', () => {
  it('saves the end once the store is back (with refs set meanwhile), so a restart delivers nothing twice', async () => {
    h = await startHarness({ hosts: 1, stepMs: 10 });
    h.sims[0].stallNext();
    const job = await h.service.enqueue(h.makeJob('A', { steps: 3 }));
    await h.waitFor(() => h!.eventsOf(job.id).some((e) => e.type === 'running'), 10_000, 'the job to run');

    // The store stops taking writes (Redis away, disk full) just before the job ends.
    const store = h.store;
    const working = store.save.bind(store);
    let down = true;
    store.save = async (rec: JobRecord) => {
      if (down) throw new Error('ECONNREFUSED: the job store is not answering');
      return working(rec);
    };
    h.sims[0].release();
    expect((await h.finished(job.id, 15_000)).type).toBe('done');
    expect((await store.get(job.id))?.state).toBe('running');
    // The front end records where it posted the result, while the store is still down.
    await h.service.setPlatformRefs(job.id, { chat: { resultMessage: 'm-1' } });

    down = false;
    const saved = await waitForRecord(h, job.id, (r) => r.state === 'done');
    expect(saved.outputs?.length).toBeGreaterThan(0);
    expect(saved.platformRefs).toMatchObject({ chat: { resultMessage: 'm-1' } });

    // Easel restarts: nothing is taken up again, nothing is delivered again.
    const doneBefore = h.events.filter((e) => e.job.id === job.id && e.type === 'done').length;
    await h.stopService();
    await h.startService();
    await new Promise((r) => setTimeout(r, 500)); // room for a recovered job to run or be delivered
    expect(h.events.filter((e) => e.job.id === job.id && e.type === 'done')).toHaveLength(doneBefore);
    expect(h.sims[0].submittedPromptIds()).toHaveLength(1);
    expect((await h.store.get(job.id))?.state).toBe('done');
  });
});

async function waitForRecord(h: Harness, id: string, ok: (r: JobRecord) => boolean): Promise<JobRecord> {
  const until = Date.now() + 10_000;
  for (;;) {
    const r = await h.store.get(id);
    if (r && ok(r)) return r;
    if (Date.now() > until) throw new Error(`the store still has ${JSON.stringify(r?.state)} for ${id}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
