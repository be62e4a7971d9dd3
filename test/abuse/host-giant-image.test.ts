/**
 * Finding 3 (issue 10), pixels: a host sends back a ~30 KB PNG of 16000 × 16000 pixels. Easel reads
 * its header, refuses it with a reason naming the host, and never decodes it (no GBs, no seconds).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComfyClient } from '../../src/comfy/client.ts';
import { HostImageTooLargeError } from '../../src/comfy/errors.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import type { Simulator } from '../../src/simulator/types.ts';
import { startHarness, type Harness } from '../e2e/jobs/harness.ts';
import { img2img, pngOf } from '../unit/comfy/workflows.ts';

describe('the client', () => {
  let sim: Simulator;
  let client: ComfyClient;
  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 2, previews: false });
    client = new ComfyClient({ name: 'giant-host', url: sim.url, timeoutMs: 5_000 });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await sim?.close();
  });

  it('refuses a tiny file with a huge picture from /view, naming the host and the size', async () => {
    const image = await client.uploadImage(await pngOf([1, 2, 3]));
    sim.giantImageNext();
    const result = await (await client.submit(img2img({ image, steps: 2, seed: 77 }))).done;
    const ref = Object.values(result.outputs)[0][0];
    const before = process.memoryUsage().rss;
    const err = await client.view(ref).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostImageTooLargeError);
    expect((err as Error).message).toBe(
      'ComfyUI host giant-host sent back an image of 16000 × 16000 pixels (256 MP); Easel accepts at most 67.1 MP',
    );
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });
});

describe('a job', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 2 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('fails fast with a clear reason; nothing of the giant is stored', async () => {
    h.sims[0].giantImageNext();
    const job = await h.service.enqueue(h.makeJob('alice', { steps: 2 }));
    const end = await h.finished(job.id);
    expect(end.type).toBe('failed');
    expect(end.type === 'failed' && end.reason).toContain('ComfyUI host gpu-1 sent back an image of 16000 × 16000 pixels');
    // Rerunning gives the same picture: the answer says what to change, not "try again in a moment".
    expect(end.type === 'failed' && end.code).toBe('result_too_large');
    expect(end.type === 'failed' && end.reason).toContain('Try a smaller scale or size');
    expect((await h.store.get(job.id))!.outputs ?? []).toEqual([]);
    // The host's next (normal) result goes through.
    const next = await h.service.enqueue(h.makeJob('alice', { steps: 2 }));
    expect((await h.finished(next.id)).type).toBe('done');
  });
});
