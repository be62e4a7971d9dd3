import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandRegistry } from '../../../src/commands/registry.ts';
import { tokenize } from '../../../src/commands/text-parser.ts';
import { registry } from './helpers.ts';

let reg: CommandRegistry;
beforeAll(async () => {
  reg = await registry();
});

describe('parseText', () => {
  it('a style name, then bare option names with values', () => {
    expect(reg.parseText('restyle', 'oil painting denoise 0.6 seed 42')).toEqual({ style: 'oil painting', denoise: 0.6, seed: 42 });
  });

  it('key=value, key:value, --key value and --key=value', () => {
    expect(reg.parseText('restyle', 'watercolor steps=30 cfg:9.5 --sampler euler --seed=7')).toEqual({ style: 'watercolor', steps: 30, cfg: 9.5, sampler: 'euler', seed: 7 });
  });

  it('quoted prompts stay whole, also inside key="..."', () => {
    expect(reg.parseText('restyle', '"a cat on a roof, denoise 0.9 style" --steps 30')).toEqual({ prompt: 'a cat on a roof, denoise 0.9 style', steps: 30 });
    expect(reg.parseText('restyle', 'prompt="a red fox" negative=\'blurry, text\' anime')).toEqual({ prompt: 'a red fox', negative: 'blurry, text', style: 'anime' });
    expect(reg.parseText('restyle', '“smart quotes work” seed 1')).toEqual({ prompt: 'smart quotes work', seed: 1 });
  });

  it('free words are the prompt; a leading style name is the style', () => {
    expect(reg.parseText('restyle', 'a lighthouse at dusk')).toEqual({ prompt: 'a lighthouse at dusk' });
    expect(reg.parseText('restyle', 'pencil sketch of an old man denoise 0.5')).toEqual({ style: 'pencil sketch', prompt: 'of an old man', denoise: 0.5 });
    expect(reg.parseText('restyle', 'Pixel Art')).toEqual({ style: 'pixel art' });
  });

  it('an option word without a fitting value stays in the prompt', () => {
    expect(reg.parseText('restyle', 'a cat climbing steps at night')).toEqual({ prompt: 'a cat climbing steps at night' });
    expect(reg.parseText('restyle', "a boy's seed collection")).toEqual({ prompt: "a boy's seed collection" });
  });

  it('bare negative takes the words up to the next option', () => {
    expect(reg.parseText('restyle', 'a cat negative blurry, text denoise 0.5')).toEqual({ prompt: 'a cat', negative: 'blurry, text', denoise: 0.5 });
    expect(reg.parseText('restyle', 'a cat neg extra fingers')).toEqual({ prompt: 'a cat', negative: 'extra fingers' });
  });

  it('sampler names with spaces and ++, and a scheduler after them', () => {
    expect(reg.parseText('restyle', 'sampler dpm++ 2m karras seed 3')).toEqual({ sampler: 'dpmpp_2m', scheduler: 'karras', seed: 3 });
    expect(reg.parseText('restore', 'sampler ddim')).toEqual({ sampler: 'ddim' });
  });

  it('command-specific shortcuts: 2x for upscale, count for variations, blend for blend', () => {
    expect(reg.parseText('upscale', '3x denoise 0.4')).toEqual({ scale: 3, denoise: 0.4 });
    expect(reg.parseText('upscale', 'scale 1.5')).toEqual({ scale: 1.5 });
    expect(reg.parseText('variations', 'count 4 a dog')).toEqual({ count: 4, prompt: 'a dog' });
    expect(reg.parseText('variations', 'n=2')).toEqual({ count: 2 });
    expect(reg.parseText('blend', 'blend 0.3 a dreamy mix')).toEqual({ blend: 0.3, prompt: 'a dreamy mix' });
  });

  it('values that do not fit are left for resolve to explain', () => {
    const raw = reg.parseText('restyle', 'denoise=lots');
    expect(raw).toEqual({ denoise: 'lots' });
    expect(() => reg.resolve('restyle', raw)).toThrow('denoise must be a number between 0.05 and 1.0; you gave "lots"');
  });

  it('unknown --flags and key=value are refused with the option list', () => {
    expect(() => reg.parseText('restyle', 'a cat --colour red')).toThrow(/^\/restyle has no option "colour"; its options are: prompt, style/);
    expect(() => reg.parseText('restyle', 'a cat strenght=0.4')).toThrow(/has no option "strenght" \(did you mean denoise\?\)/);
  });

  it('round-trips through resolve', () => {
    const { params } = reg.resolve('restyle', reg.parseText('restyle', 'anime "a girl with a sword" denoise 0.65 seed 42 steps 28'));
    expect(params).toMatchObject({ style: 'anime', prompt: 'a girl with a sword', denoise: 0.65, seed: 42, steps: 28 });
  });

  it('empty text gives no options', () => {
    expect(reg.parseText('restyle', '   ')).toEqual({});
    expect(tokenize('')).toEqual([]);
  });

  it('a misspelt style is refused with "did you mean", exactly as the CLI refuses --style', () => {
    const refusal = (text: string) => {
      try {
        reg.resolve('restyle', reg.parseText('restyle', text));
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    };
    const cli = refusal('--style watercolr');
    expect(cli).toMatch(/you gave "watercolr" \(did you mean watercolor\?\)/);
    // Named with the option word, or the whole text being nothing but the typo.
    expect(refusal('style watercolr')).toBe(cli);
    expect(refusal('style: watercolr')).toBe(cli);
    expect(refusal('watercolr')).toBe(cli);
    expect(refusal('oil paintng denoise 0.5')).toMatch(/you gave "oil paintng" \(did you mean oil painting\?\)/);
    expect(refusal('pixelart')).toMatch(/did you mean pixel art\?/);
  });

  it('prompts that only look a little like a style stay prompts', () => {
    expect(reg.parseText('restyle', 'noir')).toEqual({ prompt: 'noir' });
    expect(reg.parseText('restyle', 'a cat with style')).toEqual({ prompt: 'a cat with style' });
    expect(reg.parseText('restyle', 'style of van gogh')).toEqual({ prompt: 'style of van gogh' });
    expect(reg.parseText('restyle', 'watercolr a cat')).toEqual({ prompt: 'watercolr a cat' });
  });
});
