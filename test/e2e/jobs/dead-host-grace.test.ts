import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';

/**
 * With the pool's own defaults (no test-sized giveUpMs): a host that dies mid-job must not hold its
 * job for long while another host sits idle. Its jobs go back in line a few seconds after the host
 * stops answering, and still run exactly once.
 */
describe('a host killed mid-job with a second idle host, pool defaults', () => {
  let h: Harness;
  beforeAll(async () => {
    // giveUpMs undefined: the pool's default grace applies, as in production.
    h = await startHarness({ hosts: 2, stepMs: 20, pool: { client: { giveUpMs: undefined } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('finishes the job on the other host within seconds of the kill, not after 30 s', async () => {
    const [sim1, sim2] = h.sims;
    const downs: string[] = [];
    h.pool.on('host-down', (name: string) => downs.push(name));
    const job = await h.service.enqueue(h.makeJob('A', { steps: 60 }));
    await h.waitFor(() => h.eventsOf(job.id).some((e) => e.type === 'running' && e.step >= 3), 10_000, 'the job to be sampling');
    const firstHost = (await h.store.get(job.id))!.host!;
    const dying = firstHost === 'gpu-1' ? sim1 : sim2;
    const other = firstHost === 'gpu-1' ? sim2 : sim1;
    const otherName = firstHost === 'gpu-1' ? 'gpu-2' : 'gpu-1';
    expect(h.pool.load(otherName)).toBe(0); // the other host is idle

    const killedAt = Date.now();
    await dying.kill();
    const end = await h.finished(job.id, 25_000);
    const elapsed = Date.now() - killedAt;

    expect(end.type).toBe('done');
    expect(downs).toContain(firstHost);
    // Well under the old 30 s hold (the default grace is 6 s, the rerun itself about 1 s).
    expect(elapsed).toBeLessThan(12_000);
    const rec = (await h.store.get(job.id))!;
    expect(rec.host).toBe(otherName);
    expect(rec.outputs).toHaveLength(1);
    expect(rec.promptIds).toHaveLength(2);
    expect(other.submittedPromptIds().filter((id) => rec.promptIds!.includes(id))).toEqual([rec.promptIds![1]]);
    expect(h.eventsOf(job.id).filter((e) => e.type === 'done')).toHaveLength(1);
    const waiting = h.eventsOf(job.id).find((e) => e.type === 'waiting');
    expect(waiting && waiting.type === 'waiting' && waiting.reason).toMatch(/will run on another GPU/);
  });
});
