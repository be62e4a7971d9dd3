/**
 * What Discord checks on message bodies, modals, autocomplete answers and application commands,
 * answered the way Discord answers: `{code: 50035, message: 'Invalid Form Body', errors: {...}}`
 * with nested `_errors`. Numbers from Discord's documentation (components, message, commands).
 */
export interface DiscordErrorBody {
  code: number;
  message: string;
  errors?: Record<string, unknown>;
}

export class DiscordHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: DiscordErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
  }
}

type Json = Record<string, unknown>;

/** Collects field errors under their JSON path, like Discord does. */
export class FormErrors {
  private readonly root: Json = {};
  private count = 0;

  add(path: Array<string | number>, code: string, message: string): void {
    let node = this.root;
    for (const p of path) {
      const k = String(p);
      node[k] ??= {};
      node = node[k] as Json;
    }
    const list = ((node._errors as unknown[]) ??= []);
    list.push({ code, message });
    this.count++;
  }

  throwIfAny(): void {
    if (this.count) throw new DiscordHttpError(400, { code: 50035, message: 'Invalid Form Body', errors: this.root });
  }
}

function maxLen(errs: FormErrors, path: Array<string | number>, value: unknown, max: number, min = 0): void {
  if (value === undefined || value === null) {
    if (min > 0) errs.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
    return;
  }
  if (typeof value !== 'string') {
    errs.add(path, 'BASE_TYPE_STRING', 'Must be a string.');
    return;
  }
  if (value.length > max) errs.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
  if (value.length < min) errs.add(path, 'BASE_TYPE_MIN_LENGTH', `Must be ${min} or more in length.`);
}

export const LIMITS = {
  content: 2000,
  embeds: 10,
  files: 10,
  rows: 5,
  buttonsPerRow: 5,
  customId: 100,
  buttonLabel: 80,
  modalTitle: 45,
  modalComponents: 5,
  textInputLabel: 45,
  textInputValue: 4000,
  choices: 25,
  commandOptions: 25,
  commandDescription: 100,
  fileBytes: 10 * 1024 * 1024,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  embedFieldName: 256,
  embedFieldValue: 1024,
  embedFooter: 2048,
  embedAuthor: 256,
  embedTotal: 6000,
};

/** Schemes Discord accepts for embed image/thumbnail urls (attachment:// points at a file of the message). */
const EMBED_MEDIA_SCHEMES = ['http:', 'https:', 'attachment:'];

/**
 * Embeds: per-field lengths, at most 25 fields, a media url Discord can use, and at most 6000
 * characters across every embed of the message (title, description, field names and values,
 * footer text, author name).
 */
export function checkEmbeds(errs: FormErrors, embeds: unknown): void {
  if (embeds === undefined || embeds === null) return;
  if (!Array.isArray(embeds)) {
    errs.add(['embeds'], 'BASE_TYPE_ARRAY', 'Must be an array.');
    return;
  }
  if (embeds.length > LIMITS.embeds) errs.add(['embeds'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.embeds} or fewer in length.`);
  let total = 0;
  const text = (v: unknown) => (typeof v === 'string' ? v.length : 0);
  embeds.forEach((e: Json, n) => {
    const p = ['embeds', n];
    if (e.title !== undefined) maxLen(errs, [...p, 'title'], e.title, LIMITS.embedTitle);
    if (e.description !== undefined) maxLen(errs, [...p, 'description'], e.description, LIMITS.embedDescription);
    total += text(e.title) + text(e.description);
    const footer = e.footer as Json | undefined;
    if (footer) {
      maxLen(errs, [...p, 'footer', 'text'], footer.text, LIMITS.embedFooter, 1);
      total += text(footer.text);
    }
    const author = e.author as Json | undefined;
    if (author) {
      maxLen(errs, [...p, 'author', 'name'], author.name, LIMITS.embedAuthor, 1);
      total += text(author.name);
    }
    const fields = e.fields as Json[] | undefined;
    if (fields !== undefined) {
      if (!Array.isArray(fields)) errs.add([...p, 'fields'], 'BASE_TYPE_ARRAY', 'Must be an array.');
      else {
        if (fields.length > LIMITS.embedFields) errs.add([...p, 'fields'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.embedFields} or fewer in length.`);
        fields.forEach((f, i) => {
          maxLen(errs, [...p, 'fields', i, 'name'], f.name, LIMITS.embedFieldName, 1);
          maxLen(errs, [...p, 'fields', i, 'value'], f.value, LIMITS.embedFieldValue, 1);
          total += text(f.name) + text(f.value);
        });
      }
    }
    for (const k of ['image', 'thumbnail']) {
      const media = e[k] as Json | undefined;
      if (!media) continue;
      const url = media.url;
      let scheme: string | undefined;
      try {
        scheme = typeof url === 'string' ? new URL(url).protocol : undefined;
      } catch {
        scheme = undefined;
      }
      if (!scheme) errs.add([...p, k, 'url'], 'URL_TYPE_INVALID_URL', 'Not a well formed URL.');
      else if (!EMBED_MEDIA_SCHEMES.includes(scheme)) {
        errs.add([...p, k, 'url'], 'URL_TYPE_INVALID_SCHEME', `Scheme "${scheme.slice(0, -1)}" is not supported. Scheme must be one of ('http', 'https', 'attachment').`);
      }
    }
  });
  if (total > LIMITS.embedTotal) errs.add(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', `Embed size exceeds maximum size of ${LIMITS.embedTotal}`);
}

