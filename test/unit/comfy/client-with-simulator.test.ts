/**
 * The ComfyClient against the built-in ComfyUI simulator (same HTTP + WebSocket protocol as ComfyUI 0.3.64).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComfyClient, type PromptRun } from '../../../src/comfy/client.ts';
import {
  ExecutionFailedError,
  HostUnavailableError,
  PromptInterruptedError,
  PromptLostError,
  UploadTooLargeError,
  WorkflowRejectedError,
} from '../../../src/comfy/errors.ts';
import type { PromptEvent } from '../../../src/comfy/types.ts';
import { startSimulator } from '../../../src/simulator/index.ts';
import type { Simulator } from '../../../src/simulator/types.ts';
import { startAuthProxy, type AuthProxy } from './auth-proxy.ts';
import { img2img, pngOf, withBrokenSecondOutput } from './workflows.ts';

let sim: Simulator;
let dataDir: string;
let client: ComfyClient;
let image: string;
const closers: Array<() => Promise<unknown>> = [];

function collect(run: PromptRun): PromptEvent[] {
  const events: PromptEvent[] = [];
  run.on((e) => events.push(e));
  return events;
}

function newClient(url = sim.url, name = 'sim-1', extra: ConstructorParameters<typeof ComfyClient>[1] = {}): ComfyClient {
  const c = new ComfyClient({ name, url, timeoutMs: 5_000 }, { backoff: { initialMs: 20, maxMs: 200 }, ...extra });
  closers.push(() => c.close());
  return c;
}

function waitFor(c: ComfyClient, event: 'up' | 'down'): Promise<unknown> {
  return new Promise((r) => c.once(event, r));
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'easel-client-test-'));
  sim = await startSimulator({ stepMs: 5, dataDir });
  client = newClient();
  await client.connect();
  image = await client.uploadImage(await pngOf([200, 40, 40]));
});

afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await sim?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a prompt from submission to image', () => {
  it('reports queued, started, executing, progress, previews, executed, success; and /view gives the PNG', async () => {
    const statuses: number[] = [];
    client.on('status', (n: number) => statuses.push(n));
    const run = await client.submit(img2img({ image, steps: 4, seed: 1 }));
    expect(run.promptId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(run.warnings).toEqual([]);
    const events = collect(run);
    const result = await run.done;
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('queued');
    expect(types[1]).toBe('started');
    expect(types).toContain('cached');
    expect(types.at(-1)).toBe('success');
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.map((p) => (p as { value: number }).value)).toEqual([1, 2, 3, 4]);
    expect(progress.every((p) => (p as { max: number }).max === 4)).toBe(true);
    const executing = events.find((e) => e.type === 'executing' && e.node === '3');
    expect(executing).toMatchObject({ classType: 'KSampler' });
    // live listeners see every preview (type-4 frames, routed by their prompt_id)
    const previews = events.filter((e) => e.type === 'preview');
    expect(previews.length).toBeGreaterThan(0);
    expect((previews[0] as { image: Buffer }).image.subarray(0, 2).toString('hex')).toBe('ffd8');
    expect(Object.keys(result.outputs)).toEqual(['9']);
    const [ref] = result.outputs['9'];
    expect(ref).toMatchObject({ subfolder: 'easel-test', type: 'output' });
    expect(ref.filename).toMatch(/^img2img_\d{5}_\.png$/);
    const png = await client.view(ref);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    // the uploaded input is also viewable, with type input
    const input = await client.view({ filename: image, subfolder: '', type: 'input' });
    expect(input.subarray(1, 4).toString()).toBe('PNG');
    expect(statuses).toContain(1);
    expect(statuses.at(-1)).toBe(0);
    client.removeAllListeners('status');
  });

  it('a client that did not negotiate preview metadata gets type-1 previews routed to the running prompt', async () => {
    const legacy = newClient(sim.url, 'sim-legacy', { previewMetadata: false });
    await legacy.connect();
    const run = await legacy.submit(img2img({ image, steps: 3, seed: 2 }));
    const events = collect(run);
    await run.done;
    expect(events.filter((e) => e.type === 'preview').length).toBeGreaterThan(0);
  });

  it('an identical resubmission is all cached and gives the same file', async () => {
    const wf = img2img({ image, steps: 3, seed: 77 });
    const first = await (await client.submit(wf)).done;
    const again = await client.submit(wf);
    const events = collect(again);
    const second = await again.done;
    expect(second.outputs).toEqual(first.outputs);
    expect(second.cachedNodes.sort()).toEqual(Object.keys(wf).sort());
    expect(events.some((e) => e.type === 'progress')).toBe(false);
  });

  it('a node failing at run time rejects with node, exception type and message', async () => {
    sim.failNext({ exceptionType: 'torch.OutOfMemoryError', message: 'Allocation on device' });
    const run = await client.submit(img2img({ image, steps: 3, seed: 3 }));
    const events = collect(run);
    const err = await run.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionFailedError);
    expect(err).toMatchObject({ nodeId: '3', classType: 'KSampler', exceptionType: 'torch.OutOfMemoryError' });
    expect((err as Error).message).toContain('KSampler (node 3) failed: torch.OutOfMemoryError: Allocation on device');
    expect(events.at(-1)).toMatchObject({ type: 'error', node: '3', exceptionType: 'torch.OutOfMemoryError' });
  });
});

describe('workflows the host refuses', () => {
  const cases: Array<[string, () => ReturnType<typeof img2img>, string]> = [
    [
      'denoise above its maximum',
      () => img2img({ image, denoise: 1.5, samplerTitle: 'Sampler' }),
      'KSampler "Sampler" (node 3): denoise 1.5 is above the maximum 1.0',
    ],
    ['steps below the minimum', () => img2img({ image, steps: 0 }), 'KSampler (node 3): steps 0 is below the minimum 1'],
    [
      'a missing input image',
      () => img2img({ image: 'x.png' }),
      'LoadImage (node 10): image file "x.png" is not on the host',
    ],
    [
      'an unknown checkpoint',
      () => img2img({ image, ckpt: 'x' }),
      'CheckpointLoaderSimple "Load Checkpoint" (node 4): ckpt_name "x" is not one of the host\'s options: sd_v1-5.safetensors, sdxl_base_1.0.safetensors',
    ],
    [
      'an unknown sampler',
      () => img2img({ image, sampler: 'euler_fancy' }),
      'KSampler (node 3): sampler_name "euler_fancy" is not one of the host\'s',
    ],
    [
      'an unknown node type',
      () => {
        const wf = img2img({ image });
        wf['3'].class_type = 'KSamplerTurbo';
        return wf;
      },
      'KSamplerTurbo (node 3): the host does not have this node type (is a custom node missing?)',
    ],
    [
      'a missing required input',
      () => {
        const wf = img2img({ image });
        delete wf['3'].inputs.latent_image;
        return wf;
      },
      'KSampler (node 3): required input latent_image is missing',
    ],
    [
      'no output node',
      () => {
        const wf = img2img({ image });
        delete wf['9'];
        return wf;
      },
      'the workflow has no output node (such as SaveImage), so it would produce nothing',
    ],
  ];
  for (const [what, build, reason] of cases) {
    it(`${what}: WorkflowRejectedError in plain words`, async () => {
      const err = await client.submit(build()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowRejectedError);
      const reasons = (err as WorkflowRejectedError).problems.map((p) => p.reason);
      expect(reasons.some((r) => r.startsWith(reason))).toBe(true);
      expect((err as Error).message).toContain(reason);
    });
  }

  it('a 200 that drops one output resolves with warnings naming the dropped node', async () => {
    const run = await client.submit(withBrokenSecondOutput({ image, steps: 2, seed: 5 }));
    expect(run.warnings.map((w) => w.reason)).toEqual([
      'KSampler "Broken sampler" (node 13): denoise 1.5 is above the maximum 1.0',
    ]);
    const result = await run.done;
    expect(Object.keys(result.outputs)).toEqual(['9']);
  });
});

describe('uploads named by content', () => {
  let counting: AuthProxy;
  let viaProxy: ComfyClient;
  beforeAll(async () => {
    counting = await startAuthProxy(sim.url, () => true);
    closers.push(() => counting.close());
    viaProxy = newClient(counting.url, 'sim-counted');
  });
  const uploads = () => counting.seen.filter((s) => s.path.startsWith('/upload/image')).length;

  it('the same image twice is uploaded once; a different image is uploaded too', async () => {
    const a = await pngOf([1, 2, 3]);
    const n1 = await viaProxy.uploadImage(a);
    const [n2, n3] = await Promise.all([viaProxy.uploadImage(a), viaProxy.uploadImage(Buffer.from(a))]);
    expect(n1).toMatch(/^easel-[0-9a-f]{64}\.png$/);
    expect(n2).toBe(n1);
    expect(n3).toBe(n1);
    expect(uploads()).toBe(1);
    const b = await viaProxy.uploadImage(await pngOf([4, 5, 6]), { prefix: 'discord' });
    expect(b).toMatch(/^discord-[0-9a-f]{64}\.png$/);
    expect(uploads()).toBe(2);
  });

  it('when the host already holds other bytes under that name, the name it answers is used', async () => {
    const mine = await pngOf([9, 9, 9]);
    const other = await pngOf([250, 250, 250]);
    const name = `easel-${createHash('sha256').update(mine).digest('hex')}.png`;
    // someone else put different bytes under our name
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(other)], { type: 'image/png' }), name);
    const res = await fetch(`${sim.url}/upload/image`, { method: 'POST', body: form });
    expect(((await res.json()) as { name: string }).name).toBe(name);
    const answered = await viaProxy.uploadImage(mine);
    expect(answered).toBe(name.replace(/\.png$/, ' (1).png'));
    const run = await viaProxy.submit(img2img({ image: answered, steps: 2, seed: 8 }));
    await expect(run.done).resolves.toMatchObject({ outputs: { '9': expect.any(Array) } });
  });

  it('a host that says the uploaded file is missing makes the next upload go to the host again', async () => {
    const bytes = await pngOf([33, 66, 99]);
    const name = await viaProxy.uploadImage(bytes);
    const before = uploads();
    await rm(join(dataDir, 'input', name));
    const err = await viaProxy.submit(img2img({ image: name })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowRejectedError);
    expect((err as Error).message).toContain(`image file "${name}" is not on the host`);
    expect(await viaProxy.uploadImage(bytes)).toBe(name);
    expect(uploads()).toBe(before + 1);
  });
});

describe('queue control', () => {
  it('interrupt stops a running prompt', async () => {
    const run = await client.submit(img2img({ image, steps: 400, seed: 11 }));
    const events = collect(run);
    await new Promise<void>((r) => run.on((e) => e.type === 'progress' && r()));
    await client.interrupt(run.promptId);
    await expect(run.done).rejects.toBeInstanceOf(PromptInterruptedError);
    expect(events.at(-1)).toMatchObject({ type: 'interrupted' });
  });

  it('queue() lists pending prompts in run order; deletePending removes waiting ones', async () => {
    const a = await client.submit(img2img({ image, steps: 400, seed: 21 }));
    const b = await client.submit(img2img({ image, steps: 2, seed: 22 }));
    const c = await client.submit(img2img({ image, steps: 2, seed: 23 }));
    await new Promise<void>((r) => a.on((e) => e.type === 'started' && r()));
    const q = await client.queue();
    expect(q.running.map((i) => i.promptId)).toEqual([a.promptId]);
    expect(q.pending.map((i) => i.promptId)).toEqual([b.promptId, c.promptId]);
    expect(await client.queueRemaining()).toBe(3);
    await client.deletePending([b.promptId]);
    await expect(b.done).rejects.toBeInstanceOf(PromptInterruptedError);
    await client.interrupt(a.promptId);
    await expect(a.done).rejects.toBeInstanceOf(PromptInterruptedError);
    await expect(c.done).resolves.toMatchObject({ promptId: c.promptId });
    expect(sim.submittedPromptIds()).toContain(b.promptId);
  });

  it('interrupt of a prompt still waiting removes it from the queue', async () => {
    const a = await client.submit(img2img({ image, steps: 400, seed: 31 }));
    const b = await client.submit(img2img({ image, steps: 2, seed: 32 }));
    await client.interrupt(b.promptId);
    await expect(b.done).rejects.toBeInstanceOf(PromptInterruptedError);
    await client.interrupt(a.promptId);
    await expect(a.done).rejects.toBeInstanceOf(PromptInterruptedError);
  });
});

describe('host information', () => {
  it('system stats and a cached node catalogue', async () => {
    const stats = await client.systemStats();
    expect(stats.comfyuiVersion).toMatch(/^\d+\.\d+/);
    expect(stats.devices.length).toBeGreaterThan(0);
    const cat = await client.objectInfo();
    expect(cat.options('CheckpointLoaderSimple', 'ckpt_name')).toEqual(['sd_v1-5.safetensors', 'sdxl_base_1.0.safetensors']);
    // V3 nodes send combos as ["COMBO", {"options": [...]}]: read the same way as [[...], {...}]
    expect(cat.input('UpscaleModelLoader', 'model_name')?.kind).toBe('combo');
    expect(cat.options('UpscaleModelLoader', 'model_name')).toEqual(['4x-UltraSharp.pth']);
    expect(cat.options('ImageScaleToTotalPixels', 'upscale_method')).toEqual(['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos']);
    expect(cat.input('KSampler', 'denoise')).toMatchObject({ kind: 'float', min: 0, max: 1 });
    expect(await client.objectInfo()).toBe(cat);
    expect(await client.objectInfo({ refresh: true })).not.toBe(cat);
  });
});

describe('attach after a process restart', () => {
  it('a new client attaches to a finished prompt and to a running one', async () => {
    const finished = await client.submit(img2img({ image, steps: 2, seed: 41 }));
    const outputs = (await finished.done).outputs;
    const running = await client.submit(img2img({ image, steps: 30, seed: 42 }));
    const later = newClient(sim.url, 'sim-restarted-process', { attachPollMs: 100 });
    await later.connect();
    await expect(later.attach(finished.promptId).done).resolves.toMatchObject({ outputs });
    const again = later.attach(running.promptId);
    const res = await again.done;
    expect(res.outputs['9']).toHaveLength(1);
    expect(res).toEqual({ ...(await running.done), cachedNodes: expect.any(Array) });
    await expect(later.attach('00000000-0000-4000-8000-000000000000').done).rejects.toBeInstanceOf(PromptLostError);
  });
});

describe('a dropped socket and a host restart', () => {
  it('a socket dropped mid-job reconnects and the job still completes', async () => {
    const c = newClient(sim.url, 'sim-drop');
    await c.connect();
    const downs: string[] = [];
    c.on('down', (r: string) => downs.push(r));
    const run = await c.submit(img2img({ image, steps: 40, seed: 51 }));
    await new Promise<void>((r) => run.on((e) => e.type === 'progress' && r()));
    const up = waitFor(c, 'up');
    sim.dropSockets();
    await up;
    const result = await run.done;
    expect(result.outputs['9']).toHaveLength(1);
    expect(downs).toHaveLength(1);
    expect(c.connected).toBe(true);
  });

  it('a socket dropped while several prompts wait: all complete', async () => {
    const c = newClient(sim.url, 'sim-drop-many');
    await c.connect();
    const runs = await Promise.all([61, 62, 63].map((seed) => c.submit(img2img({ image, steps: 10, seed }))));
    sim.dropSockets();
    const results = await Promise.all(runs.map((r) => r.done));
    expect(results.map((r) => r.outputs['9'].length)).toEqual([1, 1, 1]);
  });

  it('a long silent node does not kill a socket that answers pings', async () => {
    const c = newClient(sim.url, 'sim-slow', { livenessMs: 150, pongTimeoutMs: 400 });
    await c.connect();
    const downs: string[] = [];
    c.on('down', (r: string) => downs.push(r));
    sim.stallNext();
    const run = await c.submit(img2img({ image, steps: 2, seed: 71 }));
    await new Promise((r) => setTimeout(r, 900));
    expect(downs).toEqual([]);
    sim.release();
    await expect(run.done).resolves.toMatchObject({ promptId: run.promptId });
  });

  it('a host restart mid-job rejects with PromptLostError, nothing hangs', async () => {
    const c = newClient(sim.url, 'sim-restart');
    await c.connect();
    const run = await c.submit(img2img({ image, steps: 400, seed: 81 }));
    const events = collect(run);
    await new Promise<void>((r) => run.on((e) => e.type === 'progress' && r()));
    await sim.restart();
    const err = await run.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PromptLostError);
    expect((err as Error).message).toMatch(/was lost by the host: host sim-restart no longer has it/);
    expect(events.at(-1)).toMatchObject({ type: 'lost' });
    // the client works again after the restart
    const name = await c.uploadImage(await pngOf([200, 40, 40]));
    const next = await c.submit(img2img({ image: name, steps: 2, seed: 82 }));
    await expect(next.done).resolves.toMatchObject({ promptId: next.promptId });
    // client (shared) reconnects too
    await client.connect();
  });
});

describe('a socket that silently stops delivering, and a lost HTTP answer', () => {
  it('a socket that no longer answers pings is replaced, and the job completes', async () => {
    const proxy = await startAuthProxy(sim.url, () => true);
    closers.push(() => proxy.close());
    const c = newClient(proxy.url, 'sim-zombie', { livenessMs: 150, pongTimeoutMs: 300 });
    await c.connect();
    const downs: string[] = [];
    c.on('down', (r: string) => downs.push(r));
    const run = await c.submit(img2img({ image, steps: 200, seed: 101 }));
    await new Promise<void>((r) => run.on((e) => e.type === 'progress' && r()));
    const up = waitFor(c, 'up');
    proxy.freezeSockets();
    await up;
    expect(downs).toEqual(['the WebSocket stopped answering pings (the host still answers HTTP)']);
    await expect(run.done).resolves.toMatchObject({ promptId: run.promptId });
    expect(proxy.seen.filter((s) => s.kind === 'upgrade')).toHaveLength(2);
  });

  it('a prompt that finishes before the POST answer arrives loses none of its events', async () => {
    const proxy = await startAuthProxy(sim.url, () => true, {
      holdMs: (method, path) => (method === 'POST' && path === '/prompt' ? 400 : 0),
    });
    closers.push(() => proxy.close());
    const c = newClient(proxy.url, 'sim-late-answer');
    await c.connect();
    const run = await c.submit(img2img({ image, steps: 3, seed: 105 }));
    const events = collect(run);
    await run.done;
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('queued');
    expect(types.filter((t) => t === 'progress')).toHaveLength(3);
    expect(types.at(-1)).toBe('success');
  });

  it('a POST /prompt whose answer never arrives is found in the queue, not submitted twice', async () => {
    const proxy = await startAuthProxy(sim.url, () => true, {
      holdMs: (method, path) => (method === 'POST' && path === '/prompt' ? 1_500 : 0),
    });
    closers.push(() => proxy.close());
    const c = new ComfyClient({ name: 'sim-slow-answer', url: proxy.url, timeoutMs: 400 });
    closers.push(() => c.close());
    await c.connect();
    const run = await c.submit(img2img({ image, steps: 3, seed: 111 }));
    await expect(run.done).resolves.toMatchObject({ promptId: run.promptId });
    expect(sim.submittedPromptIds().filter((id) => id === run.promptId)).toHaveLength(1);
  });
});

describe('a host that goes away for good', () => {
  it('in-flight prompts reject HostUnavailableError after giveUpMs, and connect() says why', async () => {
    const gone = await startSimulator({ stepMs: 5 });
    closers.push(() => gone.close());
    const c = newClient(gone.url, 'sim-gone', { giveUpMs: 400, livenessMs: 1_000 });
    await c.connect();
    const name = await c.uploadImage(await pngOf([5, 5, 5]));
    const run = await c.submit(img2img({ image: name, steps: 400, seed: 121 }));
    await new Promise<void>((r) => run.on((e) => e.type === 'progress' && r()));
    const down = waitFor(c, 'down');
    await gone.kill();
    await down;
    const err = await run.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostUnavailableError);
    expect((err as Error).message).toMatch(/^ComfyUI host sim-gone is unavailable: .*connection refused/);
    await expect(c.connect()).rejects.toThrow(/sim-gone is unavailable: connection refused/);
  });
});

describe('hosts behind an authenticating reverse proxy', () => {
  const token = 'tok-Z9x8y7';
  const variants = [
    { label: 'bearer token', auth: { kind: 'bearer' as const, token }, ok: (h: Record<string, unknown>) => h.authorization === `Bearer ${token}` },
    {
      label: 'basic auth',
      auth: { kind: 'basic' as const, username: 'easel', password: token },
      ok: (h: Record<string, unknown>) => h.authorization === `Basic ${Buffer.from(`easel:${token}`).toString('base64')}`,
    },
    { label: 'custom header', auth: { kind: 'header' as const, name: 'X-API-Key', value: token }, ok: (h: Record<string, unknown>) => h['x-api-key'] === token },
  ];
  let seed = 90;
  for (const v of variants) {
    it(`${v.label} reaches every HTTP call and the WebSocket upgrade`, async () => {
      const proxy = await startAuthProxy(sim.url, (h) => v.ok(h as Record<string, unknown>));
      closers.push(() => proxy.close());
      const c = new ComfyClient({ name: 'gpu-proxied', url: proxy.url, auth: v.auth, timeoutMs: 5_000 }, { backoff: { initialMs: 20, maxMs: 200 } });
      closers.push(() => c.close());
      await c.connect();
      const name = await c.uploadImage(await pngOf([10, 200, 10]));
      const run = await c.submit(img2img({ image: name, steps: 2, seed: ++seed }));
      const events = collect(run);
      const result = await run.done;
      await c.view(result.outputs['9'][0]);
      expect(events.some((e) => e.type === 'progress')).toBe(true); // events came over the authenticated socket
      expect(proxy.seen.some((s) => s.kind === 'upgrade')).toBe(true);
      expect(proxy.seen.every((s) => s.ok)).toBe(true);

      const wrong = new ComfyClient({ name: 'gpu-proxied', url: proxy.url, auth: { kind: 'bearer', token: 'wrong-secret-1' } });
      closers.push(() => wrong.close());
      const err = await wrong.submit(img2img({ image: name })).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/gpu-proxied is unavailable: .*HTTP 401/);
      expect((err as Error).message).not.toContain('wrong-secret-1');
    });
  }
});

describe('limits', () => {
  it('an upload over the host limit is UploadTooLargeError, classified before JSON parsing', async () => {
    const small = await startSimulator({ stepMs: 5, maxUploadBytes: 2048 });
    closers.push(() => small.close());
    const c = newClient(small.url, 'sim-small');
    const big = await pngOf([1, 1, 1], 2048);
    const noisy = Buffer.concat([big, Buffer.alloc(8192, 7)]);
    const err = await c.uploadImage(noisy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadTooLargeError);
  });
});
