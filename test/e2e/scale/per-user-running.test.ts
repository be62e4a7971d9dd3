/**
 * limits.perUserRunning holds across instances: with a limit of 1, one user's jobs never run on two
 * GPUs at once even when each of two instances drives its own host and both took that user's jobs.
 * Another user's work is not held up meanwhile: the free GPU serves them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusyInterval } from '../../../src/simulator/types.ts';
import { startCluster, type Cluster, type Instance } from './cluster.ts';

describe('per-user running limit across instances', () => {
  let c: Cluster;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    c = await startCluster({ hosts: 2, stepMs: 10, limits: { perUserRunning: 1 } });
    [a, b] = await Promise.all([c.start('a'), c.start('b')]);
  }, 60_000);

  afterAll(async () => {
    await c?.close();
  });

  /** Each prompt's run on its host, by prompt id. */
  const runs = () => {
    const out = new Map<string, BusyInterval & { host: number }>();
    c.sims.forEach((s, host) => {
      for (const b of s.busyLog()) out.set(b.promptId, { ...b, host });
    });
    return out;
  };

  it("one user's jobs taken by both instances run on one GPU at a time; the other GPU serves someone else", async () => {
    await c.oneHostEach();

    const mine: string[] = [];
    for (let i = 0; i < 4; i++) mine.push(await (i % 2 === 0 ? a : b).submit('busy-user', 700 + i, 30));
    const others = [await b.submit('other-user', 800, 30), await a.submit('other-user', 801, 30)];
    const all = [...mine, ...others];
    c.watch.push(...all);
    await c.waitFor(() => all.every((id) => c.deliveries.some((d) => d.jobId === id)), 40_000, 'all six results');
    await new Promise((r) => setTimeout(r, 300)); // room for a duplicate to show

    for (const id of all) expect(c.deliveries.filter((d) => d.jobId === id).map((d) => d.outcome), id).toEqual(['done']);
    const records = await Promise.all(all.map((id) => c.job(id)));
    expect(records.map((r) => r?.promptIds?.length)).toEqual(all.map(() => 1));

    const byPrompt = runs();
    const runOf = (id: string) => byPrompt.get(records[all.indexOf(id)]!.promptIds![0])!;
    const myRuns = mine.map(runOf);
    // Submitted through both instances (each drives one host), yet no two ran at once on different GPUs.
    for (const x of myRuns) {
      for (const y of myRuns) {
        if (x === y || x.host === y.host) continue;
        expect(x.end <= y.start || y.end <= x.start, `runs on gpu-${x.host + 1} and gpu-${y.host + 1} overlap`).toBe(true);
      }
    }
    // The other user's jobs did not wait for them: at least one ran while this user's jobs were running.
    const otherRuns = others.map(runOf);
    const overlaps = otherRuns.some((o) => myRuns.some((m) => m.host !== o.host && o.start < m.end && m.start < o.end));
    expect(overlaps).toBe(true);
    // Nothing is left claimed or parked once all is done.
    expect(await c.client.keys('easel:q:running:*')).toEqual([]);
  }, 60_000);
});