/** Legacy message components: 5 rows of up to 5 buttons (or one select), unique custom ids. */
export function checkComponents(errs: FormErrors, components: unknown, path: Array<string | number> = ['components']): void {
  if (components === undefined || components === null) return;
  if (!Array.isArray(components)) {
    errs.add(path, 'BASE_TYPE_ARRAY', 'Must be an array.');
    return;
  }
  if (components.length > LIMITS.rows) errs.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.rows} or fewer in length.`);
  const ids = new Set<string>();
  components.forEach((row: Json, r) => {
    if (row?.type !== 1) {
      errs.add([...path, r, 'type'], 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1,).');
      return;
    }
    const children = row.components as Json[] | undefined;
    if (!Array.isArray(children) || children.length === 0) {
      errs.add([...path, r, 'components'], 'BASE_TYPE_MIN_LENGTH', 'Must be 1 or more in length.');
      return;
    }
    if (children.length > LIMITS.buttonsPerRow) {
      errs.add([...path, r, 'components'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.buttonsPerRow} or fewer in length.`);
    }
    const hasSelect = children.some((c) => typeof c.type === 'number' && c.type >= 3 && c.type <= 8 && c.type !== 4);
    if (hasSelect && children.length > 1) {
      errs.add([...path, r, 'components'], 'COMPONENT_LAYOUT_WIDTH_EXCEEDED', 'The specified component exceeds the maximum width');
    }
    children.forEach((c, i) => {
      const p = [...path, r, 'components', i];
      if (c.type === 2) {
        const style = c.style as number;
        if (![1, 2, 3, 4, 5, 6].includes(style)) errs.add([...p, 'style'], 'BASE_TYPE_CHOICES', 'Value must be one of (1, 2, 3, 4, 5, 6).');
        if (style === 5) {
          if (typeof c.url !== 'string') errs.add([...p, 'url'], 'BASE_TYPE_REQUIRED', 'This field is required');
        } else if (style !== 6) {
          maxLen(errs, [...p, 'custom_id'], c.custom_id, LIMITS.customId, 1);
        }
        if (c.label !== undefined) maxLen(errs, [...p, 'label'], c.label, LIMITS.buttonLabel);
        if (c.label === undefined && c.emoji === undefined) errs.add([...p, 'label'], 'BASE_TYPE_REQUIRED', 'This field is required');
      } else if (typeof c.type === 'number' && c.type >= 3 && c.type <= 8) {
        maxLen(errs, [...p, 'custom_id'], c.custom_id, LIMITS.customId, 1);
      } else {
        errs.add([...p, 'type'], 'UNION_TYPE_CHOICES', 'Invalid component type for a message action row.');
      }
      if (typeof c.custom_id === 'string') {
        if (ids.has(c.custom_id)) errs.add([...p, 'custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
        ids.add(c.custom_id);
      }
    });
  });
}

