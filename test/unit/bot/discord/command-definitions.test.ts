import { describe, expect, it } from 'vitest';
import { buildCommandDefinitions, slashCommand } from '../../../../src/bot/discord/command-definitions.ts';
import { sameCommand } from '../../../../src/bot/discord/register-commands.ts';
import type { CommandSpec } from '../../../../src/commands/types.ts';
import { checkCommand } from '../../../fakes/discord/discord-limits.ts';

const styles = Array.from({ length: 30 }, (_, i) => ({ name: `Style ${i}`, value: `style-${i}` }));
const restyle: CommandSpec = {
  name: 'restyle',
  description: 'Repaint an image in another style, keeping its composition. '.repeat(3),
  help: 'long help',
  images: ['image'],
  preset: 'restyle',
  options: [
    { name: 'prompt', type: 'string', description: 'What to paint' },
    { name: 'denoise', type: 'number', description: 'How much may change', min: 0.05, max: 1, default: 0.55 },
    { name: 'steps', type: 'integer', description: 'Sampler steps', min: 1, max: 60 },
    { name: 'style', type: 'choice', description: 'A named style', choices: styles },
    { name: 'sampler', type: 'choice', description: 'Sampler', choices: [{ name: 'Euler', value: 'euler' }], autocomplete: true },
    { name: 'size', type: 'choice', description: 'Output size', choices: [{ name: 'Same', value: 'same' }, { name: 'Double', value: 'double' }] },
    { name: 'spoiler', type: 'boolean', description: 'Hide the result' },
    { name: 'seed', type: 'integer', description: 'Seed', required: true },
  ],
};
const blend: CommandSpec = { ...restyle, name: 'blend', images: ['image', 'image2'], options: [] };

describe('Discord command definitions', () => {
  it('maps option types, ranges, short choice lists and autocomplete', () => {
    const cmd = slashCommand(restyle) as unknown as { description: string; options: Array<Record<string, unknown>> };
    expect(cmd.description.length).toBeLessThanOrEqual(100);
    const byName = Object.fromEntries(cmd.options.map((o) => [o.name, o]));
    expect(byName.image).toMatchObject({ type: 11, required: true });
    expect(byName.denoise).toMatchObject({ type: 10, min_value: 0.05, max_value: 1 });
    expect(byName.steps).toMatchObject({ type: 4, min_value: 1, max_value: 60 });
    expect(byName.size).toMatchObject({ type: 3, choices: [{ name: 'Same', value: 'same' }, { name: 'Double', value: 'double' }] });
    expect(byName.style).toMatchObject({ type: 3, autocomplete: true });
    expect(byName.style.choices).toBeUndefined();
    expect(byName.sampler).toMatchObject({ autocomplete: true });
    expect(byName.spoiler).toMatchObject({ type: 5 });
  });

  it('puts required options first, as Discord demands', () => {
    const cmd = slashCommand(restyle) as unknown as { options: Array<{ name: string; required?: boolean }> };
    const firstOptional = cmd.options.findIndex((o) => !o.required);
    expect(cmd.options.slice(firstOptional).every((o) => !o.required)).toBe(true);
    expect(cmd.options.slice(0, firstOptional).map((o) => o.name)).toEqual(['image', 'seed']);
  });

  it('gives /blend two image options and adds context menus and /easel', () => {
    const all = buildCommandDefinitions([restyle, blend]);
    const b = all.find((c) => c.name === 'blend') as unknown as { options: Array<{ name: string; type: number }> };
    expect(b.options.filter((o) => o.type === 11).map((o) => o.name)).toEqual(['image', 'image2']);
    expect(all.filter((c) => c.type === 3).map((c) => c.name)).toEqual(['Restyle image']);
    const easel = all.find((c) => c.name === 'easel') as unknown as { options: Array<{ name: string }> };
    expect(easel.options.map((o) => o.name)).toEqual(['help', 'status', 'queue', 'cancel']);
  });

  it('passes the checks Discord applies to commands', () => {
    for (const c of buildCommandDefinitions([restyle, blend])) {
      expect(() => checkCommand(c as unknown as Record<string, unknown>).throwIfAny()).not.toThrow();
    }
  });

  it('sees a command Discord stored (with its defaults) as unchanged, and a changed one as changed', () => {
    const wanted = slashCommand(restyle) as unknown as Record<string, unknown>;
    const stored = {
      ...wanted,
      id: '1',
      application_id: '2',
      version: '3',
      default_member_permissions: null,
      nsfw: false,
      options: (wanted.options as Array<Record<string, unknown>>).map((o) => ({ ...o, required: o.required || undefined })),
    };
    expect(sameCommand(stored, wanted)).toBe(true);
    expect(sameCommand({ ...stored, description: 'Something else' }, wanted)).toBe(false);
  });
});
