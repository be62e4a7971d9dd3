/**
 * The Slack modal for a command: one file_input per image the command takes, then one input per
 * option (selects for choices, plain text inputs for numbers and words, a checkbox for yes/no),
 * pre-filled from the slash command text. Also reads a submitted modal back into raw options and
 * checks numbers early so Slack can show the problem next to the field.
 */
import type { CommandName, CommandSpec, OptionSpec, ParamValue } from '../../commands/types.ts';

export const SUBMIT_CALLBACK = 'easel_submit';
export const EDIT_CALLBACK = 'easel_edit';
export const PICK_COMMAND_ACTION = 'easel_pick_command';
const VALUE_ACTION = 'v';

/** What the modal needs to remember between opening and submission (kept in private_metadata). */
export interface ModalContext {
  command: CommandName;
  channelId: string;
  /** Post the request and results in this thread (message shortcut, edit); a new thread otherwise. */
  threadTs?: string;
  /** Image taken from the message the shortcut was used on. */
  messageImage?: { url: string; name: string; id?: string };
  /** Edit modal: the job being edited. */
  jobId?: string;
  /** The response_url of the interaction that opened the modal (errors when the bot can't post). */
  responseUrl?: string;
}

/** A file reference as Slack puts it in file_input state and message `files`. */
export interface SlackFileRef {
  id?: string;
  name?: string;
  mimetype?: string;
  filetype?: string;
  size?: number;
  url_private?: string;
  url_private_download?: string;
}

type Choice = { name: string; value: string };

export interface ModalOptions {
  spec: CommandSpec;
  context: ModalContext;
  /** Values to show: parsed from the command text, or the job's params when editing. */
  prefill: Record<string, unknown>;
  /** Choices for options without a fixed list (autocomplete ones such as samplers). */
  choices: (option: string) => Choice[];
  /** Offer a command picker at the top (message shortcut: the user chooses what to do with the image). */
  commandPicker?: CommandSpec[];
  /** A line shown at the top, e.g. why some of the typed text was not understood. */
  notice?: string;
  mode: 'new' | 'edit';
}

const MAX_OPTIONS = 100;

function plain(text: string, max = 75): { type: 'plain_text'; text: string; emoji: boolean } {
  return { type: 'plain_text', text: clip(text, max), emoji: true };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function label(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1).replace(/_/g, ' ');
}

export function optionBlockId(name: string): string {
  return `opt:${name}`;
}

export function imageBlockId(index: number): string {
  return `img:${index}`;
}

function choicesFor(opt: OptionSpec, choices: (option: string) => Choice[]): Choice[] | undefined {
  if (opt.type === 'choice' || opt.autocomplete) {
    const list = opt.choices && opt.choices.length > 0 ? opt.choices : choices(opt.name);
    if (list.length > 0) return list.slice(0, MAX_OPTIONS);
  }
  return undefined;
}

function findChoice(list: Choice[], value: unknown): Choice | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const wanted = String(value).toLowerCase();
  return list.find((c) => c.value.toLowerCase() === wanted) ?? list.find((c) => c.name.toLowerCase() === wanted);
}

function selectOption(c: Choice) {
  return { text: plain(c.name), value: clip(c.value, 150) };
}

function describeRange(opt: OptionSpec): string | undefined {
  if (opt.min !== undefined && opt.max !== undefined) return `${opt.min} to ${opt.max}`;
  if (opt.min !== undefined) return `at least ${opt.min}`;
  if (opt.max !== undefined) return `at most ${opt.max}`;
  return undefined;
}

function optionBlock(opt: OptionSpec, value: unknown, choices: (option: string) => Choice[], mode: 'new' | 'edit') {
  const list = choicesFor(opt, choices);
  const base = {
    type: 'input',
    block_id: optionBlockId(opt.name),
    label: plain(label(opt.name), 2000),
    optional: mode === 'edit' ? true : !opt.required,
    ...(opt.description ? { hint: plain(opt.description, 2000) } : {}),
  };
  if (list) {
    const initial = findChoice(list, value);
    return {
      ...base,
      element: {
        type: 'static_select',
        action_id: VALUE_ACTION,
        placeholder: plain(`Choose ${opt.name}`),
        options: list.map(selectOption),
        ...(initial ? { initial_option: selectOption(initial) } : {}),
      },
    };
  }
  if (opt.type === 'boolean') {
    const option = { text: plain(opt.description || label(opt.name)), value: 'true' };
    const on = value === true || value === 'true' || value === 'yes';
    return {
      ...base,
      optional: true,
      element: { type: 'checkboxes', action_id: VALUE_ACTION, options: [option], ...(on ? { initial_options: [option] } : {}) },
    };
  }
  const range = opt.type === 'integer' || opt.type === 'number' ? describeRange(opt) : undefined;
  const text = value === undefined || value === null ? '' : String(value);
  return {
    ...base,
    element: {
      type: 'plain_text_input',
      action_id: VALUE_ACTION,
      multiline: opt.type === 'string' && /prompt/.test(opt.name),
      ...(text ? { initial_value: clip(text, 3000) } : {}),
      ...(range ? { placeholder: plain(range, 150) } : {}),
    },
  };
}

