/**
 * Finding 7 (issue 10): cancelling one job never stops another user's. The host here is a ComfyUI
 * from before targeted interrupt (POST /interrupt ignores prompt_id and stops whatever runs): a
 * prompt waiting in its queue must be deleted from the queue, and /interrupt is only sent for a
 * prompt the host's /queue shows as running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComfyClient } from '../../src/comfy/client.ts';
import { PromptInterruptedError } from '../../src/comfy/errors.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import type { Simulator } from '../../src/simulator/types.ts';
import { startHarness, type Harness } from '../e2e/jobs/harness.ts';
import { img2img, pngOf } from '../unit/comfy/workflows.ts';

describe('the client on an old-style (global) interrupt host', () => {
  let sim: Simulator;
  let client: ComfyClient;
  let image: string;
  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 5, previews: false });
    sim.globalInterruptOnly();
    client = new ComfyClient({ name: 'old-host', url: sim.url, timeoutMs: 5_000 }, { backoff: { initialMs: 20, maxMs: 200 } });
    await client.connect();
    image = await client.uploadImage(await pngOf([90, 30, 160]));
  });
  afterAll(async () => {
    await client?.close();
    await sim?.close();
  });

  it('removes a waiting prompt from the queue without stopping the running one', async () => {
    const running = await client.submit(img2img({ image, steps: 200, seed: 1 }));
    const waiting = await client.submit(img2img({ image, steps: 2, seed: 2 }));
    await new Promise<void>((r) => running.on((e) => e.type === 'progress' && r()));
    await client.interrupt(waiting.promptId);
    await expect(waiting.done).rejects.toBeInstanceOf(PromptInterruptedError);
    await expect(running.done).resolves.toMatchObject({ promptId: running.promptId });
    expect(sim.busyLog().some((b) => b.promptId === waiting.promptId)).toBe(false);
  });

  it('still interrupts its own prompt when the host shows it running', async () => {
    const run = await client.submit(img2img({ image, steps: 400, seed: 3 }));
    await new Promise<void>((r) => run.on((e) => e.type === 'progress' && r()));
    await client.interrupt(run.promptId);
    await expect(run.done).rejects.toBeInstanceOf(PromptInterruptedError);
  });

  it('sends nothing that could stop another prompt when its own already ended', async () => {
    const mine = await client.submit(img2img({ image, steps: 2, seed: 4 }));
    await mine.done;
    const other = await client.submit(img2img({ image, steps: 200, seed: 5 }));
    await new Promise<void>((r) => other.on((e) => e.type === 'progress' && r()));
    await client.interrupt(mine.promptId);
    await expect(other.done).resolves.toMatchObject({ promptId: other.promptId });
  });
});

describe('jobs of two users on an old-style interrupt host', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 20 });
    h.sims[0].globalInterruptOnly();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("cancelling Alice's job waiting on the host leaves Bob's running job alone", async () => {
    const bob = await h.service.enqueue(h.makeJob('bob', { steps: 40 }));
    const alice = await h.service.enqueue(h.makeJob('alice', { steps: 40 }));
    await h.waitFor(() => h.eventsOf(bob.id).some((e) => e.type === 'running' && e.step >= 2), 10_000, "Bob's job to be sampling");
    await h.waitFor(() => h.eventsOf(alice.id).some((e) => e.type === 'submitted'), 10_000, "Alice's job to wait on the host");
    expect((await h.service.cancel(alice.id)).state).toBe('cancelled');
    const end = await h.finished(bob.id);
    expect(end.type).toBe('done');
    const alicePrompt = (await h.store.get(alice.id))!.promptIds![0];
    expect(h.sims[0].busyLog().some((b) => b.promptId === alicePrompt)).toBe(false);
  });
});
