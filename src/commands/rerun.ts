/**
 * Rerun buttons: a new job's parameters made from a stored job record alone (so they work after a
 * restart). Every result is validated again through the registry, exactly like a new command.
 */
import type { JobRecord, StoredImage } from '../jobs/types.ts';
import { UserError } from './errors.ts';
import { isRandomSeedWord } from './option-values.ts';
import type { Preset } from './preset.ts';
import { composePrompts, type CommandRegistry } from './registry.ts';
import type { CommandName, ResolvedParams, RerunAction } from './types.ts';

/** How far Subtle/Strong move denoise. */
export const DENOISE_STEP = 0.15;
/** The strengths of a denoise ladder, all with the same seed. */
export const LADDER_STRENGTHS = [0.3, 0.45, 0.6, 0.75];

export interface RerunResult {
  command: CommandName;
  /** The preset the new job runs: the parent's (or the one an edit picked), else the command's default. */
  preset: string;
  params: ResolvedParams;
  inputs: StoredImage[];
  ladder?: number[];
  sourceIndex?: number;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

function parentPreset(parent: JobRecord, registry: CommandRegistry): Preset {
  const preset = registry.preset(parent.preset);
  const usable = preset && preset.command === parent.command ? preset : registry.defaultPreset(parent.command);
  if (!usable) throw new UserError('not_found', `/${parent.command} is no longer available on this bot, so this result can't be rerun.`);
  return usable;
}

/** The parent's option values that still exist in its preset (a preset may have changed since). */
function carriedOptions(parent: JobRecord, preset: Preset, registry: CommandRegistry): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const opt of preset.params) {
    const v = parent.params[opt.name];
    if (v !== undefined) raw[opt.name] = v;
  }
  if (registry.presetsFor(parent.command).length > 1) raw.preset = preset.name;
  return raw;
}

function outputImage(parent: JobRecord, index: number | undefined, what: string): StoredImage {
  const outputs = parent.outputs ?? [];
  if (outputs.length === 0) throw new UserError('not_found', `This job has no images yet, so there is nothing to ${what}.`);
  if (index === undefined || !Number.isInteger(index) || index < 1 || index > outputs.length)
    throw new UserError('bad_option', `Pick an image between 1 and ${outputs.length} to ${what}; you gave ${index ?? 'none'}.`);
  return outputs[index - 1];
}

function stepDenoise(raw: Record<string, unknown>, preset: Preset, registry: CommandRegistry, direction: -1 | 1): number {
  const opt = registry.optionsOf(preset).find((o) => o.name === 'denoise');
  if (!opt) throw new UserError('bad_option', `/${preset.command} has no denoise option to change.`);
  const current = typeof raw.denoise === 'number' ? raw.denoise : Number(opt.default);
  const lo = opt.min ?? 0;
  const hi = opt.max ?? 1;
  const next = round2(Math.min(hi, Math.max(lo, current + direction * DENOISE_STEP)));
  if (next === round2(current))
    throw new UserError('bad_option', `denoise is already at its ${direction < 0 ? 'lowest' : 'highest'} (${current}); try ${direction < 0 ? 'Strong' : 'Subtle'} instead.`);
  return next;
}

/** Ladder strengths that fit the option's range, without duplicates. */
/** Names that would reach an object's prototype when used as keys. */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function ladderFor(preset: Preset, registry: CommandRegistry): number[] {
  const opt = registry.optionsOf(preset).find((o) => o.name === 'denoise');
  if (!opt) throw new UserError('bad_option', `/${preset.command} has no denoise option, so it has no ladder.`);
  const lo = opt.min ?? 0;
  const hi = opt.max ?? 1;
  return [...new Set(LADDER_STRENGTHS.map((d) => round2(Math.min(hi, Math.max(lo, d)))))];
}

/** Make the new job's command, params and inputs from the stored parent. */
export function deriveRerun(
  parent: JobRecord,
  req: { action: RerunAction; index?: number; edits?: Record<string, unknown> },
  registry: CommandRegistry,
  newSeed: () => number,
): RerunResult {
  const preset = parentPreset(parent, registry);
  const raw = carriedOptions(parent, preset, registry);
  const same = (r: Record<string, unknown>, extra: Partial<RerunResult> = {}): RerunResult => {
    const resolved = registry.resolve(parent.command, r);
    return { command: parent.command, preset: resolved.preset.name, params: resolved.params, inputs: [...parent.inputs], ...extra };
  };

  switch (req.action) {
    case 'reroll':
      return same({ ...raw, seed: newSeed() }, parent.ladder?.length ? { ladder: [...parent.ladder] } : {});
    case 'subtle':
      return same({ ...raw, denoise: stepDenoise(raw, preset, registry, -1) });
    case 'strong':
      return same({ ...raw, denoise: stepDenoise(raw, preset, registry, 1) });
    case 'ladder': {
      const ladder = ladderFor(preset, registry);
      const r = { ...raw };
      if (preset.params.some((o) => o.name === 'count')) r.count = 1; // one image per strength
      return same(r, { ladder });
    }
    case 'vary':
    case 'upscale': {
      const command: CommandName = req.action === 'vary' ? 'variations' : 'upscale';
      const image = outputImage(parent, req.index, req.action === 'vary' ? 'vary' : 'upscale');
      if (!registry.spec(command)) throw new UserError('not_found', `/${command} is not available on this bot.`);
      const { positive, negative } = composePrompts(preset, parent.params);
      const next: Record<string, unknown> = { seed: newSeed() };
      if (positive) next.prompt = positive;
      if (negative) next.negative = negative;
      const resolved = registry.resolve(command, next);
      return { command, preset: resolved.preset.name, params: resolved.params, inputs: [image], sourceIndex: req.index };
    }
    case 'edit': {
      const edits = req.edits ?? {};
      // Edits are typed by people: the same names and aliases as the command itself.
      const merged: Record<string, unknown> = { ...raw };
      for (const [key, value] of Object.entries(edits)) {
        // Object plumbing, never an option: refused out loud instead of quietly changing nothing (or worse).
        if (RESERVED_KEYS.has(key)) throw new UserError('bad_option', `"${key}" is not an option name; nothing was changed.`);
        if (value === undefined || value === null) continue;
        const canonical = registry.option(parent.command, key, preset.name)?.name ?? (key === 'preset' ? 'preset' : undefined);
        if (canonical && canonical !== key) delete merged[canonical];
        merged[key] = key === 'seed' && isRandomSeedWord(value) ? newSeed() : value;
      }
      // Changing the prompt without a style keeps the parent's style; "style none" drops it.
      return same(merged, parent.ladder?.length && !('denoise' in edits) ? { ladder: [...parent.ladder] } : {});
    }
    default:
      throw new UserError('bad_option', `Unknown action "${String(req.action)}".`);
  }
}
