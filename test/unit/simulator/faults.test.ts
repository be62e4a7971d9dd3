/**
 * The simulator's fault modes of a broken or hostile host (issue 10), seen over plain HTTP: each does
 * what it says and nothing else, and the host behaves normally again afterwards.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../../src/simulator/types.ts';
import { getJson, img2imgPromptText, postPrompt, promptBody, solidPng, startTestSim, upload } from './sim-helpers.ts';

let sim: Simulator;
let image: string;

beforeAll(async () => {
  sim = await startTestSim({ previews: false });
  image = ((await (await upload(sim, await solidPng(32, 32, [9, 9, 9]), 'fault.png')).json()) as { name: string }).name;
});
afterAll(async () => {
  await sim?.close();
});

async function waitIdle(): Promise<void> {
  for (;;) {
    const q = await getJson(sim, '/queue');
    if (q.queue_running.length === 0 && q.queue_pending.length === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function historyOf(id: string): Promise<any> {
  return getJson(sim, `/history/${id}`).then((h) => h[id]);
}

describe('simulator faults', () => {
  it('endlessBodyNext: a 200 that keeps streaming, only for the next matching GET', async () => {
    sim.endlessBodyNext('/system_stats');
    const received = await new Promise<number>((resolve, reject) => {
      http
        .get(`${sim.url}/system_stats`, (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => {
            n += c.length;
            if (n > 4 * 1024 * 1024) {
              res.destroy();
              resolve(n);
            }
          });
          res.on('end', () => reject(new Error(`the body ended after ${n} bytes`)));
        })
        .on('error', reject);
    });
    expect(received).toBeGreaterThan(4 * 1024 * 1024);
    expect((await getJson(sim, '/system_stats')).system.comfyui_version).toBe('0.3.64');
  });

  it('globalInterruptOnly: /interrupt with another prompt_id still stops the running prompt', async () => {
    sim.globalInterruptOnly();
    try {
      const running = await postPrompt(sim, promptBody(img2imgPromptText({ image, steps: 400, seed: 1 })));
      await new Promise((r) => setTimeout(r, 100));
      await fetch(`${sim.url}/interrupt`, { method: 'POST', body: JSON.stringify({ prompt_id: 'someone-else' }) });
      await waitIdle();
      const h = await historyOf(running.json.prompt_id);
      expect(h.status.messages.map((m: [string]) => m[0])).toContain('execution_interrupted');
    } finally {
      sim.globalInterruptOnly(false);
    }
  });

  it('echoHeadersNext(prompt-400): the 400 carries the request headers', async () => {
    sim.echoHeadersNext('prompt-400');
    const res = await fetch(`${sim.url}/prompt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer echo-me-123' },
      body: promptBody(img2imgPromptText({ image, steps: 2 })),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Bearer echo-me-123');
  });

  it('echoHeadersNext(execution-error): the prompt fails with the headers in its message and traceback', async () => {
    sim.echoHeadersNext('execution-error');
    const res = await fetch(`${sim.url}/prompt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer echo-me-456' },
      body: promptBody(img2imgPromptText({ image, steps: 2, seed: 3 })),
    });
    const { prompt_id } = (await res.json()) as { prompt_id: string };
    await waitIdle();
    const error = (await historyOf(prompt_id)).status.messages.find((m: [string]) => m[0] === 'execution_error')[1];
    expect(error.exception_message).toContain('Bearer echo-me-456');
    expect(error.traceback.join('')).toContain('Bearer echo-me-456');
  });

  it('giantImageNext: the next SaveImage writes a small 16000 x 16000 PNG', async () => {
    sim.giantImageNext();
    const { json } = await postPrompt(sim, promptBody(img2imgPromptText({ image, steps: 2, seed: 4 })));
    await waitIdle();
    const ref = (await historyOf(json.prompt_id)).outputs['9'].images[0];
    const png = Buffer.from(await (await fetch(`${sim.url}/view?filename=${ref.filename}&subfolder=${ref.subfolder}&type=output`)).arrayBuffer());
    expect(png.length).toBeLessThan(100 * 1024);
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([16000, 16000]);
  });

  it('loseInputs / vanishingUploads: the LoadImage file is gone, validation says so', async () => {
    sim.loseInputs();
    const lost = await postPrompt(sim, promptBody(img2imgPromptText({ image, steps: 2, seed: 5 })));
    expect(lost.status).toBe(400);
    expect(lost.text).toContain(`Invalid image file: ${image}`);
    sim.vanishingUploads(true);
    expect((await upload(sim, await solidPng(32, 32, [9, 9, 9]), 'fault.png')).status).toBe(200);
    expect((await postPrompt(sim, promptBody(img2imgPromptText({ image, steps: 2, seed: 6 })))).status).toBe(400);
    sim.vanishingUploads(false);
    await upload(sim, await solidPng(32, 32, [9, 9, 9]), 'fault.png');
    expect((await postPrompt(sim, promptBody(img2imgPromptText({ image, steps: 2, seed: 7 })))).status).toBe(200);
    await waitIdle();
  });
});
