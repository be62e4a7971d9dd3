/**
 * The commands users can type (/restyle, /upscale, ...), built from the loaded presets and the
 * configuration. Platform-neutral: Discord, Slack, the playground and the CLI all go through here.
 */
import type { EaselConfig } from '../config/types.ts';
import { UserError } from './errors.ts';
import { STANDARD_OPTION_DOCS } from './option-docs.ts';
import { closest, coerceOption, isRandomSeedWord, matchChoice, normalizeChoice, randomSeed } from './option-values.ts';
import { PLACEHOLDER_CHECKPOINTS, type Family, type Preset } from './preset.ts';
import { MIN_SIDE } from './sizing.ts';
import { canonicalKey, OPTION_ALIASES, parseOptionsText } from './text-parser.ts';
import { COMMAND_NAMES, type CommandName, type CommandSpec, type OptionSpec, type ResolvedParams } from './types.ts';

/** Most suggestions an autocomplete answer may hold (Discord's limit). */
export const MAX_CHOICES = 25;

/**
 * The preset as this installation runs it: config.family picks the family when the preset supports it,
 * config.checkpoints overrides the checkpoint (and then no other checkpoint is substituted on a host).
 */
export function applyConfig(preset: Preset, config: Pick<EaselConfig, 'family' | 'checkpoints'>): Preset {
  const family: Family = preset.families.includes(config.family) ? config.family : preset.family;
  const configured = config.checkpoints?.[family];
  let checkpoint = preset.checkpoint;
  let checkpointFallback = preset.checkpointFallback;
  if (configured) {
    checkpoint = configured;
    checkpointFallback = false;
  } else if (family !== preset.family) {
    checkpoint = PLACEHOLDER_CHECKPOINTS[family];
    checkpointFallback = true;
  }
  return { ...preset, family, checkpoint, checkpointFallback };
}

/** The option with the configured limits applied (steps <= limits.maxSteps, count <= limits.maxCount). */
function limitOption(spec: OptionSpec, config: EaselConfig): OptionSpec {
  const cap = spec.name === 'steps' ? config.limits.maxSteps : spec.name === 'count' ? config.limits.maxCount : undefined;
  if (cap === undefined) return spec;
  const max = spec.max === undefined ? cap : Math.min(spec.max, cap);
  const out: OptionSpec = { ...spec, max };
  if (typeof out.default === 'number' && out.default > max) out.default = max;
  return out;
}

export class CommandRegistry {
  readonly specs: CommandSpec[];
  /** Every preset, adapted to the configuration. */
  readonly presets: Preset[];
  private readonly byName = new Map<string, Preset>();
  private readonly byCommand = new Map<CommandName, Preset[]>();
  private readonly random: () => number;

  constructor(
    presets: Preset[],
    private readonly config: EaselConfig,
    opts: { randomSeed?: () => number } = {},
  ) {
    this.random = opts.randomSeed ?? randomSeed;
    this.presets = presets.map((p) => applyConfig(p, config));
    for (const p of this.presets) {
      this.byName.set(p.name, p);
      const list = this.byCommand.get(p.command) ?? [];
      list.push(p);
      this.byCommand.set(p.command, list);
    }
    this.specs = [];
    for (const command of COMMAND_NAMES) {
      const list = this.byCommand.get(command);
      if (!list?.length) continue;
      const main = this.defaultPreset(command)!;
      const options = this.optionsOf(main);
      if (list.length > 1) {
        options.push({
          name: 'preset',
          type: 'choice',
          ...STANDARD_OPTION_DOCS.preset,
          default: main.name,
          choices: list.map((p) => ({ name: p.name, value: p.name })),
        });
      }
      this.specs.push({ name: command, description: main.description, help: main.help ?? main.description, images: [...main.images], options, preset: main.name });
    }
  }

  preset(name: string): Preset | undefined {
    return this.byName.get(name);
  }

  presetsFor(command: CommandName): Preset[] {
    return this.byCommand.get(command) ?? [];
  }

  spec(command: CommandName): CommandSpec | undefined {
    return this.specs.find((s) => s.name === command);
  }

