import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Simulator } from '../../../src/simulator/index.ts';
import { WsProbe, getJson, gradientPng, img2imgPromptText, postPrompt, promptBody, solidPng, startTestSim, upload } from './sim-helpers.ts';

describe('simulator HTTP routes', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startTestSim({ maxUploadBytes: 200_000 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('upload: same bytes keep the name, different bytes get "name (1).ext", overwrite replaces', async () => {
    const red = await solidPng(32, 32, [255, 0, 0]);
    const blue = await solidPng(32, 32, [0, 0, 255]);
    expect(await (await upload(sim, red, 'pic.png')).json()).toEqual({ name: 'pic.png', subfolder: '', type: 'input' });
    expect(await (await upload(sim, red, 'pic.png')).json()).toEqual({ name: 'pic.png', subfolder: '', type: 'input' });
    expect(await (await upload(sim, blue, 'pic.png')).json()).toEqual({ name: 'pic (1).png', subfolder: '', type: 'input' });
    expect((await (await upload(sim, await solidPng(8, 8, [0, 255, 0]), 'pic.png')).json()).name).toBe('pic (2).png');
    expect((await (await upload(sim, blue, 'pic.png')).json()).name).toBe('pic (1).png');
    expect((await (await upload(sim, blue, 'pic.png', { overwrite: 'true' })).json()).name).toBe('pic.png');
    const now = Buffer.from(await (await fetch(`${sim.url}/view?filename=pic.png&type=input`)).arrayBuffer());
    expect(now.equals(blue)).toBe(true);
    // "yes" is not an overwrite flag
    expect((await (await upload(sim, red, 'pic.png', { overwrite: 'yes' })).json()).name).toBe('pic (3).png');
    expect(await (await upload(sim, red, 'pic.png', { subfolder: 'sub' })).json()).toEqual({ name: 'pic.png', subfolder: 'sub', type: 'input' });
    const info = await getJson(sim, '/object_info/LoadImage');
    expect(info.LoadImage.input.required.image).toEqual([['pic (1).png', 'pic (2).png', 'pic (3).png', 'pic.png'], { image_upload: true }]);
  });

  it('upload without an image part is 400 with an empty body; escaping the folder is 400', async () => {
    const fd = new FormData();
    fd.append('overwrite', 'true');
    const res = await fetch(`${sim.url}/upload/image`, { method: 'POST', body: fd });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('');
    const esc = await upload(sim, await solidPng(4, 4, [1, 2, 3]), 'x.png', { subfolder: '../../etc' });
    expect(esc.status).toBe(400);
  });

  it('413 for any body over the limit, as plain text', async () => {
    const big = Buffer.alloc(250_000, 7);
    const up = await upload(sim, big, 'big.png');
    expect(up.status).toBe(413);
    expect(await up.text()).toBe('Maximum request body size 200000 exceeded.');
    const res = await fetch(`${sim.url}/api/prompt`, { method: 'POST', body: JSON.stringify({ prompt: {}, pad: 'x'.repeat(250_000) }) });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toMatch(/^Maximum request body size 200000 exceeded, actual body size \d+$/);
    const feats = await getJson(sim, '/features');
    expect(feats).toEqual({ supports_preview_metadata: true, max_upload_size: 200000 });
  });

  it('/view: default type output, 400 for bad names/types, 403 outside, 404 missing, annotated names', async () => {
    await upload(sim, await gradientPng(40, 30), 'v.png');
    expect((await fetch(`${sim.url}/view?filename=v.png`)).status).toBe(404); // default type is output
    const ok = await fetch(`${sim.url}/view?filename=v.png&type=input`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect(ok.headers.get('content-disposition')).toBe('filename="v.png"');
    expect((await fetch(`${sim.url}/api/view?filename=v.png%20%5Binput%5D&type=temp`)).status).toBe(200);
    expect((await fetch(`${sim.url}/view?filename=../v.png&type=input`)).status).toBe(400);
    expect((await fetch(`${sim.url}/view?filename=v.png&type=models`)).status).toBe(400);
    expect((await fetch(`${sim.url}/view?filename=v.png&type=input&subfolder=../../etc`)).status).toBe(403);
    expect((await fetch(`${sim.url}/view?type=input`)).status).toBe(404);
    const missing = await fetch(`${sim.url}/view?filename=nope.png&type=input`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('');
    const jpeg = await fetch(`${sim.url}/view?filename=v.png&type=input&preview=jpeg;80`);
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    const webp = await fetch(`${sim.url}/view?filename=v.png&type=input&preview=webp;50`);
    expect(webp.headers.get('content-type')).toBe('image/webp');
  });

  it('serves object_info, system_stats, models and queue state under / and /api', async () => {
    const all = await getJson(sim, '/object_info');
    for (const n of ['KSampler', 'LoadImage', 'SaveImage', 'ImageUpscaleWithModel', 'ImageScaleToTotalPixels', 'RepeatLatentBatch']) expect(all[n]).toBeDefined();
    expect(all.CheckpointLoaderSimple.input.required.ckpt_name[0]).toEqual(['sd_v1-5.safetensors', 'sdxl_base_1.0.safetensors']);
    expect(all.UpscaleModelLoader.input.required.model_name).toEqual(['COMBO', { multiselect: false, options: ['4x-UltraSharp.pth'] }]);
    expect(all.KSampler.input.required.sampler_name[0]).toHaveLength(42);
    const raw = await (await fetch(`${sim.url}/api/object_info/KSampler`)).text();
    expect(raw).toContain('"max": 18446744073709551615');
    expect(await getJson(sim, '/object_info/NoSuchNode')).toEqual({});
    const stats = await getJson(sim, '/api/system_stats');
    expect(stats.system.comfyui_version).toBe('0.3.64');
    expect(stats.devices[0].name).toMatch(/simulated/);
    expect(await getJson(sim, '/models/checkpoints')).toEqual(['sd_v1-5.safetensors', 'sdxl_base_1.0.safetensors']);
    expect(await getJson(sim, '/models/upscale_models')).toEqual(['4x-UltraSharp.pth']);
    expect(await getJson(sim, '/models')).toContain('upscale_models');
    expect((await fetch(`${sim.url}/models/nonsense`)).status).toBe(404);
    expect(await getJson(sim, '/prompt')).toEqual({ exec_info: { queue_remaining: 0 } });
    expect(await getJson(sim, '/queue')).toEqual({ queue_running: [], queue_pending: [] });
  });

  it('refuses a loopback request whose Origin names another site (403, HTTP and WebSocket), like ComfyUI', async () => {
    const port = sim.port;
    const status = (headers: Record<string, string>, method = 'GET') =>
      new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/api/prompt', method, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status({})).toBe(200); // no Origin: server-side clients are never refused
    expect(await status({ Origin: 'https://evil.example' })).toBe(403);
    expect(await status({ Origin: `http://127.0.0.1:${port}` })).toBe(200);
    expect(await status({ Origin: 'http://127.0.0.1' })).toBe(200); // no port on one side: host names compared
    expect(await status({ Host: 'gpu-box.lan:8188', Origin: 'https://evil.example' })).toBe(200); // not loopback: a proxy's business
    expect(await status({ Origin: 'https://evil.example' }, 'OPTIONS')).toBe(403);
    expect(await status({}, 'OPTIONS')).toBe(200);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?clientId=x`, { headers: { Origin: 'https://evil.example' } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
    });
    expect(refused).toBe(403);
  });
});

describe('simulator queue, interrupt, faults and restart', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startTestSim({ stepMs: 20 });
    await upload(sim, await gradientPng(64, 64), 'q.png');
  });
  afterAll(async () => {
    await sim.close();
  });

  it('deletes a pending prompt (status broadcast), interrupts the running one by id', async () => {
    const ws = await WsProbe.open(sim, 'q');
    const a = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'q.png', seed: 1, steps: 200 }), { client_id: 'q' }));
    const b = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'q.png', seed: 2, steps: 200 }), { client_id: 'q' }));
    const c = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'q.png', seed: 3, steps: 5 }), { client_id: 'q', front: true }));
    expect(c.json.number).toBe(-2);
    await ws.waitFor((f) => f.text?.type === 'progress' && f.text.data.prompt_id === a.json.prompt_id);
    const q = await getJson(sim, '/queue');
    expect(q.queue_running.map((i: unknown[]) => i[1])).toEqual([a.json.prompt_id]);
    expect(q.queue_pending.map((i: unknown[]) => i[1])).toEqual([c.json.prompt_id, b.json.prompt_id]);
    expect(q.queue_running[0]).toHaveLength(5);
    expect(await getJson(sim, '/prompt')).toEqual({ exec_info: { queue_remaining: 3 } });
    const before = ws.frames.length;
    await fetch(`${sim.url}/queue`, { method: 'POST', body: JSON.stringify({ delete: [b.json.prompt_id, 'unknown'] }) });
    await ws.waitFor((f) => f.text?.type === 'status', 2000, before);
    // Preview frames of the running prompt may come in between: read the first status after the delete.
    const status = ws.frames.slice(before).find((f) => f.text?.type === 'status')!;
    expect((status.text!.data.status as any).exec_info.queue_remaining).toBe(2);
    await fetch(`${sim.url}/interrupt`, { method: 'POST', body: JSON.stringify({ prompt_id: 'not-running' }) });
    await new Promise((r) => setTimeout(r, 60));
    expect(ws.frames.some((f) => f.text?.type === 'execution_interrupted')).toBe(false);
    const t0 = Date.now();
    const res = await fetch(`${sim.url}/interrupt`, { method: 'POST', body: JSON.stringify({ prompt_id: a.json.prompt_id }) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    await ws.waitDone(a.json.prompt_id);
    expect(Date.now() - t0).toBeLessThan(200);
    const tail = ws.promptFrames(a.json.prompt_id).map((f) => f.text?.type).filter(Boolean).slice(-3);
    expect(tail).toEqual(['execution_interrupted', 'status', 'executing']);
    const hist = await getJson(sim, `/history/${a.json.prompt_id}`);
    expect(hist[a.json.prompt_id].status).toMatchObject({ status_str: 'error', completed: false });
    expect(hist[a.json.prompt_id].outputs).toEqual({});
    await ws.waitDone(c.json.prompt_id);
    expect(await getJson(sim, `/history/${b.json.prompt_id}`)).toEqual({});
    expect(sim.submittedPromptIds()).toEqual([a.json.prompt_id, b.json.prompt_id, c.json.prompt_id]);
    const busy = sim.busyLog().map((x) => x.promptId);
    expect(busy).toEqual([a.json.prompt_id, c.json.prompt_id]);
    ws.close();
  });

  it('failNext makes the next sampler raise; stallNext hangs until release()', async () => {
    const ws = await WsProbe.open(sim, 'f');
    sim.failNext({ exceptionType: 'torch.OutOfMemoryError', message: 'Allocation on device ' });
    const p = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'q.png', seed: 10, steps: 4 }), { client_id: 'f' }));
    await ws.waitDone(p.json.prompt_id);
    const err = ws.frames.find((f) => f.text?.type === 'execution_error')!.text!.data;
    expect(err.exception_type).toBe('torch.OutOfMemoryError');
    expect(String(err.exception_message)).toMatch(/^Allocation on device \nThis error means you ran out of memory/);
    expect(err.node_id).toBe('3');

    sim.stallNext();
    const s = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'q.png', seed: 11, steps: 2 }), { client_id: 'f' }));
    await ws.waitFor((f) => f.text?.type === 'executing' && f.text.data.prompt_id === s.json.prompt_id);
    const n = ws.frames.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(ws.frames.length).toBe(n);
    sim.release();
    await ws.waitDone(s.json.prompt_id);
    expect((await getJson(sim, `/history/${s.json.prompt_id}`))[s.json.prompt_id].status.status_str).toBe('success');
    ws.close();
  });

  it('restart drops sockets (1006), forgets queue/history/counter, wipes temp, keeps input/output', async () => {
    const ws = await WsProbe.open(sim, 'r');
    const text = img2imgPromptText({ image: 'q.png', seed: 20, steps: 2 }).replace(/\}$/, ', "30": {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}}}');
    const done = await postPrompt(sim, promptBody(text, { client_id: 'r' }));
    await ws.waitDone(done.json.prompt_id);
    const hist = (await getJson(sim, `/history/${done.json.prompt_id}`))[done.json.prompt_id];
    const saved = hist.outputs['9'].images[0];
    const temp = hist.outputs['30'].images[0];
    expect(temp.type).toBe('temp');
    expect(temp.filename).toMatch(/^ComfyUI_temp_[a-z]{5}_00001_\.png$/);
    const running = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'q.png', seed: 21, steps: 500 }), { client_id: 'r' }));
    const port = sim.port;
    await sim.restart();
    expect(sim.port).toBe(port);
    await ws.waitFor(() => ws.closeCode !== null, 2000).catch(() => undefined);
    expect(ws.closeCode).toBe(1006);
    expect(await getJson(sim, `/history/${done.json.prompt_id}`)).toEqual({});
    expect(await getJson(sim, `/history/${running.json.prompt_id}`)).toEqual({});
    expect(await getJson(sim, '/queue')).toEqual({ queue_running: [], queue_pending: [] });
    const view = (r: { filename: string; subfolder: string; type: string }) =>
      fetch(`${sim.url}/view?filename=${r.filename}&subfolder=${r.subfolder}&type=${r.type}`).then((x) => x.status);
    expect(await view(saved)).toBe(200);
    expect(await view(temp)).toBe(404);
    expect(await view({ filename: 'q.png', subfolder: '', type: 'input' })).toBe(200);
    const again = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'q.png', seed: 20, steps: 2 })));
    expect(again.json.number).toBe(0);
    expect(sim.submittedPromptIds()).toEqual([again.json.prompt_id]);
  });
});

describe('simulator dropSockets and model load time', () => {
  it('dropSockets cuts sockets (1006) but keeps history; the first checkpoint load takes modelLoadMs', async () => {
    const sim = await startTestSim({ modelLoadMs: 150 });
    try {
      await upload(sim, await gradientPng(32, 32), 'm.png');
      const ws = await WsProbe.open(sim, 'm');
      const res = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'm.png', steps: 1 }), { client_id: 'm' }));
      await ws.waitDone(res.json.prompt_id);
      const at = (node: string) => ws.frames.findIndex((f) => f.text?.type === 'executing' && f.text.data.node === node);
      expect(at('4')).toBeGreaterThan(-1);
      const hist = await getJson(sim, `/history/${res.json.prompt_id}`);
      const msgs = hist[res.json.prompt_id].status.messages as Array<[string, { timestamp: number }]>;
      expect(msgs.at(-1)![1].timestamp - msgs[0][1].timestamp).toBeGreaterThanOrEqual(150);
      sim.dropSockets();
      await ws.waitFor(() => ws.closeCode !== null, 2000).catch(() => undefined);
      expect(ws.closeCode).toBe(1006);
      expect(Object.keys(await getJson(sim, `/history/${res.json.prompt_id}`))).toEqual([res.json.prompt_id]);
      const again = await WsProbe.open(sim, 'm');
      expect(again.frames[0].text!.type).toBe('status');
      again.close();
    } finally {
      await sim.close();
    }
  });
});
