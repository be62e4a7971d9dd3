/**
 * Discord application commands built from Easel's platform-neutral CommandSpecs: one slash command per
 * spec (image attachment options from `spec.images`, typed options, fixed choices for short lists,
 * autocomplete for long ones), three message context-menu commands, and /easel help|status|queue|cancel.
 */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type APIApplicationCommandBasicOption,
  type APIApplicationCommandOption,
  type RESTPostAPIApplicationCommandsJSONBody,
} from 'discord.js';
import type { CommandName, CommandSpec, OptionSpec } from '../../commands/types.ts';
import { truncateText } from '../shared/job-text.ts';

/** Message context-menu commands and the command each one runs. */
export const CONTEXT_MENU_COMMANDS: Array<{ name: string; command: CommandName }> = [
  { name: 'Restyle image', command: 'restyle' },
  { name: 'Upscale image', command: 'upscale' },
  { name: 'Make variations', command: 'variations' },
];

export const EASEL_COMMAND = 'easel';
const MAX_CHOICES = 25;
const MAX_OPTIONS = 25;

function description(text: string, fallback: string): string {
  const t = (text || fallback).replace(/\s+/g, ' ').trim();
  return truncateText(t || fallback, 100);
}

export function optionName(name: string): string {
  return name.toLowerCase().replace(/[^-_a-z0-9]/g, '_').slice(0, 32);
}

/** The image option names of a spec, as Discord shows them. */
export function imageOptionNames(spec: CommandSpec): string[] {
  return spec.images.map(optionName);
}

function typedOption(o: OptionSpec): APIApplicationCommandBasicOption {
  const base = {
    name: optionName(o.name),
    description: description(o.description, o.name),
    required: o.required ?? false,
  };
  switch (o.type) {
    case 'integer':
    case 'number': {
      const opt: Record<string, unknown> = {
        ...base,
        type: o.type === 'integer' ? ApplicationCommandOptionType.Integer : ApplicationCommandOptionType.Number,
      };
      if (o.min !== undefined) opt.min_value = o.min;
      if (o.max !== undefined) opt.max_value = o.max;
      return opt as unknown as APIApplicationCommandBasicOption;
    }
    case 'boolean':
      return { ...base, type: ApplicationCommandOptionType.Boolean };
    case 'choice': {
      const choices = o.choices ?? [];
      if (!o.autocomplete && choices.length > 0 && choices.length <= MAX_CHOICES) {
        return {
          ...base,
          type: ApplicationCommandOptionType.String,
          choices: choices.map((c) => ({ name: truncateText(c.name, 100), value: c.value.slice(0, 100) })),
        };
      }
      return { ...base, type: ApplicationCommandOptionType.String, autocomplete: true };
    }
    case 'string':
    default: {
      if (o.autocomplete) return { ...base, type: ApplicationCommandOptionType.String, autocomplete: true };
      return { ...base, type: ApplicationCommandOptionType.String, max_length: 1000 };
    }
  }
}

/** The slash command for one spec. Required options come first, as Discord demands. */
export function slashCommand(spec: CommandSpec): RESTPostAPIApplicationCommandsJSONBody {
  const images: APIApplicationCommandBasicOption[] = spec.images.map((name, i) => ({
    type: ApplicationCommandOptionType.Attachment,
    name: optionName(name),
    description: i === 0 ? 'The image to work on' : `Image ${i + 1}`,
    required: true,
  }));
  const typed = spec.options.filter((o) => !spec.images.includes(o.name)).map(typedOption);
  const all = [...images, ...typed];
  const options = [...all.filter((o) => o.required), ...all.filter((o) => !o.required)].slice(0, MAX_OPTIONS);
  return {
    type: ApplicationCommandType.ChatInput,
    name: spec.name,
    description: description(spec.description, spec.name),
    options,
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
    integration_types: [ApplicationIntegrationType.GuildInstall],
  };
}

export function easelCommand(): RESTPostAPIApplicationCommandsJSONBody {
  const sub = (name: string, desc: string, options: APIApplicationCommandBasicOption[] = []): APIApplicationCommandOption => ({
    type: ApplicationCommandOptionType.Subcommand,
    name,
    description: desc,
    options,
  });
  return {
    type: ApplicationCommandType.ChatInput,
    name: EASEL_COMMAND,
    description: 'Easel: help, status, your queue, cancel a job',
    options: [
      sub('help', 'What every command and button does'),
      sub('status', 'GPU hosts, queue length and GPU memory'),
      sub('queue', 'Your jobs that are waiting or running'),
      sub('cancel', 'Cancel one of your jobs (your latest when no job is given)', [
        {
          type: ApplicationCommandOptionType.String,
          name: 'job',
          description: 'The job to cancel',
          required: false,
          autocomplete: true,
        },
      ]),
    ],
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
    integration_types: [ApplicationIntegrationType.GuildInstall],
  };
}

export function contextMenuCommands(specs: CommandSpec[]): RESTPostAPIApplicationCommandsJSONBody[] {
  const have = new Set(specs.map((s) => s.name));
  return CONTEXT_MENU_COMMANDS.filter((c) => have.has(c.command)).map((c) => ({
    type: ApplicationCommandType.Message,
    name: c.name,
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
    integration_types: [ApplicationIntegrationType.GuildInstall],
  }));
}

/** Every command Easel registers, in a stable order. */
export function buildCommandDefinitions(specs: CommandSpec[]): RESTPostAPIApplicationCommandsJSONBody[] {
  return [...specs.map(slashCommand), ...contextMenuCommands(specs), easelCommand()];
}