  /** The preset a command runs when none is chosen: the one named like the command, else the first. */
  defaultPreset(command: CommandName): Preset | undefined {
    const list = this.byCommand.get(command) ?? [];
    return list.find((p) => p.name === command) ?? list[0];
  }

  /** A preset's options with the configured limits applied. */
  optionsOf(preset: Preset): OptionSpec[] {
    return preset.params.map((o) => limitOption(o, this.config));
  }

  /** One option of a command (of `presetName`, else the default preset), limits applied. */
  option(command: CommandName, name: string, presetName?: string): OptionSpec | undefined {
    if (name === 'preset') return this.spec(command)?.options.find((o) => o.name === 'preset');
    const preset = presetName ? this.byName.get(presetName) : this.defaultPreset(command);
    const spec = preset?.params.find((o) => o.name === name);
    return spec && limitOption(spec, this.config);
  }

  private commandOrThrow(command: CommandName): CommandSpec {
    const spec = this.spec(command);
    if (!spec) throw new UserError('not_found', `/${command} is not available on this bot (no preset installed for it)`);
    return spec;
  }

  /**
   * Validate raw options into full params: defaults from the preset, limits from the configuration,
   * a random seed when none is given. Throws UserError('bad_option') with a friendly message.
   */
  resolve(command: CommandName, raw: Record<string, unknown>): { preset: Preset; params: ResolvedParams } {
    const spec = this.commandOrThrow(command);
    const given = new Map<string, unknown>();
    for (const [key, value] of Object.entries(raw)) {
      if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '' && key !== 'prompt' && key !== 'negative')) continue;
      if (spec.images.includes(key)) continue;
      const name = key === 'preset' ? 'preset' : canonicalKey(key, this.optionsUnion(command));
      if (!name) {
        const names = spec.options.map((o) => o.name);
        const guess = closest(key, [...names, ...Object.keys(OPTION_ALIASES)]);
        const hint = guess ? ` (did you mean ${OPTION_ALIASES[guess] ?? guess}?)` : '';
        throw new UserError('bad_option', `/${command} has no option "${key}"${hint}; its options are: ${names.join(', ')}`);
      }
      given.set(name, value);
    }

    let preset = this.defaultPreset(command)!;
    const params: ResolvedParams = {};
    if (given.has('preset')) {
      const choice = spec.options.find((o) => o.name === 'preset');
      const wanted = String(given.get('preset'));
      const hit = choice ? matchChoice(choice, wanted) : this.byName.get(wanted)?.command === command ? wanted : undefined;
      if (!hit) {
        const names = this.presetsFor(command).map((p) => p.name);
        throw new UserError('bad_option', `preset must be one of: ${names.join(', ')}; you gave "${wanted}"`);
      }
      preset = this.byName.get(hit)!;
      given.delete('preset');
    }
    if (this.presetsFor(command).length > 1) params.preset = preset.name;

    const options = this.optionsOf(preset);
    for (const key of given.keys()) {
      if (!options.some((o) => o.name === key))
        throw new UserError('bad_option', `preset ${preset.name} of /${command} has no option "${key}"; its options are: ${options.map((o) => o.name).join(', ')}`);
    }
    for (const opt of options) {
      const value = given.get(opt.name);
      if (opt.name === 'seed' && (value === undefined || isRandomSeedWord(value))) {
        params.seed = this.random();
        continue;
      }
      if (opt.name === 'style' && value === undefined && preset.styles) {
        // A prompt alone describes the look: don't stack the default style on top of it.
        const prompt = given.get('prompt');
        if (typeof prompt === 'string' && prompt.trim() && preset.styles.none) {
          params.style = 'none';
          continue;
        }
      }
      if (value === undefined) {
        if (opt.default !== undefined) params[opt.name] = opt.default;
        else if (opt.type === 'string') params[opt.name] = '';
        else throw new UserError('bad_option', `${opt.name} is required for /${command}`);
        continue;
      }
      if (opt.name === 'sampler' && typeof value === 'string') {
        const words = value.trim().split(/[\s_]+/);
        const schedulerOpt = options.find((o) => o.name === 'scheduler');
        if (words.length > 1 && schedulerOpt && matchChoice(schedulerOpt, words[words.length - 1]) !== undefined && matchChoice(opt, value) === undefined) {
          const sampler = matchChoice(opt, words.slice(0, -1).join(' '));
          if (sampler !== undefined) {
            params.sampler = sampler;
            continue;
          }
        }
      }
      params[opt.name] = coerceOption(opt, value);
      const side = params[opt.name];
      if ((opt.name === 'width' || opt.name === 'height') && typeof side === 'number' && side > 0 && side < MIN_SIDE)
        throw new UserError('bad_option', `${opt.name} must be 0 (automatic) or between ${MIN_SIDE} and ${opt.max ?? 'the limit'}; you gave ${JSON.stringify(value)}`);
    }
    // "dpm++ 2m karras" in one value: sampler plus scheduler.
    if (typeof given.get('sampler') === 'string' && params.sampler !== undefined && !given.has('scheduler')) {
      const schedulerOpt = options.find((o) => o.name === 'scheduler');
      const words = String(given.get('sampler')).trim().split(/[\s_]+/);
      const last = words.length > 1 && schedulerOpt ? matchChoice(schedulerOpt, words[words.length - 1]) : undefined;
      if (last !== undefined && matchChoice(options.find((o) => o.name === 'sampler')!, words.slice(0, -1).join(' ')) === params.sampler) params.scheduler = last;
    }
    params.model = preset.checkpoint;
    return { preset, params };
  }

  /** All option names of all presets of a command (for recognising keys before the preset is known). */
  private optionsUnion(command: CommandName): OptionSpec[] {
    const seen = new Map<string, OptionSpec>();
    for (const p of this.presetsFor(command)) for (const o of this.optionsOf(p)) if (!seen.has(o.name)) seen.set(o.name, o);
    return [...seen.values()];
  }

  /** `oil painting denoise 0.6 seed 42` -> { style: 'oil painting', denoise: 0.6, seed: 42 }. */
  parseText(command: CommandName, text: string): Record<string, unknown> {
    const spec = this.commandOrThrow(command);
    const options = [...this.optionsUnion(command)];
    const presetOpt = spec.options.find((o) => o.name === 'preset');
    if (presetOpt) options.push(presetOpt);
    return parseOptionsText(text, options, `/${command}`);
  }

  /** Choices for a picker or autocomplete, filtered by what was typed (prefix matches first), at most 25. */
  choices(command: CommandName, option: string, typed = ''): Array<{ name: string; value: string }> {
    const spec = this.spec(command);
    if (!spec) return [];
    const name = canonicalKey(option, [...this.optionsUnion(command), ...spec.options]) ?? option;
    const opt = spec.options.find((o) => o.name === name) ?? this.optionsUnion(command).find((o) => o.name === name);
    const list = opt?.choices ?? [];
    const t = normalizeChoice(typed);
    if (!t) return list.slice(0, MAX_CHOICES);
    const starts = list.filter((c) => normalizeChoice(c.value).startsWith(t) || normalizeChoice(c.name).startsWith(t));
    const contains = list.filter((c) => !starts.includes(c) && (normalizeChoice(c.value).includes(t) || normalizeChoice(c.name).includes(t)));
    return [...starts, ...contains].slice(0, MAX_CHOICES);
  }

  /** The text that goes into the model: the prompt followed by the style's prompt, same for the negative. */
  composePrompts(preset: Preset, params: ResolvedParams): { positive: string; negative: string } {
    return composePrompts(preset, params);
  }
}

export function composePrompts(preset: Preset, params: ResolvedParams): { positive: string; negative: string } {
  const style = typeof params.style === 'string' ? preset.styles?.[params.style] : undefined;
  const join = (...parts: unknown[]) =>
    parts
      .map((p) => (typeof p === 'string' ? p.trim() : ''))
      .filter(Boolean)
      .join(', ');
  return { positive: join(params.prompt, style?.prompt), negative: join(params.negative, style?.negative) };
}
