import { beforeAll, describe, expect, it } from 'vitest';
import type { Workflow } from '../../../src/comfy/types.ts';
import { UserError } from '../../../src/commands/errors.ts';
import { planJob } from '../../../src/commands/plan.ts';
import type { Preset } from '../../../src/commands/preset.ts';
import { parsePreset } from '../../../src/commands/preset-loader.ts';
import { formatProblem, validateWorkflow } from '../../../src/commands/preset-validation.ts';
import type { CommandRegistry } from '../../../src/commands/registry.ts';
import type { CommandName } from '../../../src/commands/types.ts';
import { findNodes } from '../../../src/commands/workflow-nodes.ts';
import { image, job, realCatalogue, registry, withCheckpoints, withoutUpscaleModels } from './helpers.ts';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PRESETS_DIR } from './helpers.ts';

const catalogue = realCatalogue();
let reg: CommandRegistry;
beforeAll(async () => {
  reg = await registry();
});

function plan(command: CommandName, raw: Record<string, unknown>, inputs = [image(1024, 768)], extra = {}, cat = catalogue) {
  const { preset, params } = reg.resolve(command, raw);
  const j = job(command, preset.name, params, inputs, extra);
  return { preset, params, plan: planJob(j, preset, inputs.map((_, i) => `up${i}.png`), cat) };
}

function node(wf: Workflow, title: string) {
  const [id] = findNodes(wf, { title });
  expect(id, title).toBeDefined();
  return wf[id].inputs;
}

