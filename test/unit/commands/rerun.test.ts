import { beforeAll, describe, expect, it } from 'vitest';
import { resultActions, describeJob, helpText } from '../../../src/commands/describe.ts';
import { UserError } from '../../../src/commands/errors.ts';
import { planJob } from '../../../src/commands/plan.ts';
import { CommandRegistry } from '../../../src/commands/registry.ts';
import { deriveRerun } from '../../../src/commands/rerun.ts';
import type { JobRecord } from '../../../src/jobs/types.ts';
import { config, image, job, realCatalogue, registry, shippedPresets } from './helpers.ts';

let reg: CommandRegistry;
let parent: JobRecord;
const outputs = [1, 2, 3, 4].map((n) => ({ ...image(512, 384, 10 + n), label: String(n) }));
let seeds = 1000;
const newSeed = () => ++seeds;

beforeAll(async () => {
  reg = await registry();
  const { params } = reg.resolve('restyle', { prompt: 'a harbour', style: 'watercolor', denoise: 0.6, seed: 42, steps: 28 });
  // A record as the store gives it back after a restart: plain JSON, nothing else.
  parent = JSON.parse(JSON.stringify(job('restyle', 'restyle', params, [image(1024, 768)], { id: 'p1', outputs, layout: 'gallery', state: 'done' })));
});

describe('deriveRerun', () => {
  it('reroll: same everything, new seed', () => {
    const r = deriveRerun(parent, { action: 'reroll' }, reg, () => 777);
    expect(r.command).toBe('restyle');
    expect(r.params).toEqual({ ...parent.params, seed: 777 });
    expect(r.inputs).toEqual(parent.inputs);
    expect(r.ladder).toBeUndefined();
  });

  it('subtle and strong: denoise -/+ 0.15, same seed, clamped to the option range', () => {
    expect(deriveRerun(parent, { action: 'subtle' }, reg, newSeed).params).toEqual({ ...parent.params, denoise: 0.45 });
    expect(deriveRerun(parent, { action: 'strong' }, reg, newSeed).params).toEqual({ ...parent.params, denoise: 0.75 });
    const high = { ...parent, params: { ...parent.params, denoise: 0.95 } };
    expect(deriveRerun(high, { action: 'strong' }, reg, newSeed).params.denoise).toBe(1);
    const low = { ...parent, params: { ...parent.params, denoise: 0.1 } };
    expect(deriveRerun(low, { action: 'subtle' }, reg, newSeed).params.denoise).toBe(0.05);
    const floor = { ...parent, params: { ...parent.params, denoise: 0.05 } };
    expect(() => deriveRerun(floor, { action: 'subtle' }, reg, newSeed)).toThrow('denoise is already at its lowest (0.05); try Strong instead.');
  });

  it('ladder: same seed at 0.3/0.45/0.6/0.75, planned as four labelled runs in a strip', () => {
    const r = deriveRerun(parent, { action: 'ladder' }, reg, newSeed);
    expect(r.ladder).toEqual([0.3, 0.45, 0.6, 0.75]);
    expect(r.params.seed).toBe(42);
    const preset = reg.preset('restyle')!;
    const plan = planJob(job(r.command, 'restyle', r.params, r.inputs, { ladder: r.ladder }), preset, ['in.png'], realCatalogue());
    expect(plan.layout).toBe('strip');
    expect(plan.runs.map((x) => x.label)).toEqual(['denoise 0.3', 'denoise 0.45', 'denoise 0.6', 'denoise 0.75']);
  });

  it('ladder of a variations job makes one image per strength', () => {
    const { params } = reg.resolve('variations', { count: 4, seed: 8 });
    const v = job('variations', 'variations', params, [image(512, 512)], { outputs });
    const r = deriveRerun(v, { action: 'ladder' }, reg, newSeed);
    expect(r.params.count).toBe(1);
    expect(r.params.seed).toBe(8);
  });

  it('vary image k: variations of output k, prompt carried, new seed', () => {
    const r = deriveRerun(parent, { action: 'vary', index: 3 }, reg, () => 99);
    expect(r.command).toBe('variations');
    expect(r.inputs).toEqual([outputs[2]]);
    expect(r.sourceIndex).toBe(3);
    expect(r.params.seed).toBe(99);
    expect(r.params.prompt).toBe(`a harbour, ${reg.preset('restyle')!.styles!.watercolor.prompt}`);
    expect(r.params.denoise).toBe(0.5); // the variations preset's own default
    expect(r.params.count).toBe(4);
  });

  it('upscale image k: upscale of output k', () => {
    const r = deriveRerun(parent, { action: 'upscale', index: 1 }, reg, newSeed);
    expect(r.command).toBe('upscale');
    expect(r.inputs).toEqual([outputs[0]]);
    expect(r.params.scale).toBe(2);
    expect(r.sourceIndex).toBe(1);
  });

  it('vary/upscale need an existing image number', () => {
    expect(() => deriveRerun(parent, { action: 'vary', index: 5 }, reg, newSeed)).toThrow('Pick an image between 1 and 4 to vary; you gave 5.');
    expect(() => deriveRerun({ ...parent, outputs: [] }, { action: 'upscale', index: 1 }, reg, newSeed)).toThrow(/no images yet/);
  });

  it('edit: changed prompt, denoise, seed or style, validated like a new command', () => {
    const r = deriveRerun(parent, { action: 'edit', edits: { prompt: 'a harbour at night', strength: '0.7' } }, reg, newSeed);
    expect(r.params).toEqual({ ...parent.params, prompt: 'a harbour at night', denoise: 0.7 });
    expect(deriveRerun(parent, { action: 'edit', edits: { style: 'anime', seed: 5 } }, reg, newSeed).params).toMatchObject({ style: 'anime', seed: 5, prompt: 'a harbour' });
    expect(deriveRerun(parent, { action: 'edit', edits: { seed: 'random' } }, reg, () => 31337).params.seed).toBe(31337);
    try {
      deriveRerun(parent, { action: 'edit', edits: { denoise: 1.5 } }, reg, newSeed);
      throw new Error('expected a refusal');
    } catch (err) {
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toBe('denoise must be between 0.05 and 1.0; you gave 1.5');
    }
  });

  it('every action names the preset the new job runs: a job of a second preset stays on it', async () => {
    expect(deriveRerun(parent, { action: 'reroll' }, reg, newSeed).preset).toBe('restyle');
    expect(deriveRerun(parent, { action: 'vary', index: 1 }, reg, newSeed).preset).toBe('variations');
    expect(deriveRerun(parent, { action: 'upscale', index: 2 }, reg, newSeed).preset).toBe('upscale');
    const presets = await shippedPresets();
    const base = presets.find((p) => p.name === 'restyle')!;
    const two = new CommandRegistry([...presets, { ...base, name: 'restyle-soft', description: 'Softer restyle' }], config());
    const { params } = two.resolve('restyle', { preset: 'restyle-soft', denoise: 0.6, seed: 3 });
    const soft = job('restyle', 'restyle-soft', params, [image(640, 480)], { outputs });
    for (const action of ['reroll', 'subtle', 'strong', 'ladder', 'edit'] as const) {
      const r = deriveRerun(soft, { action, edits: { prompt: 'x' } }, two, newSeed);
      expect([action, r.preset, r.params.preset]).toEqual([action, 'restyle-soft', 'restyle-soft']);
    }
    // An edit may switch presets; the result follows it.
    expect(deriveRerun(soft, { action: 'edit', edits: { preset: 'restyle' } }, two, newSeed).preset).toBe('restyle');
  });

  it('options a preset no longer has are dropped; current limits apply', async () => {
    const old = { ...parent, params: { ...parent.params, removed_option: 'x', steps: 28 } };
    expect(deriveRerun(old, { action: 'reroll' }, reg, newSeed).params).not.toHaveProperty('removed_option');
    const strict = await registry({ limits: { maxSteps: 20 } });
    expect(() => deriveRerun(old, { action: 'reroll' }, strict, newSeed)).toThrow('steps must be a whole number between 1 and 20; you gave 28');
  });
});

