import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { Simulator } from '../../../src/simulator/index.ts';
import { WsProbe, getJson, gradientPng, img2imgPromptText, meanAbsDiff, postPrompt, promptBody, startTestSim, upload, viewRaw } from './sim-helpers.ts';

describe('simulator execution on real pixels', () => {
  let sim: Simulator;
  let ws: WsProbe;
  let source: Buffer;

  beforeAll(async () => {
    sim = await startTestSim({ stepMs: 1 });
    ws = await WsProbe.open(sim, 'px');
    await upload(sim, await gradientPng(100, 75), 'src.png');
    await upload(sim, await gradientPng(96, 72).then((b) => sharp(b).negate().png().toBuffer()), 'other.png');
    // What VAEEncode should keep: the centre crop to multiples of 8 (100x75 -> 96x72 at offset 2,1).
    source = await sharp(await gradientPng(100, 75)).extract({ left: 2, top: 1, width: 96, height: 72 }).raw().toBuffer();
  });
  afterAll(async () => {
    ws.close();
    await sim.close();
  });

  async function run(promptText: string): Promise<Record<string, Array<{ filename: string; subfolder: string; type: string }>>> {
    const res = await postPrompt(sim, promptBody(promptText, { client_id: 'px' }));
    expect(res.status, res.text).toBe(200);
    await ws.waitDone(res.json.prompt_id);
    const h = await getJson(sim, `/history/${res.json.prompt_id}`);
    expect(h[res.json.prompt_id].status.status_str).toBe('success');
    return Object.fromEntries(Object.entries(h[res.json.prompt_id].outputs).map(([k, v]) => [k, (v as any).images]));
  }
  async function img2img(o: Parameters<typeof img2imgPromptText>[0]) {
    const out = await run(img2imgPromptText({ prefix: 'px/out', steps: 3, ...o }));
    return Promise.all(out['9'].map((r) => viewRaw(sim, r)));
  }

  it('denoise 0 returns the (cropped) input exactly; more denoise moves further away', async () => {
    const [d0] = await img2img({ image: 'src.png', denoise: 0 });
    expect([d0.width, d0.height]).toEqual([96, 72]);
    expect(d0.data.equals(source)).toBe(true);
    const dist: number[] = [];
    for (const d of [0.2, 0.5, 0.8, 1.0]) {
      const [img] = await img2img({ image: 'src.png', denoise: d });
      dist.push(meanAbsDiff(img.data, source));
    }
    for (let k = 1; k < dist.length; k++) expect(dist[k]).toBeGreaterThan(dist[k - 1]);
    expect(dist[0]).toBeGreaterThan(2);
  });

  it('seed and prompt text change the output; the same settings reproduce it; denoise 1 ignores the input', async () => {
    const [a] = await img2img({ image: 'src.png', seed: 1, denoise: 0.7 });
    const [b] = await img2img({ image: 'src.png', seed: 2, denoise: 0.7 });
    const [c] = await img2img({ image: 'src.png', seed: 1, denoise: 0.7, text: 'a neon city at night' });
    expect(meanAbsDiff(a.data, b.data)).toBeGreaterThan(3);
    expect(meanAbsDiff(a.data, c.data)).toBeGreaterThan(3);
    await img2img({ image: 'src.png', seed: 99, denoise: 0.7 }); // evict the classic cache
    const [again] = await img2img({ image: 'src.png', seed: 1, denoise: 0.7 });
    expect(again.data.equals(a.data)).toBe(true);
    const [full1] = await img2img({ image: 'src.png', seed: 5, denoise: 1 });
    const [full2] = await img2img({ image: 'other.png', seed: 5, denoise: 1 });
    expect(full1.data.equals(full2.data)).toBe(true);
  });

  it('RepeatLatentBatch: consecutive counters, every item different', async () => {
    const imgs = await img2img({ image: 'src.png', seed: 7, repeat: 4, prefix: 'px/batch' });
    expect(imgs).toHaveLength(4);
    const out = await run(img2imgPromptText({ image: 'src.png', seed: 8, repeat: 3, prefix: 'px/batch', steps: 2 }));
    expect(out['9'].map((r) => r.filename)).toEqual(['batch_00005_.png', 'batch_00006_.png', 'batch_00007_.png']);
    for (let i = 0; i < imgs.length; i++) for (let j = i + 1; j < imgs.length; j++) expect(meanAbsDiff(imgs[i].data, imgs[j].data)).toBeGreaterThan(2);
  });

  it('scaling nodes produce the sizes ComfyUI does', async () => {
    const text = `{"1": {"class_type": "LoadImage", "inputs": {"image": "src.png"}},
      "2": {"class_type": "ImageScale", "inputs": {"image": ["1", 0], "upscale_method": "bilinear", "width": 0, "height": 150, "crop": "disabled"}},
      "3": {"class_type": "ImageScaleBy", "inputs": {"image": ["1", 0], "upscale_method": "lanczos", "scale_by": 0.33}},
      "4": {"class_type": "ImageScaleToTotalPixels", "inputs": {"image": ["1", 0], "upscale_method": "area", "megapixels": 0.05}},
      "5": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "4x-UltraSharp.pth"}},
      "6": {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["5", 0], "image": ["1", 0]}},
      "7": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_v1-5.safetensors"}},
      "8": {"class_type": "VAEEncode", "inputs": {"pixels": ["1", 0], "vae": ["7", 2]}},
      "9": {"class_type": "LatentUpscale", "inputs": {"samples": ["8", 0], "upscale_method": "bislerp", "width": 200, "height": 0, "crop": "disabled"}},
      "10": {"class_type": "LatentUpscaleBy", "inputs": {"samples": ["8", 0], "upscale_method": "bicubic", "scale_by": 1.5}},
      "11": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0], "vae": ["7", 2]}},
      "12": {"class_type": "VAEDecode", "inputs": {"samples": ["10", 0], "vae": ["7", 2]}},
      "13": {"class_type": "ImageScale", "inputs": {"image": ["1", 0], "upscale_method": "nearest-exact", "width": 50, "height": 50, "crop": "center"}},
      "20": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "size/a"}},
      "21": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "size/b"}},
      "22": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "size/c"}},
      "23": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "size/d"}},
      "24": {"class_type": "SaveImage", "inputs": {"images": ["11", 0], "filename_prefix": "size/e"}},
      "25": {"class_type": "PreviewImage", "inputs": {"images": ["12", 0]}},
      "26": {"class_type": "SaveImage", "inputs": {"images": ["13", 0], "filename_prefix": "size/f"}}}`;
    const from = ws.frames.length;
    const out = await run(text);
    const size = async (id: string) => {
      const v = await viewRaw(sim, out[id][0]);
      return [v.width, v.height];
    };
    expect(await size('20')).toEqual([200, 150]); // keep aspect: round(100*150/75)
    expect(await size('21')).toEqual([33, 25]); // round(100*0.33)=33, round(75*0.33)=round(24.75)=25
    expect(await size('22')).toEqual([264, 198]); // int(0.05*1024*1024)=52428 px, scale sqrt(52428/7500)
    expect(await size('23')).toEqual([400, 300]); // 4x model
    expect(await size('24')).toEqual([200, 144]); // width 200 -> //8 = 25, height round(9*200/12)=150 -> 18*8
    expect(await size('25')).toEqual([144, 112]); // latent 12x9 * 1.5 -> round(18), round(13.5)=14
    expect(await size('26')).toEqual([50, 50]);
    const upscaleTicks = ws.frames.slice(from).filter((f) => f.text?.type === 'progress' && f.text.data.node === '6');
    expect(upscaleTicks.map((f) => [f.text!.data.value, f.text!.data.max])).toEqual([[1, 1]]);
  });

  it('a 30-step job at stepMs 10 keeps the worker busy ~steps x stepMs', async () => {
    sim.setStepMs(10);
    try {
      const res = await postPrompt(sim, promptBody(img2imgPromptText({ image: 'src.png', seed: 1234, steps: 30 }), { client_id: 'px' }));
      await ws.waitDone(res.json.prompt_id);
      const b = sim.busyLog().find((x) => x.promptId === res.json.prompt_id)!;
      expect(b.end - b.start).toBeGreaterThanOrEqual(295);
      expect(b.end - b.start).toBeLessThan(600);
    } finally {
      sim.setStepMs(1);
    }
  });
});
