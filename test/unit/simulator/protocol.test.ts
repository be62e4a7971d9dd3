import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { Simulator } from '../../../src/simulator/index.ts';
import { readPngText } from '../../../src/simulator/pixels.ts';
import {
  WsProbe,
  getJson,
  gradientPng,
  img2imgPromptText,
  postPrompt,
  promptBody,
  startTestSim,
  upload,
} from './sim-helpers.ts';

/** Type sequence of the transcript's fresh img2img run (previews on, no feature flags). */
function freshRunTypes(steps: number): string[] {
  const t = ['status', 'status', 'execution_start', 'execution_cached', 'progress_state', 'executing'];
  for (let k = 0; k < 5; k++) t.push('progress_state', 'progress_state', 'executing'); // 10, 11, 7, 6, 3
  for (let k = 0; k < steps; k++) t.push('progress_state', 'progress', 'binary(1)');
  t.push('progress_state', 'progress_state', 'executing'); // 8
  t.push('progress_state', 'progress_state', 'executing'); // 9
  t.push('executed', 'progress_state', 'execution_success', 'status', 'executing');
  return t;
}

describe('simulator WebSocket protocol', () => {
  let sim: Simulator;
  let a: WsProbe;
  let b: WsProbe;
  const workflow = { last_node_id: 12, nodes: [], note: 'stand-in' };

  beforeAll(async () => {
    sim = await startTestSim();
    a = await WsProbe.open(sim, 'client-a');
    b = await WsProbe.open(sim, 'client-b');
    const up = await upload(sim, await gradientPng(512, 384), 'smoke_src.png', { overwrite: 'true' });
    expect(await up.json()).toEqual({ name: 'smoke_src.png', subfolder: '', type: 'input' });
  });
  afterAll(async () => {
    a.close();
    b.close();
    await sim.close();
  });

  it('sends the first status with the sid, and answers feature_flags', async () => {
    expect(a.frames[0].text).toEqual({ type: 'status', data: { status: { exec_info: { queue_remaining: 0 } }, sid: 'client-a' } });
    const c = await WsProbe.open(sim, undefined, { supports_preview_metadata: true });
    const first = c.frames[0].text!;
    expect(first.data.sid).toMatch(/^[0-9a-f]{32}$/);
    expect(c.frames[1].text).toEqual({
      type: 'feature_flags',
      data: { supports_preview_metadata: true, max_upload_size: 104857600 },
    });
    c.close();
  });

  let firstFile = '';
  it('runs img2img with the real message order, only to the submitting client', async () => {
    const fromA = a.frames.length;
    const fromB = b.frames.length;
    const res = await postPrompt(
      sim,
      promptBody(img2imgPromptText({ image: 'smoke_src.png' }), {
        client_id: 'client-a',
        extra_data: { extra_pnginfo: { workflow } },
      }),
    );
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/^\{"prompt_id": "[0-9a-f-]{36}", "number": 0, "node_errors": \{\}\}$/);
    const id = res.json.prompt_id as string;
    await a.waitDone(id);
    expect(a.types(fromA)).toEqual(freshRunTypes(8));
    const executing = a.frames
      .slice(fromA)
      .filter((f) => f.text?.type === 'executing' && f.text.data.node !== null)
      .map((f) => f.text!.data.node);
    expect(executing).toEqual(['4', '10', '11', '7', '6', '3', '8', '9']);
    const progress = a.frames.slice(fromA).filter((f) => f.text?.type === 'progress').map((f) => f.text!.data);
    expect(progress.map((p) => p.value)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(progress.every((p) => p.max === 8 && p.node === '3' && p.prompt_id === id)).toBe(true);
    const executed = a.frames.find((f) => f.text?.type === 'executed' && f.text.data.prompt_id === id)!.text!.data;
    expect(executed).toEqual({
      node: '9',
      display_node: '9',
      output: { images: [{ filename: 'img2img_00001_.png', subfolder: 'comfy-real', type: 'output' }] },
      prompt_id: id,
    });
    firstFile = 'img2img_00001_.png';
    // The other client sees only the broadcast status messages.
    await new Promise((r) => setTimeout(r, 30));
    expect(b.types(fromB)).toEqual(['status', 'status', 'status']);
    expect(b.frames.slice(fromB).map((f) => (f.text!.data.status as any).exec_info.queue_remaining)).toEqual([1, 1, 0]);

    const hist = await getJson(sim, `/history/${id}`);
    const entry = hist[id];
    expect(Object.keys(entry)).toEqual(['prompt', 'outputs', 'status', 'meta']);
    expect(entry.prompt).toHaveLength(5);
    expect(entry.prompt[0]).toBe(0);
    expect(entry.prompt[1]).toBe(id);
    expect(entry.prompt[3]).toEqual({ extra_pnginfo: { workflow }, client_id: 'client-a' });
    expect(entry.prompt[4]).toEqual(['9']);
    expect(entry.outputs).toEqual({ '9': executed.output });
    expect(entry.status.status_str).toBe('success');
    expect(entry.status.completed).toBe(true);
    expect(entry.status.messages.map((m: [string]) => m[0])).toEqual(['execution_start', 'execution_cached', 'execution_success']);
    expect(entry.meta).toEqual({ '9': { node_id: '9', display_node: '9', parent_node: null, real_node_id: '9' } });

    const view = await fetch(`${sim.url}/view?filename=${firstFile}&subfolder=comfy-real&type=output`);
    expect(view.headers.get('content-type')).toBe('image/png');
    const png = Buffer.from(await view.arrayBuffer());
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([512, 384]);
    const texts = readPngText(png);
    expect(Object.keys(texts)).toEqual(['prompt', 'workflow']);
    expect(JSON.parse(texts.workflow)).toEqual(workflow);
    expect(Object.keys(JSON.parse(texts.prompt))).toEqual(expect.arrayContaining(['3', '4', '9', '10']));
  });

  it('serves an identical resubmission from cache: same filenames, no executing, no new file', async () => {
    const from = a.frames.length;
    const res = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'smoke_src.png' }), { client_id: 'client-a' }));
    const id = res.json.prompt_id;
    expect(res.json.number).toBe(1);
    await a.waitDone(id);
    expect(a.types(from)).toEqual([
      'status', 'status', 'execution_start', 'execution_cached', 'executed', 'progress_state', 'execution_success', 'status', 'executing',
    ]);
    const cached = a.frames.slice(from).find((f) => f.text?.type === 'execution_cached')!.text!.data;
    expect(cached.nodes).toEqual(['4', '6', '7', '10', '11', '3', '8', '9']); // prompt order, not numeric order
    const executed = a.frames.slice(from).find((f) => f.text?.type === 'executed')!.text!.data;
    expect((executed.output as any).images[0].filename).toBe(firstFile);
    const next = await fetch(`${sim.url}/view?filename=img2img_00002_.png&subfolder=comfy-real`);
    expect(next.status).toBe(404);
    const hist = await getJson(sim, `/history/${id}`);
    expect(hist[id].outputs['9'].images[0].filename).toBe(firstFile);
  });

  it('re-runs only the sampler and what follows when just the seed changes', async () => {
    const from = a.frames.length;
    const res = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'smoke_src.png', seed: 43 }), { client_id: 'client-a' }));
    const id = res.json.prompt_id;
    await a.waitDone(id);
    const frames = a.frames.slice(from);
    expect(frames.find((f) => f.text?.type === 'execution_cached')!.text!.data.nodes).toEqual(['4', '6', '7', '10', '11']);
    expect(frames.filter((f) => f.text?.type === 'executing' && f.text.data.node).map((f) => f.text!.data.node)).toEqual(['3', '8', '9']);
    const executed = frames.find((f) => f.text?.type === 'executed')!.text!.data;
    expect((executed.output as any).images[0].filename).toBe('img2img_00002_.png');
  });

  it('with no client_id: no client-only messages, progress and previews are broadcast', async () => {
    await new Promise((r) => setTimeout(r, 50)); // let b receive the previous run's last status
    const from = a.frames.length;
    const fromB = b.frames.length;
    const res = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'smoke_src.png', seed: 44, steps: 3 })));
    const id = res.json.prompt_id;
    // No executing-null arrives: poll history.
    for (let k = 0; k < 200; k++) {
      const h = await getJson(sim, `/history/${id}`);
      if (h[id]) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 30));
    for (const probe of [a.types(from), b.types(fromB)]) {
      expect(probe.filter((t) => ['execution_start', 'execution_cached', 'executing', 'executed', 'execution_success'].includes(t))).toEqual([]);
      expect(probe.filter((t) => t === 'progress')).toHaveLength(3);
      expect(probe.filter((t) => t === 'binary(1)')).toHaveLength(3);
      expect(probe.filter((t) => t === 'status')).toHaveLength(3);
    }
    const h = await getJson(sim, `/history/${id}`);
    expect(h[id].outputs['9'].images[0].filename).toBe('img2img_00003_.png');
  });

  it('sends type-4 previews (metadata first) to a client that negotiated them; both decode as JPEG', async () => {
    const meta = await WsProbe.open(sim, 'client-meta', { supports_preview_metadata: true });
    const from = meta.frames.length;
    const res = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'smoke_src.png', seed: 45, steps: 3 }), { client_id: 'client-meta' }));
    const id = res.json.prompt_id;
    await meta.waitDone(id);
    const types = meta.types(from);
    const firstBin = types.indexOf('binary(4)');
    expect(types.slice(firstBin - 1, firstBin + 2)).toEqual(['progress_state', 'binary(4)', 'progress']);
    expect(types.filter((t) => t === 'binary(4)')).toHaveLength(3);
    expect(types).not.toContain('binary(1)');
    const frame = meta.frames.slice(from).find((f) => f.binary)!.binary!;
    expect(frame.readUInt32BE(0)).toBe(4);
    const len = frame.readUInt32BE(4);
    const json = JSON.parse(frame.subarray(8, 8 + len).toString('utf8'));
    expect(json).toEqual({ node_id: '3', prompt_id: id, display_node_id: '3', parent_node_id: null, real_node_id: '3', image_type: 'image/jpeg' });
    const jpeg = frame.subarray(8 + len);
    const m = await sharp(jpeg).metadata();
    expect(m.format).toBe('jpeg');
    expect([m.width, m.height]).toEqual([512, 384]);
    meta.close();

    // type 1 frame from the earlier run: [1][1=JPEG][jpeg bytes]
    const plain = a.frames.find((f) => f.binary)!.binary!;
    expect(plain.readUInt32BE(0)).toBe(1);
    expect(plain.readUInt32BE(4)).toBe(1);
    expect((await sharp(plain.subarray(8)).metadata()).format).toBe('jpeg');
  });

  it('on reconnect with the same clientId mid-run sends status then executing without prompt_id', async () => {
    sim.setStepMs(40);
    try {
      const res = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'smoke_src.png', seed: 46, steps: 40 }), { client_id: 'client-a' }));
      const id = res.json.prompt_id;
      await a.waitFor((f) => f.text?.type === 'progress' && f.text.data.prompt_id === id);
      const again = await WsProbe.open(sim, 'client-a');
      await again.waitFor((f) => f.text?.type === 'executing');
      expect(again.frames[0].text).toEqual({ type: 'status', data: { status: { exec_info: { queue_remaining: 1 } }, sid: 'client-a' } });
      expect(again.frames[1].text).toEqual({ type: 'executing', data: { node: '3' } });
      // The newest socket now owns the clientId: it gets the rest of the run.
      await fetch(`${sim.url}/interrupt`, { method: 'POST' });
      await again.waitDone(id);
      const interrupted = again.frames.find((f) => f.text?.type === 'execution_interrupted')!.text!.data;
      expect(interrupted).toMatchObject({ prompt_id: id, node_id: '3', node_type: 'KSampler' });
      again.close();
    } finally {
      sim.setStepMs(5);
    }
  });
});

describe('simulator with previews off (ComfyUI\'s default --preview-method none)', () => {
  it('sends progress but no binary frames, and says so in system_stats', async () => {
    const sim = await startTestSim({ previews: false });
    const c = await WsProbe.open(sim, 'no-previews', { supports_preview_metadata: true });
    try {
      await upload(sim, await gradientPng(64, 48), 'p.png');
      const res = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'p.png', steps: 3 }), { client_id: 'no-previews' }));
      const id = res.json.prompt_id as string;
      await c.waitDone(id);
      const types = c.types();
      expect(types.filter((t) => t === 'progress')).toHaveLength(3);
      expect(types.some((t) => t.startsWith('binary'))).toBe(false);
      const stats = await getJson(sim, '/system_stats');
      expect(stats.system.argv.slice(-2)).toEqual(['--preview-method', 'none']);
    } finally {
      c.close();
      await sim.close();
    }
  });
});