describe('describeJob / resultActions / helpText', () => {
  it('summary lines', () => {
    const lines = describeJob({ ...parent, startedAt: 1000, finishedAt: 13_400 }, { host: 'gpu-1', simulated: true });
    expect(lines).toEqual([
      'Command: /restyle',
      'Prompt: a harbour',
      'Style: watercolor',
      'Negative: blurry, lowres, watermark, text, deformed',
      'Denoise: 0.6',
      'Seed: 42',
      'Steps: 28 · CFG: 9 · Sampler: dpmpp_2m (karras)',
      'Model: sd_v1-5.safetensors',
      'Host: gpu-1 (simulated)',
      'Time: 12.4 s',
    ]);
    expect(describeJob({ ...parent, ladder: [0.3, 0.45] })).toContain('Denoise: 0.3 / 0.45 (ladder, same seed)');
  });

  it('actions: rerun set plus V/U per image for galleries and ladder strips, cancel while running', () => {
    expect(resultActions(parent).map((a) => a.label)).toEqual(['Reroll', 'Subtle', 'Strong', 'Ladder', 'V1', 'V2', 'V3', 'V4', 'U1', 'U2', 'U3', 'U4', 'Edit', 'Delete']);
    expect(resultActions(parent).find((a) => a.label === 'U3')).toEqual({ action: 'upscale', index: 3, label: 'U3' });
    expect(resultActions({ ...parent, outputs: outputs.slice(0, 1) }).map((a) => a.label)).toContain('V1');
    // A ladder has no subtle/strong/ladder (it already spans the strengths) but V/U for each of its images.
    expect(resultActions({ ...parent, layout: 'strip', ladder: [0.3, 0.45, 0.6, 0.75] }).map((a) => a.label)).toEqual(['Reroll', 'V1', 'V2', 'V3', 'V4', 'U1', 'U2', 'U3', 'U4', 'Edit', 'Delete']);
    expect(resultActions({ ...parent, state: 'running' })).toEqual([{ action: 'cancel', label: 'Cancel' }]);
    expect(resultActions({ ...parent, state: 'failed' }).map((a) => a.action)).toEqual(['reroll', 'edit', 'delete']);
  });

  it('help names every command and its options', () => {
    const text = helpText(reg.specs);
    for (const s of reg.specs) expect(text).toContain(`/${s.name}`);
    expect(text).toContain('denoise 0.05-1');
    expect(text).toContain('Ladder');
  });
});