/** Build the `view` for views.open / views.update. */
export function buildCommandModal(o: ModalOptions): Record<string, unknown> {
  const { spec, context } = o;
  const blocks: unknown[] = [];
  if (o.commandPicker && o.commandPicker.length > 1) {
    const opts = o.commandPicker.map((s) => ({ text: plain(`/${s.name}`), description: plain(s.description), value: s.name }));
    blocks.push({
      type: 'actions',
      block_id: 'pick_command',
      elements: [
        {
          type: 'static_select',
          action_id: PICK_COMMAND_ACTION,
          options: opts,
          initial_option: opts.find((x) => x.value === spec.name),
        },
      ],
    });
  }
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(spec.description, 3000) } });
  if (o.notice) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(o.notice, 3000) }] });
  if (o.mode === 'new') {
    spec.images.forEach((name, i) => {
      const fromMessage = i === 0 && context.messageImage;
      if (fromMessage) {
        blocks.push({
          type: 'context',
          elements: [{ type: 'mrkdwn', text: clip(`Image: *${escapeMrkdwn(fromMessage.name)}* from the message.`, 3000) }],
        });
      }
      blocks.push({
        type: 'input',
        block_id: imageBlockId(i),
        optional: Boolean(fromMessage),
        label: plain(fromMessage ? 'Or use another image' : spec.images.length > 1 ? `Image ${i + 1} (${name})` : 'Image', 2000),
        element: {
          type: 'file_input',
          action_id: VALUE_ACTION,
          filetypes: ['png', 'jpg', 'jpeg', 'webp', 'gif'],
          max_files: 1,
        },
      });
    });
  }
  for (const opt of spec.options) blocks.push(optionBlock(opt, o.prefill[opt.name] ?? opt.default, o.choices, o.mode));
  return {
    type: 'modal',
    callback_id: o.mode === 'edit' ? EDIT_CALLBACK : SUBMIT_CALLBACK,
    title: plain(o.mode === 'edit' ? `Edit ${spec.name}` : `Easel: ${spec.name}`, 24),
    submit: plain(o.mode === 'edit' ? 'Run again' : 'Run', 24),
    close: plain('Cancel', 24),
    private_metadata: encodeContext(context),
    blocks,
  };
}

export function encodeContext(context: ModalContext): string {
  const text = JSON.stringify(context);
  if (text.length > 3000) throw new Error('modal context too long');
  return text;
}

export function decodeContext(text: string | undefined): ModalContext | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as ModalContext;
    if (typeof v?.command !== 'string' || typeof v.channelId !== 'string') return undefined;
    return v;
  } catch {
    return undefined;
  }
}

function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface StateValue {
  type?: string;
  value?: string | null;
  selected_option?: { value: string } | null;
  selected_options?: Array<{ value: string }>;
  files?: SlackFileRef[];
}
export type ViewStateValues = Record<string, Record<string, StateValue>>;

export interface ModalValues {
  options: Record<string, ParamValue>;
  /** Per image slot of the command: the uploaded file (if any). */
  files: Array<SlackFileRef | undefined>;
  /** block_id -> message, for `response_action: 'errors'`. Empty when fine. */
  errors: Record<string, string>;
}

/** Read a submitted modal. Numbers are checked against the option's range here; the core checks everything again. */
export function readModalValues(spec: CommandSpec, values: ViewStateValues, mode: 'new' | 'edit'): ModalValues {
  const options: Record<string, ParamValue> = {};
  const errors: Record<string, string> = {};
  for (const opt of spec.options) {
    const block = optionBlockId(opt.name);
    const state = values[block]?.[VALUE_ACTION];
    if (!state) continue;
    if (state.type === 'checkboxes') {
      options[opt.name] = (state.selected_options ?? []).some((x) => x.value === 'true');
      continue;
    }
    if (state.type === 'static_select') {
      if (state.selected_option) options[opt.name] = state.selected_option.value;
      continue;
    }
    const raw = (state.value ?? '').trim();
    if (raw === '') continue;
    if (opt.type === 'integer' || opt.type === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) {
        errors[block] = `${opt.name} must be a number; you gave "${clip(raw, 40)}"`;
        continue;
      }
      if (opt.type === 'integer' && !Number.isInteger(n)) {
        errors[block] = `${opt.name} must be a whole number; you gave ${raw}`;
        continue;
      }
      if ((opt.min !== undefined && n < opt.min) || (opt.max !== undefined && n > opt.max)) {
        const range = opt.min !== undefined && opt.max !== undefined ? `between ${opt.min} and ${opt.max}` : describeRange(opt);
        errors[block] = `${opt.name} must be ${range}; you gave ${raw}`;
        continue;
      }
      options[opt.name] = n;
      continue;
    }
    options[opt.name] = raw;
  }
  const files: Array<SlackFileRef | undefined> = [];
  if (mode === 'new') {
    spec.images.forEach((_, i) => {
      files.push(values[imageBlockId(i)]?.[VALUE_ACTION]?.files?.[0]);
    });
  }
  return { options, files, errors };
}
