/**
 * Modals: "edit" on a result (prompt, strength, seed, style, steps, prefilled from the job) and the
 * context-menu modal (prompt and strength for an image picked from a message). Field values come
 * back as text; the core validates and converts them like any typed option.
 */
import { ComponentType, TextInputStyle, type APIModalInteractionResponseCallbackData, type ModalSubmitInteraction } from 'discord.js';
import type { CommandSpec, ParamValue } from '../../commands/types.ts';
import type { JobRecord } from '../../jobs/types.ts';
import { encodeCustomId } from '../shared/custom-id.ts';
import { truncateText } from '../shared/job-text.ts';

/** Options offered in the edit modal, in order; at most 5 (Discord's modal limit). */
const EDIT_FIELDS = ['prompt', 'denoise', 'seed', 'style', 'steps', 'cfg', 'sampler'];
/** The context-menu modal asks only for these. */
const CONTEXT_FIELDS = ['prompt', 'denoise'];

function label(spec: CommandSpec | undefined, name: string): string {
  if (name === 'denoise') return 'Strength (denoise)';
  const o = spec?.options.find((x) => x.name === name);
  return truncateText(o ? o.name.charAt(0).toUpperCase() + o.name.slice(1) : name, 45);
}

function placeholder(spec: CommandSpec | undefined, name: string): string | undefined {
  const o = spec?.options.find((x) => x.name === name);
  if (!o) return undefined;
  if (o.min !== undefined && o.max !== undefined) return truncateText(`${o.min} to ${o.max}${o.default !== undefined ? `, default ${o.default}` : ''}`, 100);
  return truncateText(o.description, 100);
}

function textInput(spec: CommandSpec | undefined, name: string, value?: ParamValue) {
  const long = name === 'prompt';
  return {
    type: ComponentType.ActionRow as const,
    components: [
      {
        type: ComponentType.TextInput as const,
        custom_id: name,
        label: label(spec, name),
        style: long ? TextInputStyle.Paragraph : TextInputStyle.Short,
        required: false,
        max_length: long ? 1000 : 100,
        ...(value !== undefined && String(value).length > 0 ? { value: truncateText(String(value), long ? 1000 : 100) } : {}),
        ...(placeholder(spec, name) ? { placeholder: placeholder(spec, name) } : {}),
      },
    ],
  };
}

export function editModal(job: JobRecord, spec: CommandSpec | undefined): APIModalInteractionResponseCallbackData {
  const names = EDIT_FIELDS.filter((n) => n in job.params || spec?.options.some((o) => o.name === n)).slice(0, 5);
  return {
    custom_id: encodeCustomId({ action: 'edit', id: job.id }),
    title: truncateText(`Edit ${job.command} and run again`, 45),
    components: names.map((n) => textInput(spec, n, job.params[n])),
  };
}

/** Custom id of the context-menu modal: the command, and the message that holds the image. */
export function contextModal(spec: CommandSpec, targetMessageId: string): APIModalInteractionResponseCallbackData {
  const names = CONTEXT_FIELDS.filter((n) => spec.options.some((o) => o.name === n));
  const modal: APIModalInteractionResponseCallbackData = {
    custom_id: encodeCustomId({ action: `ctx-${spec.name}`, id: targetMessageId }),
    title: truncateText(`${spec.name.charAt(0).toUpperCase()}${spec.name.slice(1)} this image`, 45),
    components: names.map((n) => textInput(spec, n, undefined)),
  };
  if (modal.components.length === 0) {
    // A modal needs at least one field; offer a note the user can leave empty.
    modal.components = [
      {
        type: ComponentType.ActionRow,
        components: [
          { type: ComponentType.TextInput, custom_id: 'note', label: 'Anything to add? (optional)', style: TextInputStyle.Short, required: false, max_length: 100 },
        ],
      },
    ];
  }
  return modal;
}

/** The non-empty text fields of a submitted modal. */
export function modalValues(interaction: ModalSubmitInteraction): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, field] of interaction.fields.fields) {
    if (field.type === ComponentType.TextInput && typeof field.value === 'string' && field.value.trim() !== '') {
      out[id] = field.value.trim();
    }
  }
  return out;
}
