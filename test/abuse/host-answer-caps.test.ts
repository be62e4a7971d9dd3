/**
 * Finding 3 (issue 10): nothing a host sends is unbounded. Against the simulator's endless-body and
 * oversized-WebSocket faults: every read stops at its cap with a reason naming the host and the cap,
 * the connection is dropped (no hang, no memory growth), and the client recovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComfyClient } from '../../src/comfy/client.ts';
import { HostUnavailableError } from '../../src/comfy/errors.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import type { Simulator } from '../../src/simulator/types.ts';
import { startHarness, type Harness } from '../e2e/jobs/harness.ts';
import { img2img, pngOf } from '../unit/comfy/workflows.ts';

let sim: Simulator;
let client: ComfyClient;
let image: string;

beforeAll(async () => {
  sim = await startSimulator({ stepMs: 5, previews: false });
  client = new ComfyClient({ name: 'endless-host', url: sim.url, timeoutMs: 20_000 }, { backoff: { initialMs: 20, maxMs: 200 } });
  await client.connect();
  image = await client.uploadImage(await pngOf([10, 120, 200]));
});

afterAll(async () => {
  await client?.close();
  await sim?.close();
});

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

describe('an endless body is cut off at the cap', () => {
  it('GET /view: stops at 100 MiB and names the host and the cap', async () => {
    const run = await client.submit(img2img({ image, steps: 2, seed: 5 }));
    const result = await run.done;
    const ref = Object.values(result.outputs)[0][0];
    sim.endlessBodyNext('/view');
    const before = process.memoryUsage().rss;
    const err = await failure(client.view(ref));
    expect(err).toBeInstanceOf(HostUnavailableError);
    expect(err.message).toContain('endless-host');
    expect(err.message).toMatch(/GET \/view: the answer is larger than 100 MiB/);
    // Bounded: at most about one cap's worth was ever held (never the GBs an endless read reaches).
    expect(process.memoryUsage().rss - before).toBeLessThan(400 * 1024 * 1024);
    // The host is fine otherwise: the same image comes through on the next call.
    expect((await client.view(ref)).subarray(1, 4).toString()).toBe('PNG');
  });

  it.each([
    ['/history/', (c: ComfyClient) => c.history('4a8e5b0e-9d55-4a50-b3b2-5d5e8d1c1f00'), '8 MiB'],
    ['/queue', (c: ComfyClient) => c.queue(), '8 MiB'],
    ['/system_stats', (c: ComfyClient) => c.systemStats(), '8 MiB'],
    ['/object_info', (c: ComfyClient) => c.objectInfo({ refresh: true }), '32 MiB'],
  ])('GET %s stops at its cap', async (path, call, cap) => {
    sim.endlessBodyNext(path);
    const err = await failure(call(client));
    expect(err).toBeInstanceOf(HostUnavailableError);
    expect(err.message).toContain(`ComfyUI host endless-host is unavailable: GET ${path}`);
    expect(err.message).toContain(`larger than ${cap}`);
  });
});

describe('an oversized WebSocket message', () => {
  it('drops the socket with a clear reason; the client reconnects and the prompt in flight still finishes', async () => {
    sim.setStepMs(40);
    const run = await client.submit(img2img({ image, steps: 20, seed: 6 }));
    await new Promise<void>((r) => run.on((e) => e.type === 'progress' && r()));
    const down = new Promise<string>((r) => client.once('down', r));
    const up = new Promise<void>((r) => client.once('up', () => r()));
    sim.sendOversizedWsMessage(9 * 1024 * 1024);
    expect(await down).toMatch(/WebSocket message larger than 8 MiB/);
    await up;
    await expect(run.done).resolves.toMatchObject({ promptId: run.promptId });
    sim.setStepMs(5);
  });
});

describe('a job whose host keeps streaming its image', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 5, service: { maxHostFailures: 2 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('fails with a reason naming the host and the cap instead of hanging', async () => {
    h.sims[0].endlessBodyNext('/view', 10);
    const job = await h.service.enqueue(h.makeJob('alice', { steps: 2 }));
    const end = await h.finished(job.id, 25_000);
    expect(end.type).toBe('failed');
    const reason = end.type === 'failed' ? end.reason : '';
    expect(reason).toContain('gpu-1');
    expect(reason).toContain('larger than 100 MiB');
    // Once the host stops misbehaving, the next job goes through.
    h.sims[0].endlessBodyNext('/view', 0);
    const next = await h.service.enqueue(h.makeJob('alice', { steps: 2 }));
    expect((await h.finished(next.id, 25_000)).type).toBe('done');
  });
});