/** A message body (create or edit). `fileCount` is the number of attachments the message would end up with. */
export function checkMessageBody(body: Json, opts: { creating: boolean; fileCount: number }): void {
  const errs = new FormErrors();
  if (body.content !== undefined && body.content !== null) maxLen(errs, ['content'], body.content, LIMITS.content);
  checkEmbeds(errs, body.embeds);
  checkComponents(errs, body.components);
  if (opts.fileCount > LIMITS.files) errs.add(['attachments'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.files} or fewer in length.`);
  errs.throwIfAny();
  if (opts.creating) {
    const empty =
      !body.content &&
      opts.fileCount === 0 &&
      !(Array.isArray(body.embeds) && body.embeds.length) &&
      !(Array.isArray(body.components) && body.components.length) &&
      !(Array.isArray(body.sticker_ids) && body.sticker_ids.length) &&
      !body.poll;
    if (empty) throw new DiscordHttpError(400, { code: 50006, message: 'Cannot send an empty message' });
  }
}

/** A modal (interaction callback type 9). Classic action rows with one text input, or Label components. */
export function checkModal(data: Json | undefined): void {
  const errs = new FormErrors();
  if (!data) {
    errs.add(['data'], 'BASE_TYPE_REQUIRED', 'This field is required');
    errs.throwIfAny();
    return;
  }
  maxLen(errs, ['data', 'title'], data.title, LIMITS.modalTitle, 1);
  maxLen(errs, ['data', 'custom_id'], data.custom_id, LIMITS.customId, 1);
  const comps = data.components as Json[] | undefined;
  if (!Array.isArray(comps) || comps.length < 1) errs.add(['data', 'components'], 'BASE_TYPE_MIN_LENGTH', 'Must be 1 or more in length.');
  else if (comps.length > LIMITS.modalComponents) {
    errs.add(['data', 'components'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.modalComponents} or fewer in length.`);
  }
  const ids = new Set<string>();
  (comps ?? []).forEach((row, r) => {
    const p = ['data', 'components', r];
    let input: Json | undefined;
    if (row.type === 1) {
      const children = row.components as Json[] | undefined;
      if (!Array.isArray(children) || children.length !== 1) {
        errs.add([...p, 'components'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 1 in length.');
        return;
      }
      input = children[0];
      maxLen(errs, [...p, 'components', 0, 'label'], input.label, LIMITS.textInputLabel, 1);
    } else if (row.type === 18) {
      maxLen(errs, [...p, 'label'], row.label, LIMITS.textInputLabel, 1);
      input = row.component as Json | undefined;
    } else {
      errs.add([...p, 'type'], 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1, 18).');
      return;
    }
    if (!input) return;
    const ip = row.type === 1 ? [...p, 'components', 0] : [...p, 'component'];
    maxLen(errs, [...ip, 'custom_id'], input.custom_id, LIMITS.customId, 1);
    if (typeof input.custom_id === 'string') {
      if (ids.has(input.custom_id)) errs.add([...ip, 'custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
      ids.add(input.custom_id);
    }
    if (input.type === 4) {
      if (![1, 2].includes(input.style as number)) errs.add([...ip, 'style'], 'BASE_TYPE_CHOICES', 'Value must be one of (1, 2).');
      if (input.value !== undefined) maxLen(errs, [...ip, 'value'], input.value, LIMITS.textInputValue);
      if (input.placeholder !== undefined) maxLen(errs, [...ip, 'placeholder'], input.placeholder, 100);
      for (const k of ['min_length', 'max_length']) {
        const v = input[k];
        if (v !== undefined && (typeof v !== 'number' || v < 0 || v > LIMITS.textInputValue)) {
          errs.add([...ip, k], 'NUMBER_TYPE_MAX', `Must be between 0 and ${LIMITS.textInputValue}.`);
        }
      }
      if (typeof input.value === 'string' && typeof input.max_length === 'number' && input.value.length > input.max_length) {
        errs.add([...ip, 'value'], 'BASE_TYPE_MAX_LENGTH', `Must be ${input.max_length} or fewer in length.`);
      }
    }
  });
  errs.throwIfAny();
}

export function checkAutocomplete(data: Json | undefined): void {
  const errs = new FormErrors();
  const choices = data?.choices as Json[] | undefined;
  if (!Array.isArray(choices)) errs.add(['data', 'choices'], 'BASE_TYPE_REQUIRED', 'This field is required');
  else {
    if (choices.length > LIMITS.choices) errs.add(['data', 'choices'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.choices} or fewer in length.`);
    choices.forEach((c, i) => {
      maxLen(errs, ['data', 'choices', i, 'name'], c.name, 100, 1);
      if (typeof c.value === 'string') maxLen(errs, ['data', 'choices', i, 'value'], c.value, 100);
      else if (typeof c.value !== 'number') errs.add(['data', 'choices', i, 'value'], 'BASE_TYPE_REQUIRED', 'This field is required');
    });
  }
  errs.throwIfAny();
}

const CHAT_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

function checkOptions(errs: FormErrors, options: unknown, path: Array<string | number>, depth: number): void {
  if (options === undefined || options === null) return;
  if (!Array.isArray(options)) {
    errs.add(path, 'BASE_TYPE_ARRAY', 'Must be an array.');
    return;
  }
  if (options.length > LIMITS.commandOptions) errs.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.commandOptions} or fewer in length.`);
  let seenOptional = false;
  const names = new Set<string>();
  options.forEach((o: Json, i) => {
    const p = [...path, i];
    const name = o.name as string;
    if (typeof name !== 'string' || !CHAT_NAME.test(name) || name !== name.toLowerCase()) {
      errs.add([...p, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    }
    if (names.has(name)) errs.add([...p, 'name'], 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS', 'Option names must be unique');
    names.add(name);
    maxLen(errs, [...p, 'description'], o.description, LIMITS.commandDescription, 1);
    const type = o.type as number;
    if (!(Number.isInteger(type) && type >= 1 && type <= 11)) errs.add([...p, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of (1..11).');
    if (type === 1 || type === 2) {
      if (depth >= 2) errs.add([...p, 'type'], 'APPLICATION_COMMAND_OPTION_TYPE_INVALID', 'Subcommands cannot be nested this deep');
      checkOptions(errs, o.options, [...p, 'options'], depth + 1);
      return;
    }
    if (o.required) {
      if (seenOptional) errs.add([...p, 'required'], 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', 'Required options must be placed before non-required options');
    } else seenOptional = true;
    if (Array.isArray(o.choices)) {
      if (o.autocomplete) errs.add([...p, 'autocomplete'], 'AUTOCOMPLETE_CHOICES_BOTH_SET', 'Autocomplete cannot be set with choices');
      if (o.choices.length > LIMITS.choices) errs.add([...p, 'choices'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.choices} or fewer in length.`);
      (o.choices as Json[]).forEach((c, j) => {
        maxLen(errs, [...p, 'choices', j, 'name'], c.name, 100, 1);
        if (typeof c.value === 'string') maxLen(errs, [...p, 'choices', j, 'value'], c.value, 100, 1);
      });
    }
    if ((o.min_value !== undefined || o.max_value !== undefined) && type !== 4 && type !== 10) {
      errs.add([...p, 'min_value'], 'APPLICATION_COMMAND_OPTION_TYPE_INVALID', 'min_value only applies to numbers');
    }
    if (typeof o.min_value === 'number' && typeof o.max_value === 'number' && o.min_value > o.max_value) {
      errs.add([...p, 'max_value'], 'NUMBER_TYPE_MIN', 'max_value must be at least min_value');
    }
  });
}

/** One application command (chat input, user or message). */
export function checkCommand(c: Json, path: Array<string | number> = []): FormErrors {
  const errs = new FormErrors();
  const type = (c.type as number | undefined) ?? 1;
  if (![1, 2, 3, 4].includes(type)) errs.add([...path, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of (1, 2, 3, 4).');
  if (type === 1) {
    const name = c.name;
    if (typeof name !== 'string' || !CHAT_NAME.test(name) || name !== name.toLowerCase()) {
      errs.add([...path, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    }
    maxLen(errs, [...path, 'description'], c.description, LIMITS.commandDescription, 1);
    checkOptions(errs, c.options, [...path, 'options'], 0);
  } else {
    maxLen(errs, [...path, 'name'], c.name, 32, 1);
    if (c.description) errs.add([...path, 'description'], 'APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION', 'Context menu commands cannot have description');
    if (Array.isArray(c.options) && c.options.length) errs.add([...path, 'options'], 'APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS', 'Context menu commands cannot have options');
  }
  return errs;
}
