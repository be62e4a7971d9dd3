/**
 * Python tells 8 from 8.0 and ComfyUI prints each as it holds it. These tests read raw bytes (not parsed
 * JSON, where the difference vanishes) to check the simulator writes numbers the way the real server does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cloneOrdered, markFloat, parseOrdered, pyJson } from '../../../src/simulator/ordered-json.ts';
import type { Simulator } from '../../../src/simulator/index.ts';
import { gradientPng, img2imgPromptText, postPrompt, promptBody, startTestSim, upload } from './sim-helpers.ts';

describe('Python number formatting in JSON', () => {
  it('keeps floats written as floats through parse, clone and print', () => {
    const text = '{"a": 8.0, "b": 8, "c": [1.0, 2, 1e-05, 0.5], "d": {"e": 100.0, "f": 18446744073709551615}, "g": 2E3}';
    const parsed = parseOrdered(text);
    expect(pyJson(parsed)).toBe(text.replace('2E3', '2000.0'));
    expect(pyJson(cloneOrdered(parsed))).toBe(pyJson(parsed));
    const built: Record<string, unknown> = { value: 0, max: 1, n: 3 };
    markFloat(built, 'value');
    markFloat(built, 'max');
    expect(pyJson(built)).toBe('{"value": 0.0, "max": 1.0, "n": 3}');
    markFloat(built, 'max', false);
    expect(pyJson(built)).toBe('{"value": 0.0, "max": 1, "n": 3}');
  });
});

describe('simulator bodies with Python floats', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startTestSim();
    await upload(sim, await gradientPng(64, 48), 'smoke_src.png');
  });
  afterAll(async () => {
    await sim.close();
  });

  it('/object_info prints FLOAT limits as the real definitions hold them', async () => {
    const ks = await (await fetch(`${sim.url}/object_info/KSampler`)).text();
    expect(ks).toContain('"cfg": ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01,');
    expect(ks).toContain('"steps": ["INT", {"default": 20, "min": 1, "max": 10000,');
    expect(ks).toContain('"max": 18446744073709551615');
    const blend = await (await fetch(`${sim.url}/api/object_info/LatentBlend`)).text();
    expect(blend).toContain('"blend_factor": ["FLOAT", {"default": 0.5, "min": 0, "max": 1, "step": 0.01}]');
    const px = await (await fetch(`${sim.url}/object_info/ImageScaleToTotalPixels`)).text();
    expect(px).toContain('"megapixels": ["FLOAT", {"default": 1.0, "min": 0.01, "max": 16.0, "step": 0.01}]');
  });

  it('a FLOAT sent as an int is queued, stored and echoed as a float; progress_state uses 0.0/1.0 like ComfyUI', async () => {
    const frames: string[] = [];
    const ws = new WebSocket(`${sim.url.replace('http', 'ws')}/ws?clientId=floats`);
    ws.on('message', (d, isBinary) => {
      if (!isBinary) frames.push(d.toString());
    });
    await new Promise((r) => ws.once('open', r));
    try {
      const prompt = img2imgPromptText({ image: 'smoke_src.png', denoise: 1, steps: 3 })
        .replace('"cfg": 7.0', '"cfg": 7')
        .replace('"steps": 3', '"steps": "3"');
      const res = await postPrompt(sim, promptBody(prompt, { client_id: 'floats' }));
      expect(res.status).toBe(200);
      const id = res.json.prompt_id as string;
      const deadline = Date.now() + 10_000;
      while (!frames.some((f) => f.includes('"node": null') && f.includes(id))) {
        if (Date.now() > deadline) throw new Error('prompt did not finish');
        await new Promise((r) => setTimeout(r, 20));
      }
      const hist = await (await fetch(`${sim.url}/history/${id}`)).text();
      // validation converted the inputs in place, as ComfyUI's validate_inputs does
      expect(hist).toContain('"inputs": {"seed": 42, "steps": 3, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,');
      const states = frames.filter((f) => f.startsWith('{"type": "progress_state"'));
      expect(states[0]).toContain('"4": {"value": 0.0, "max": 1.0, "state": "running"');
      expect(states[1]).toContain('"4": {"value": 1.0, "max": 1.0, "state": "finished"');
      const last = states[states.length - 1];
      expect(last).toContain('"3": {"value": 3, "max": 3, "state": "finished"');
      expect(last).toContain('"9": {"value": 1.0, "max": 1.0, "state": "finished"');
      const progress = frames.filter((f) => f.startsWith('{"type": "progress",'));
      expect(progress[0]).toBe(`{"type": "progress", "data": {"value": 1, "max": 3, "prompt_id": "${id}", "node": "3"}}`);
    } finally {
      ws.close();
    }
  });

  it('validation errors print received FLOAT values as floats and int limits as ints', async () => {
    const res = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'smoke_src.png', denoise: 2 })));
    expect(res.status).toBe(400);
    expect(res.text).toContain('"message": "Value 2.0 bigger than max of 1.0"');
    expect(res.text).toContain('"received_value": 2.0}');
    const blend =
      '{"1": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}}, ' +
      '"2": {"class_type": "LatentBlend", "inputs": {"samples1": ["1", 0], "samples2": ["1", 0], "blend_factor": 3}}, ' +
      '"3": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_v1-5.safetensors"}}, ' +
      '"4": {"class_type": "VAEDecode", "inputs": {"samples": ["2", 0], "vae": ["3", 2]}}, ' +
      '"5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "b"}}}';
    const r2 = await postPrompt(sim, promptBody(blend));
    expect(r2.status).toBe(400);
    expect(r2.text).toContain('"message": "Value 3.0 bigger than max of 1"');
    expect(r2.text).toContain('"input_config": ["FLOAT", {"default": 0.5, "min": 0, "max": 1, "step": 0.01}], "received_value": 3.0}');
  });
});