describe('planJob', () => {
  it('restyle: every option lands in its node, SaveImage prefix easel/<jobId>, preset untouched', () => {
    const { preset, plan: p } = plan('restyle', { prompt: 'a cat', style: 'anime', denoise: 0.55, seed: 42, steps: 28, cfg: 8.5, sampler: 'euler', scheduler: 'normal' });
    const before = JSON.stringify(preset.workflow);
    expect(p.layout).toBe('gallery');
    expect(p.runs).toHaveLength(1);
    const wf = p.runs[0].workflow;
    expect(node(wf, 'Sampler')).toMatchObject({ seed: 42, steps: 28, cfg: 8.5, sampler_name: 'euler', scheduler: 'normal', denoise: 0.55 });
    expect(node(wf, 'Positive prompt').text).toBe(`a cat, ${preset.styles!.anime.prompt}`);
    expect(node(wf, 'Negative prompt').text).toContain(preset.styles!.anime.negative);
    expect(node(wf, 'Input image').image).toBe('up0.png');
    expect(node(wf, 'Save Image').filename_prefix).toBe('easel/job1');
    expect(node(wf, 'Load Checkpoint').ckpt_name).toBe('sd_v1-5.safetensors');
    expect(p.runs[0].steps).toBe(28);
    expect(JSON.stringify(preset.workflow)).toBe(before);
    expect(wf).not.toBe(preset.workflow);
    expect(validateWorkflow(wf, catalogue, 'restyle')).toEqual([]);
  });

  it.each([
    [1024, 768], [768, 1024], [4000, 3000], [200, 150], [1920, 1080], [333, 777], [5000, 500],
  ])('sizes a %ix%i input to the SD1.5 and SDXL budgets: multiples of 8, within budget, aspect kept', async (w, h) => {
    for (const [family, budget] of [['sd15', 512 * 512], ['sdxl', 1024 * 1024]] as const) {
      const r = family === 'sd15' ? reg : await registry({ family: 'sdxl' });
      const { preset, params } = r.resolve('restyle', {});
      const p = planJob(job('restyle', preset.name, params, [image(w, h)]), preset, ['x.png'], catalogue);
      const fit = node(p.runs[0].workflow, 'Fit to model size');
      const [fw, fh] = [fit.width as number, fit.height as number];
      expect(fw % 8).toBe(0);
      expect(fh % 8).toBe(0);
      expect(fw * fh).toBeLessThanOrEqual(budget);
      expect(fw * fh).toBeGreaterThan(budget * 0.85); // uses the budget, not a fraction of it
      expect(Math.abs(fw / fh - w / h) / (w / h)).toBeLessThan(0.05);
      expect(p.info).toMatchObject({ width: fw, height: fh });
    }
  });

  it('width/height 0 means automatic; one side given keeps the aspect; both given are used', () => {
    const at = (raw: Record<string, unknown>) => node(plan('restyle', raw, [image(1000, 500)]).plan.runs[0].workflow, 'Fit to model size');
    expect(at({ width: 0, height: 0 })).toMatchObject({ width: 720, height: 360 });
    expect(at({ width: 800 })).toMatchObject({ width: 800, height: 400 });
    expect(at({ height: 301 })).toMatchObject({ width: 600, height: 304 });
    expect(at({ width: 640, height: 640 })).toMatchObject({ width: 640, height: 640 });
  });

  it('bindings are found by title even when node ids are renumbered', async () => {
    const dir = path.join(PRESETS_DIR, 'restyle');
    const yaml = await readFile(path.join(dir, 'preset.yaml'), 'utf8');
    const original = JSON.parse(await readFile(path.join(dir, 'workflow.json'), 'utf8')) as Workflow;
    // Renumber every node (as ComfyUI does after edits) and rewrite the links.
    const ids = Object.keys(original);
    const map = new Map(ids.map((id, i) => [id, String(100 + (ids.length - i) * 7)]));
    const renumbered: Workflow = {};
    for (const [id, n] of Object.entries(original)) {
      const inputs = Object.fromEntries(Object.entries(n.inputs).map(([k, v]) => [k, Array.isArray(v) ? [map.get(v[0] as string)!, v[1]] : v]));
      renumbered[map.get(id)!] = { ...n, inputs };
    }
    expect(Object.keys(renumbered).some((id) => id in original)).toBe(false);
    const a = parsePreset(dir, yaml, JSON.stringify(original));
    const b = parsePreset(dir, yaml, JSON.stringify(renumbered));
    const { params } = reg.resolve('restyle', { prompt: 'a boat', seed: 9, denoise: 0.7, steps: 22 });
    const wa = planJob(job('restyle', 'restyle', params, [image(640, 480)]), a, ['in.png'], catalogue).runs[0].workflow;
    const wb = planJob(job('restyle', 'restyle', params, [image(640, 480)]), b, ['in.png'], catalogue).runs[0].workflow;
    for (const title of ['Sampler', 'Positive prompt', 'Negative prompt', 'Input image', 'Fit to model size', 'Save Image', 'Load Checkpoint']) {
      expect(node(wb, title), title).toEqual(
        Object.fromEntries(Object.entries(node(wa, title)).map(([k, v]) => [k, Array.isArray(v) ? [map.get(v[0] as string), v[1]] : v])),
      );
    }
    expect(node(wb, 'Sampler')).toMatchObject({ seed: 9, denoise: 0.7, steps: 22 });
    expect(validateWorkflow(wb, catalogue, 'restyle')).toEqual([]);
  });

  it('variations: RepeatLatentBatch amount = count, one run', () => {
    const { plan: p } = plan('variations', { count: 3, seed: 5 });
    expect(p.runs).toHaveLength(1);
    expect(node(p.runs[0].workflow, 'Repeat for variations').amount).toBe(3);
    expect(node(p.runs[0].workflow, 'Sampler').seed).toBe(5);
  });

  it('ladder: one run per strength with the same seed, labelled, layout strip', () => {
    const { plan: p } = plan('restyle', { seed: 11 }, [image(512, 512)], { ladder: [0.3, 0.45, 0.6, 0.75] });
    expect(p.layout).toBe('strip');
    expect(p.runs.map((r) => r.label)).toEqual(['denoise 0.3', 'denoise 0.45', 'denoise 0.6', 'denoise 0.75']);
    expect(p.runs.map((r) => node(r.workflow, 'Sampler').denoise)).toEqual([0.3, 0.45, 0.6, 0.75]);
    expect(new Set(p.runs.map((r) => node(r.workflow, 'Sampler').seed))).toEqual(new Set([11]));
    expect(new Set(p.runs.map((r) => node(r.workflow, 'Save Image').filename_prefix)).size).toBe(4);
  });

  it('upscale: lanczos to the chosen factor, model upscaler when the host has one, bypassed otherwise', () => {
    const { plan: withModel } = plan('upscale', { scale: 2 }, [image(500, 300)]);
    const wf = withModel.runs[0].workflow;
    expect(node(wf, 'Scale to target')).toMatchObject({ upscale_method: 'lanczos', width: 1000, height: 600 });
    expect(node(wf, 'Load upscale model').model_name).toBe('4x-UltraSharp.pth');
    expect(withModel.info).toMatchObject({ upscaleModel: '4x-UltraSharp.pth', outputWidth: 1000, outputHeight: 600, tiledVae: false });
    expect(Number(node(wf, 'Sampler').denoise)).toBeLessThanOrEqual(0.5);

    const { plan: plain } = plan('upscale', { scale: 2 }, [image(500, 300)], {}, withoutUpscaleModels());
    const pw = plain.runs[0].workflow;
    expect(Object.values(pw).map((n) => n.class_type)).not.toContain('UpscaleModelLoader');
    expect(Object.values(pw).map((n) => n.class_type)).not.toContain('ImageUpscaleWithModel');
    const [loadId] = findNodes(pw, { title: 'Input image' });
    expect(node(pw, 'Scale to target').image).toEqual([loadId, 0]);
    expect(validateWorkflow(pw, withoutUpscaleModels(), 'upscale')).toEqual([]);
  });

  it('upscale: tiled VAE above the size threshold, capped output size', () => {
    const { plan: big } = plan('upscale', { scale: 4 }, [image(1200, 800)]);
    const classes = Object.values(big.runs[0].workflow).map((n) => n.class_type);
    expect(classes).toContain('VAEEncodeTiled');
    expect(classes).toContain('VAEDecodeTiled');
    expect(classes).not.toContain('VAEEncode');
    const { width, height } = node(big.runs[0].workflow, 'Scale to target') as { width: number; height: number };
    expect(width * height).toBeLessThanOrEqual(2048 * 2048);
    expect(width % 8 + (height % 8)).toBe(0);
    expect(Math.abs(width / height - 1.5)).toBeLessThan(0.02);
    expect(validateWorkflow(big.runs[0].workflow, catalogue, 'upscale').map(formatProblem)).toEqual([]);
  });

  it('hires: first pass at native size, LatentUpscale 2x, second pass at hires_denoise; steps of both passes', () => {
    const { plan: p } = plan('hires', { denoise: 0.5, hires_denoise: 0.45, steps: 20 }, [image(800, 800)]);
    const wf = p.runs[0].workflow;
    expect(node(wf, 'Fit to model size')).toMatchObject({ width: 512, height: 512 });
    expect(node(wf, 'Upscale latent')).toMatchObject({ width: 1024, height: 1024 });
    expect(node(wf, 'First pass').denoise).toBe(0.5);
    expect(node(wf, 'Second pass').denoise).toBe(0.45);
    expect(node(wf, 'First pass').seed).toBe(node(wf, 'Second pass').seed);
    expect(p.runs[0].steps).toBe(40);
  });

  it('blend: both images loaded and scaled to the first one\'s size, blend factor set', () => {
    const { plan: p } = plan('blend', { blend: 0.3 }, [image(1024, 768, 1), image(500, 900, 2)]);
    const wf = p.runs[0].workflow;
    expect(node(wf, 'Input image').image).toBe('up0.png');
    expect(node(wf, 'Second image').image).toBe('up1.png');
    expect(node(wf, 'Fit second image')).toMatchObject({ width: node(wf, 'Fit to model size').width, height: node(wf, 'Fit to model size').height, crop: 'center' });
    expect(node(wf, 'Blend').blend_factor).toBe(0.3);
    expect(() => plan('blend', {}, [image(100, 100)])).toThrow(/needs 2 image/);
  });

  it('checkpoint: the host\'s first checkpoint of the family replaces a missing placeholder', () => {
    const { plan: p } = plan('restyle', {}, [image(512, 512)], {}, withCheckpoints(['ponyXL.safetensors', 'dreamshaper_8.safetensors']));
    expect(node(p.runs[0].workflow, 'Load Checkpoint').ckpt_name).toBe('dreamshaper_8.safetensors');
    expect(p.info?.checkpoint).toBe('dreamshaper_8.safetensors');
    expect(() => plan('restyle', {}, [image(512, 512)], {}, withCheckpoints(['ponyXL.safetensors']))).toThrow(UserError);
  });

  it('a sampler the host lacks is refused with the host\'s list', () => {
    const cat = realCatalogue((raw) => {
      (raw.KSampler as any).input.required.sampler_name[0] = ['euler', 'ddim'];
    });
    expect(() => plan('restyle', { sampler: 'dpmpp_2m' }, [image(512, 512)], {}, cat)).toThrow('sampler "dpmpp_2m" is not available on this host; it offers: euler, ddim');
  });

  it('without a catalogue it still builds a complete workflow (model upscaler bypassed)', () => {
    const { preset, params } = reg.resolve('upscale', {});
    const p = planJob(job('upscale', preset.name, params, [image(300, 200)]), preset as Preset, ['a.png']);
    expect(Object.values(p.runs[0].workflow).map((n) => n.class_type)).not.toContain('UpscaleModelLoader');
    expect(validateWorkflow(p.runs[0].workflow, catalogue, 'upscale')).toEqual([]);
  });
});
