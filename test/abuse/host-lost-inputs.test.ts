/**
 * Finding 5 (issue 10): a host restarted without its input folder. Easel forgets what it uploaded
 * when the host comes back, and when a host answers that an input image is missing it uploads it
 * again and retries once; a second "missing" fails with a clear reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComfyClient } from '../../src/comfy/client.ts';
import { WorkflowRejectedError } from '../../src/comfy/errors.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import type { Simulator } from '../../src/simulator/types.ts';
import { startHarness, type Harness } from '../e2e/jobs/harness.ts';
import { img2img, pngOf } from '../unit/comfy/workflows.ts';

describe('jobs on a host that restarts without its input folder', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 10 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the job in flight and the next one still complete', async () => {
    const warm = await h.service.enqueue(h.makeJob('alice', { steps: 2 }));
    expect((await h.finished(warm.id)).type).toBe('done');

    h.sims[0].stallNext();
    const inFlight = await h.service.enqueue(h.makeJob('alice', { steps: 4 }));
    await h.waitFor(() => h.eventsOf(inFlight.id).some((e) => e.type === 'running'), 10_000, 'the job to run');
    await h.sims[0].restart({ loseInputs: true });

    const end = await h.finished(inFlight.id, 25_000);
    expect(end.type === 'failed' ? end.reason : end.type).toBe('done');
    const next = await h.service.enqueue(h.makeJob('bob', { steps: 2 }));
    const nextEnd = await h.finished(next.id, 25_000);
    expect(nextEnd.type === 'failed' ? nextEnd.reason : nextEnd.type).toBe('done');
  });

  it('an input lost behind Easel\'s back (no restart seen) is uploaded again once', async () => {
    const first = await h.service.enqueue(h.makeJob('alice', { steps: 2 }));
    expect((await h.finished(first.id)).type).toBe('done');
    h.sims[0].loseInputs();
    const again = await h.service.enqueue(h.makeJob('alice', { steps: 2 }));
    const end = await h.finished(again.id);
    expect(end.type === 'failed' ? end.reason : end.type).toBe('done');
  });
});

describe('an input lost while its prompt waits in the host queue', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 10 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('fails at LoadImage on the host; Easel uploads it again and reruns it once', async () => {
    const other = await h.images.put(await pngOf([12, 34, 56], 48));
    h.sims[0].stallNext();
    const running = await h.service.enqueue(h.makeJob('bob', { steps: 2 }));
    await h.waitFor(() => h.eventsOf(running.id).some((e) => e.type === 'running'), 10_000, "Bob's job to run");
    const waiting = await h.service.enqueue({ ...h.makeJob('alice', { steps: 2 }), inputs: [other] });
    await h.waitFor(() => h.eventsOf(waiting.id).some((e) => e.type === 'submitted'), 10_000, "Alice's job to wait on the host");
    h.sims[0].loseInputs();
    h.sims[0].release();
    expect((await h.finished(running.id)).type).toBe('done');
    const end = await h.finished(waiting.id);
    expect(end.type === 'failed' ? end.reason : end.type).toBe('done');
    expect((await h.store.get(waiting.id))!.promptIds).toHaveLength(2);
  });
});

describe('the client', () => {
  let sim: Simulator;
  let client: ComfyClient;
  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 2, previews: false });
    client = new ComfyClient({ name: 'forgetful', url: sim.url, timeoutMs: 5_000 }, { backoff: { initialMs: 20, maxMs: 200 } });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await sim?.close();
  });

  it('forgets its uploads when the host comes back after a restart', async () => {
    const bytes = await pngOf([40, 200, 90]);
    const image = await client.uploadImage(bytes);
    const up = new Promise((r) => client.once('up', r));
    await sim.restart({ loseInputs: true });
    await up;
    expect(await client.uploadImage(bytes)).toBe(image);
    // Uploaded for real again: the prompt validates without any retry.
    await expect((await client.submit(img2img({ image, steps: 2, seed: 8 }))).done).resolves.toBeTruthy();
  });

  it('re-uploads once when the host says an input is missing; a second miss fails clearly', async () => {
    const bytes = await pngOf([200, 200, 10]);
    let reads = 0;
    const image = await client.uploadImage(bytes);
    sim.loseInputs();
    const inputs = [{ value: image, ext: 'png', read: async () => (reads++, bytes) }];
    await expect((await client.submit(img2img({ image, steps: 2, seed: 9 }), { inputs })).done).resolves.toBeTruthy();
    expect(reads).toBe(1);

    sim.vanishingUploads(true);
    sim.loseInputs();
    const err = await client.submit(img2img({ image, steps: 2, seed: 10 }), { inputs }).then(
      () => undefined,
      (e: unknown) => e,
    );
    sim.vanishingUploads(false);
    expect(err).toBeInstanceOf(WorkflowRejectedError);
    expect((err as Error).message).toContain(`image file "${image}" is not on the host, even after Easel uploaded it again`);
    expect(reads).toBe(2);
  });
});
