import { beforeAll, describe, expect, it } from 'vitest';
import { planJob } from '../../../src/commands/plan.ts';
import type { Preset } from '../../../src/commands/preset.ts';
import { defaultParams, formatProblem, sampleJob, validatePreset, validateWorkflow } from '../../../src/commands/preset-validation.ts';
import { applyConfig } from '../../../src/commands/registry.ts';
import { COMMAND_NAMES, type ParamValue } from '../../../src/commands/types.ts';
import { realCatalogue, shippedPresets, withoutUpscaleModels } from './helpers.ts';

const catalogue = realCatalogue();
let presets: Preset[];
beforeAll(async () => {
  presets = await shippedPresets();
});

/** Every value an option can take at its edges (min, default, max) or, for choices, every choice. */
function valuesOf(preset: Preset): Array<[string, ParamValue]> {
  const out: Array<[string, ParamValue]> = [];
  for (const o of preset.params) {
    if (o.type === 'choice') for (const c of o.choices!) out.push([o.name, c.value]);
    else if (o.type === 'integer' || o.type === 'number') {
      for (const v of [o.min, o.default, o.max]) if (v !== undefined) out.push([o.name, v as number]);
    } else if (o.type === 'string') out.push([o.name, 'a lighthouse at dusk, "quoted" \\ text']);
  }
  return out;
}

function problemsFor(preset: Preset, name: string, value: ParamValue, size: { width: number; height: number }, cat = catalogue): string[] {
  const params = { ...defaultParams(preset), [name]: value };
  const plan = planJob(sampleJob(preset, params, size), preset, preset.images.map((_, i) => `in${i}.png`), cat);
  return plan.runs.flatMap((r) => validateWorkflow(r.workflow, cat, preset.name).map(formatProblem));
}

describe('shipped presets', () => {
  it('cover every command, with the guide settings as defaults', () => {
    expect(presets.map((p) => p.command).sort()).toEqual([...COMMAND_NAMES].sort());
    const get = (name: string) => presets.find((p) => p.name === name)!;
    const d = (p: Preset, opt: string) => p.params.find((o) => o.name === opt)?.default;
    expect(d(get('restyle'), 'denoise')).toBeGreaterThanOrEqual(0.5);
    expect(d(get('restyle'), 'denoise')).toBeLessThanOrEqual(0.7);
    expect([d(get('restyle'), 'sampler'), d(get('restyle'), 'scheduler')]).toEqual(['dpmpp_2m', 'karras']);
    expect(d(get('restore'), 'sampler')).toBe('ddim');
    expect(Number(d(get('restore'), 'steps'))).toBeGreaterThanOrEqual(30);
    expect(Number(d(get('sketch'), 'denoise'))).toBeGreaterThanOrEqual(0.7);
    expect(Number(d(get('sketch'), 'cfg'))).toBeGreaterThanOrEqual(9);
    expect(Number(d(get('upscale'), 'denoise'))).toBeLessThanOrEqual(0.5);
    expect(Number(d(get('variations'), 'denoise'))).toBeLessThanOrEqual(0.6);
    const styles = Object.keys(get('restyle').styles!);
    for (const s of ['oil painting', 'watercolor', 'anime', 'photoreal', 'pencil sketch', 'pixel art']) expect(styles).toContain(s);
    expect(styles.filter((s) => s !== 'none').length).toBeGreaterThanOrEqual(8);
    for (const p of presets) {
      expect(p.description.length).toBeLessThanOrEqual(100);
      for (const o of p.params) expect(o.description.length, `${p.name}.${o.name}`).toBeLessThanOrEqual(100);
    }
  });

  it('every preset is valid on the reference ComfyUI 0.3.64 host', () => {
    for (const p of presets) expect(validatePreset(p, catalogue).map(formatProblem), p.name).toEqual([]);
  });

  it('every preset is valid as SDXL too', () => {
    for (const p of presets) {
      const xl = applyConfig(p, { family: 'sdxl', checkpoints: {} });
      expect(xl.family).toBe('sdxl');
      expect(xl.checkpoint).toBe('sdxl_base_1.0.safetensors');
      expect(validatePreset(xl, catalogue).map(formatProblem), p.name).toEqual([]);
    }
  });

  it('every option at its min, default and max (and every choice) builds a workflow the real node definitions accept', () => {
    let checked = 0;
    for (const p of presets) {
      for (const [name, value] of valuesOf(p)) {
        for (const size of [{ width: 640, height: 480 }, { width: 300, height: 1900 }]) {
          expect(problemsFor(p, name, value, size), `${p.name} ${name}=${value} at ${size.width}x${size.height}`).toEqual([]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(7 * 2 * 20);
  });

  it('the upscale preset is valid with and without an upscale model on the host (and with the tiled VAE)', () => {
    const up = presets.find((p) => p.name === 'upscale')!;
    const noModels = withoutUpscaleModels();
    expect(validatePreset(up, noModels)).toEqual([]);
    for (const cat of [catalogue, noModels]) {
      for (const scale of [1.25, 2, 4]) {
        for (const size of [{ width: 400, height: 300 }, { width: 1600, height: 1200 }]) {
          const plan = planJob(sampleJob(up, { ...defaultParams(up), scale }, size), up, ['in.png'], cat);
          expect(validateWorkflow(plan.runs[0].workflow, cat, 'upscale').map(formatProblem)).toEqual([]);
        }
      }
    }
  });
});
