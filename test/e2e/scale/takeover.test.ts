/**
 * An instance is killed (SIGKILL) while its jobs are on a GPU host. The survivor takes them over:
 * it takes the finished prompts' results from the host instead of running them again, and every
 * result is delivered exactly once — the killed instance's too, by the survivor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster, type Instance } from './cluster.ts';

describe('an instance dies mid-job', () => {
  let c: Cluster;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    c = await startCluster({ hosts: 2, stepMs: 15, lockMs: 2_000, leaseMs: 1_500 });
    [a, b] = await Promise.all([c.start('a'), c.start('b')]);
  }, 60_000);

  afterAll(async () => {
    await c?.close();
  });

  it('its jobs finish on the survivor, none runs twice, each result is delivered once', async () => {
    // Each instance drives one host once the leases have settled.
    await c.oneHostEach();
    const ids: Array<{ id: string; front: string }> = [];
    for (let i = 0; i < 6; i++) {
      const front = i % 2 === 0 ? a : b;
      ids.push({ id: await front.submit(`user-${i}`, 300 + i, 40), front: front.name });
      c.watch.push(ids[i].id);
    }
    // Kill b while a job is running on the host b drives.
    await c.waitFor(
      async () => {
        for (const { id } of ids) {
          const r = await c.job(id);
          if (r?.state === 'running' && r.host && (await c.leaseOf(r.host)) === 'b') return true;
        }
        return false;
      },
      20_000,
      'a job running on b',
    );
    const deliveredBefore = c.deliveries.length;
    await b.kill();

    await c.waitFor(() => ids.every(({ id }) => c.deliveries.some((d) => d.jobId === id)), 45_000, 'every result');
    await new Promise((r) => setTimeout(r, 1_000)); // room for a duplicate to show
    for (const { id } of ids) {
      const got = c.deliveries.filter((d) => d.jobId === id);
      expect(got.map((d) => `${d.outcome}/${d.outputs}`), `deliveries of ${id}`).toEqual(['done/1']);
    }
    // Everything finished after the kill was posted by the survivor, b's own jobs included.
    expect(c.deliveries.slice(deliveredBefore).every((d) => d.instance === 'a')).toBe(true);
    expect(c.deliveries.slice(deliveredBefore).some((d) => ids.find((x) => x.id === d.jobId)?.front === 'b')).toBe(true);
    // No job ran twice: one prompt per job on the hosts, and those are the prompts the records name.
    const prompts = c.prompts();
    expect(prompts.length).toBe(ids.length);
    expect(new Set(prompts).size).toBe(prompts.length);
    const records = await Promise.all(ids.map(({ id }) => c.job(id)));
    expect(records.map((r) => r?.state)).toEqual(ids.map(() => 'done'));
    expect(records.flatMap((r) => r?.promptIds ?? []).sort()).toEqual([...prompts].sort());
    // The survivor drives both hosts now.
    expect([await c.leaseOf('gpu-1'), await c.leaseOf('gpu-2')]).toEqual(['a', 'a']);
  }, 90_000);
});
