import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/commands/errors.ts';
import { MAX_SEED } from '../../../src/comfy/types.ts';
import { randomSeed } from '../../../src/commands/option-values.ts';
import { CommandRegistry } from '../../../src/commands/registry.ts';
import { COMMAND_NAMES, type CommandName } from '../../../src/commands/types.ts';
import { config, registry, shippedPresets } from './helpers.ts';

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('bad_option');
    return (err as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('CommandRegistry', () => {
  it('offers every command with short descriptions, help and options from its preset', async () => {
    const reg = await registry();
    expect(reg.specs.map((s) => s.name)).toEqual(COMMAND_NAMES);
    for (const spec of reg.specs) {
      expect(spec.description.length).toBeGreaterThan(10);
      expect(spec.description.length).toBeLessThanOrEqual(100);
      expect(spec.help.length).toBeGreaterThan(spec.description.length);
      for (const o of spec.options) expect(o.description.length).toBeLessThanOrEqual(100);
    }
    expect(reg.spec('blend')!.images).toEqual(['image', 'image2']);
    expect(reg.spec('restyle')!.options.map((o) => o.name)).toEqual(
      expect.arrayContaining(['prompt', 'style', 'negative', 'denoise', 'seed', 'steps', 'cfg', 'sampler', 'scheduler', 'width', 'height']),
    );
    expect(reg.spec('variations')!.options.map((o) => o.name)).toContain('count');
    expect(reg.spec('upscale')!.options.map((o) => o.name)).toContain('scale');
    expect(reg.spec('blend')!.options.map((o) => o.name)).toContain('blend');
    expect(reg.spec('restyle')!.options.find((o) => o.name === 'sampler')!.autocomplete).toBe(true);
  });

  it.each(COMMAND_NAMES.map((c) => [c]))('%s resolves defaults from its preset and a random seed', async (command) => {
    const reg = await registry(undefined, () => 77);
    const { preset, params } = reg.resolve(command as CommandName, {});
    expect(preset.command).toBe(command);
    for (const o of preset.params) {
      if (o.name === 'seed') expect(params.seed).toBe(77);
      else if (o.default !== undefined) expect(params[o.name], o.name).toBe(o.default);
    }
    expect(params.model).toBe('sd_v1-5.safetensors');
  });

  it.each(COMMAND_NAMES.map((c) => [c]))('%s rejects out-of-range values with a friendly message', async (command) => {
    const reg = await registry();
    expect(message(() => reg.resolve(command as CommandName, { denoise: 1.5 }))).toBe('denoise must be between 0.05 and 1.0; you gave 1.5');
    expect(message(() => reg.resolve(command as CommandName, { denoise: 'lots' }))).toBe('denoise must be a number between 0.05 and 1.0; you gave "lots"');
    expect(message(() => reg.resolve(command as CommandName, { seed: -1.5 }))).toBe('seed must be a whole number between 0 and 9007199254740991; you gave -1.5');
    expect(message(() => reg.resolve(command as CommandName, { seed: 2 ** 60 }))).toContain('seed must be a whole number between 0 and 9007199254740991');
    expect(message(() => reg.resolve(command as CommandName, { steps: 0 }))).toBe('steps must be a whole number between 1 and 60; you gave 0');
    expect(message(() => reg.resolve(command as CommandName, { cfg: 31 }))).toBe('cfg must be between 1.0 and 30.0; you gave 31');
    if (reg.option(command as CommandName, 'width')) {
      expect(message(() => reg.resolve(command as CommandName, { width: 13 }))).toBe('width must be 0 (automatic) or between 64 and 2048; you gave 13');
      expect(message(() => reg.resolve(command as CommandName, { height: '8' }))).toBe('height must be 0 (automatic) or between 64 and 2048; you gave "8"');
      expect(reg.resolve(command as CommandName, { width: 64, height: 0 }).params).toMatchObject({ width: 64, height: 0 });
    }
    const sampler = message(() => reg.resolve(command as CommandName, { sampler: 'dpmpp2m' }));
    // 41 samplers: the likely ones (the guess first), not the whole list, and how many there are.
    expect(sampler).toMatch(/^sampler must be one of its \d\d choices, such as dpmpp_2m, dpm_2, [^;]*; you gave "dpmpp2m" \(did you mean dpmpp_2m\?\)$/);
    expect(sampler.length).toBeLessThan(220);
    expect(message(() => reg.resolve(command as CommandName, { sampler: 'qqq' }))).toMatch(/^sampler must be one of its \d\d choices, such as (dpmpp_2m|ddim), euler, [^;]*; you gave "qqq"$/);
  });

  it('command-specific limits: count (limits.maxCount), scale, blend, width', async () => {
    const reg = await registry({ limits: { maxCount: 6, maxSteps: 40 } });
    expect(message(() => reg.resolve('variations', { count: 7 }))).toBe('count must be a whole number between 1 and 6; you gave 7');
    expect(reg.resolve('variations', { count: '6' }).params.count).toBe(6);
    expect(message(() => reg.resolve('restore', { steps: 41 }))).toBe('steps must be a whole number between 1 and 40; you gave 41');
    expect(message(() => reg.resolve('upscale', { scale: 5 }))).toBe('scale must be between 1.25 and 4.0; you gave 5');
    expect(reg.resolve('upscale', { scale: '3x' }).params.scale).toBe(3);
    expect(message(() => reg.resolve('blend', { blend: 1.2 }))).toBe('blend must be between 0.0 and 1.0; you gave 1.2');
    expect(message(() => reg.resolve('restyle', { width: 4096 }))).toBe('width must be a whole number between 0 and 2048; you gave 4096');
    expect(message(() => reg.resolve('restyle', { style: 'oil' }))).toMatch(/^style must be one of: none, oil painting, watercolor, .*; you gave "oil" \(did you mean oil painting\?\)$/);
    expect(message(() => reg.resolve('restyle', { colour: 'red' }))).toMatch(/^\/restyle has no option "colour"; its options are: prompt, style/);
  });

  it('a configured maxSteps below a preset default lowers the default', async () => {
    const reg = await registry({ limits: { maxSteps: 30 } });
    expect(reg.resolve('restore', {}).params.steps).toBe(30);
    expect(reg.spec('restore')!.options.find((o) => o.name === 'steps')!.max).toBe(30);
  });

  it('accepts the ways people write values: aliases, strings, "dpm++ 2m karras", random seeds', async () => {
    const reg = await registry(undefined, () => 5);
    const { params } = reg.resolve('restyle', { strength: '0.45', sampler: 'DPM++ 2M Karras', seed: '42', style: 'Pixel Art', neg: 'text' });
    expect(params).toMatchObject({ denoise: 0.45, sampler: 'dpmpp_2m', scheduler: 'karras', seed: 42, style: 'pixel art', negative: 'text' });
    expect(reg.resolve('restyle', { seed: 'random' }).params.seed).toBe(5);
    expect(reg.resolve('restyle', { sampler: 'euler a'.replace(' a', '_ancestral'), scheduler: 'normal' }).params).toMatchObject({ sampler: 'euler_ancestral', scheduler: 'normal' });
  });

  it('a prompt without a style does not stack the default style on it', async () => {
    const reg = await registry();
    expect(reg.resolve('restyle', {}).params.style).toBe('oil painting');
    expect(reg.resolve('restyle', { prompt: 'a neon city' }).params.style).toBe('none');
    expect(reg.resolve('restyle', { prompt: 'a neon city', style: 'watercolor' }).params.style).toBe('watercolor');
    const { preset, params } = reg.resolve('restyle', { prompt: 'a cat', style: 'anime' });
    const { positive, negative } = reg.composePrompts(preset, params);
    expect(positive).toBe(`a cat, ${preset.styles!.anime.prompt}`);
    expect(negative).toBe(`blurry, lowres, watermark, text, deformed, ${preset.styles!.anime.negative}`);
  });

  it('random seeds are whole numbers within 0..2^53-1 and differ', () => {
    const seeds = new Set(Array.from({ length: 200 }, () => randomSeed()));
    expect(seeds.size).toBeGreaterThan(195);
    for (const s of seeds) {
      expect(Number.isSafeInteger(s)).toBe(true);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(MAX_SEED);
    }
  });

  it('choices: styles and samplers filtered by what was typed, at most 25', async () => {
    const reg = await registry();
    expect(reg.choices('restyle', 'style').map((c) => c.value)).toContain('watercolor');
    expect(reg.choices('restyle', 'style', 'wat').map((c) => c.value)).toEqual(['watercolor']);
    expect(reg.choices('restyle', 'style', 'PAINT').map((c) => c.value)).toEqual(['oil painting']);
    const all = reg.choices('restyle', 'sampler');
    expect(all).toHaveLength(25);
    const dpm = reg.choices('restyle', 'sampler', 'dpm++ 2m').map((c) => c.value);
    expect(dpm[0]).toBe('dpmpp_2m');
    expect(dpm.every((v) => v.includes('dpmpp_2m'))).toBe(true);
    expect(reg.choices('restyle', 'sampler', 'anc').map((c) => c.value)).toContain('euler_ancestral');
    expect(reg.choices('restyle', 'scheduler', 'kar')).toEqual([{ name: 'karras', value: 'karras' }]);
    expect(reg.choices('restyle', 'nothing')).toEqual([]);
  });

  it('config.family and config.checkpoints adapt every preset', async () => {
    const presets = await shippedPresets();
    const xl = new CommandRegistry(presets, config({ family: 'sdxl', checkpoints: { sdxl: 'juggernautXL_v9.safetensors' } }));
    const { preset, params } = xl.resolve('restyle', {});
    expect([preset.family, preset.checkpoint, preset.checkpointFallback, params.model]).toEqual(['sdxl', 'juggernautXL_v9.safetensors', false, 'juggernautXL_v9.safetensors']);
    // the loaded presets themselves are untouched
    expect(presets.find((p) => p.name === 'restyle')!.family).toBe('sd15');
  });

  it('a second preset for a command adds a preset option', async () => {
    const presets = await shippedPresets();
    const base = presets.find((p) => p.name === 'restyle')!;
    const reg = new CommandRegistry([...presets, { ...base, name: 'restyle-soft', description: 'Softer restyle' }], config());
    const presetOpt = reg.spec('restyle')!.options.find((o) => o.name === 'preset')!;
    expect(presetOpt.choices!.map((c) => c.value)).toEqual(['restyle', 'restyle-soft']);
    expect(reg.resolve('restyle', {}).preset.name).toBe('restyle');
    expect(reg.resolve('restyle', { preset: 'restyle-soft' }).params.preset).toBe('restyle-soft');
    expect(message(() => reg.resolve('restyle', { preset: 'nope' }))).toBe('preset must be one of: restyle, restyle-soft; you gave "nope"');
  });

  it('a command without a preset is reported as unavailable', async () => {
    const presets = (await shippedPresets()).filter((p) => p.command !== 'blend');
    const reg = new CommandRegistry(presets, config());
    expect(reg.specs.map((s) => s.name)).not.toContain('blend');
    expect(() => reg.resolve('blend', {})).toThrow(/\/blend is not available on this bot/);
  });
});
