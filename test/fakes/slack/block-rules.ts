/**
 * The Block Kit checks the fake Slack applies, with Slack's limits: at most 50 blocks in a message
 * and 100 in a modal, section text <= 3000, action_id/block_id <= 255, button value <= 2000, button
 * text <= 75, <= 25 elements in an actions block, input blocks (and file_input) only in modals,
 * action_ids unique within their block, block_ids unique within the message or view. Returns a list of problems ([] = valid).
 */

type Obj = Record<string, unknown>;

const BLOCK_TYPES = new Set(['section', 'actions', 'context', 'divider', 'image', 'input', 'header', 'rich_text', 'file', 'video']);
const TEXT_TYPES = new Set(['plain_text', 'mrkdwn']);

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface Ctx {
  surface: 'message' | 'modal';
  problems: string[];
  actionIds: Set<string>;
}

function text(ctx: Ctx, where: string, t: unknown, max: number, plainOnly = false): void {
  if (!isObj(t)) {
    ctx.problems.push(`${where}: must be a text object`);
    return;
  }
  if (typeof t.type !== 'string' || !TEXT_TYPES.has(t.type) || (plainOnly && t.type !== 'plain_text')) {
    ctx.problems.push(`${where}: text type must be ${plainOnly ? 'plain_text' : 'plain_text or mrkdwn'}`);
  }
  if (typeof t.text !== 'string' || t.text.length === 0) ctx.problems.push(`${where}: text must be a non-empty string`);
  else if (t.text.length > max) ctx.problems.push(`${where}: must be less than ${max + 1} characters`);
}

function actionId(ctx: Ctx, where: string, el: Obj): void {
  if (el.action_id === undefined) return;
  if (typeof el.action_id !== 'string' || el.action_id.length === 0 || el.action_id.length > 255) {
    ctx.problems.push(`${where}: action_id must be 1-255 characters`);
    return;
  }
  if (ctx.actionIds.has(el.action_id)) ctx.problems.push(`${where}: action_id "${el.action_id}" is already used`);
  ctx.actionIds.add(el.action_id);
}

function option(ctx: Ctx, where: string, o: unknown): string | undefined {
  if (!isObj(o)) {
    ctx.problems.push(`${where}: option must be an object`);
    return undefined;
  }
  text(ctx, `${where}.text`, o.text, 75);
  if (typeof o.value !== 'string' || o.value.length === 0 || o.value.length > 150) ctx.problems.push(`${where}.value: must be 1-150 characters`);
  return typeof o.value === 'string' ? o.value : undefined;
}

function element(ctx: Ctx, where: string, el: unknown, inInput: boolean): void {
  if (!isObj(el) || typeof el.type !== 'string') {
    ctx.problems.push(`${where}: element must have a type`);
    return;
  }
  actionId(ctx, where, el);
  switch (el.type) {
    case 'button':
      text(ctx, `${where}.text`, el.text, 75, true);
      if (el.value !== undefined && (typeof el.value !== 'string' || el.value.length > 2000)) ctx.problems.push(`${where}.value: must be at most 2000 characters`);
      if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger') ctx.problems.push(`${where}.style: must be primary or danger`);
      if (el.url !== undefined && (typeof el.url !== 'string' || el.url.length > 3000)) ctx.problems.push(`${where}.url: too long`);
      return;
    case 'static_select': {
      const opts = el.options;
      if (!Array.isArray(opts) || opts.length === 0 || opts.length > 100) {
        ctx.problems.push(`${where}.options: must have 1-100 options`);
        return;
      }
      const values = opts.map((o, i) => option(ctx, `${where}.options[${i}]`, o));
      if (el.initial_option !== undefined) {
        const v = option(ctx, `${where}.initial_option`, el.initial_option);
        if (v === undefined || !values.includes(v)) ctx.problems.push(`${where}.initial_option: must be one of the options`);
      }
      return;
    }
    case 'checkboxes':
    case 'radio_buttons': {
      const opts = el.options;
      if (!Array.isArray(opts) || opts.length === 0 || opts.length > 10) {
        ctx.problems.push(`${where}.options: must have 1-10 options`);
        return;
      }
      opts.forEach((o, i) => option(ctx, `${where}.options[${i}]`, o));
      return;
    }
    case 'plain_text_input':
      if (!inInput) ctx.problems.push(`${where}: plain_text_input is only allowed in input blocks`);
      if (el.initial_value !== undefined && typeof el.initial_value !== 'string') ctx.problems.push(`${where}.initial_value: must be a string`);
      if (typeof el.initial_value === 'string' && el.initial_value.length > 3000) ctx.problems.push(`${where}.initial_value: too long`);
      if (el.placeholder !== undefined) text(ctx, `${where}.placeholder`, el.placeholder, 150, true);
      return;
    case 'number_input':
      if (!inInput) ctx.problems.push(`${where}: number_input is only allowed in input blocks`);
      return;
    case 'file_input':
      if (!inInput || ctx.surface !== 'modal') ctx.problems.push(`${where}: file_input is only allowed in input blocks of modals`);
      if (el.max_files !== undefined && (typeof el.max_files !== 'number' || el.max_files < 1 || el.max_files > 10)) {
        ctx.problems.push(`${where}.max_files: must be 1-10`);
      }
      return;
    case 'image':
      if (typeof el.alt_text !== 'string') ctx.problems.push(`${where}.alt_text: required`);
      return;
    case 'mrkdwn':
    case 'plain_text':
      text(ctx, where, el, 3000);
      return;
    case 'overflow':
    case 'datepicker':
    case 'timepicker':
    case 'users_select':
    case 'conversations_select':
    case 'channels_select':
    case 'external_select':
    case 'multi_static_select':
      return;
    default:
      ctx.problems.push(`${where}: unknown element type ${el.type}`);
  }
}

function block(ctx: Ctx, i: number, b: unknown, blockIds: Set<string>): void {
  const where = `blocks[${i}]`;
  if (!isObj(b) || typeof b.type !== 'string' || !BLOCK_TYPES.has(b.type)) {
    ctx.problems.push(`${where}: unknown block type`);
    return;
  }
  if (b.block_id !== undefined) {
    if (typeof b.block_id !== 'string' || b.block_id.length === 0 || b.block_id.length > 255) ctx.problems.push(`${where}.block_id: must be 1-255 characters`);
    else if (blockIds.has(b.block_id)) ctx.problems.push(`${where}.block_id: "${b.block_id}" is already used`);
    else blockIds.add(b.block_id);
  }
  switch (b.type) {
    case 'section':
      if (b.text === undefined && b.fields === undefined) ctx.problems.push(`${where}: section needs text or fields`);
      if (b.text !== undefined) text(ctx, `${where}.text`, b.text, 3000);
      if (b.fields !== undefined) {
        if (!Array.isArray(b.fields) || b.fields.length > 10) ctx.problems.push(`${where}.fields: at most 10`);
        else b.fields.forEach((f, j) => text(ctx, `${where}.fields[${j}]`, f, 2000));
      }
      if (b.accessory !== undefined) element(ctx, `${where}.accessory`, b.accessory, false);
      return;
    case 'actions':
      if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 25) {
        ctx.problems.push(`${where}.elements: must have 1-25 elements`);
        return;
      }
      b.elements.forEach((el, j) => element(ctx, `${where}.elements[${j}]`, el, false));
      return;
    case 'context':
      if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10) {
        ctx.problems.push(`${where}.elements: must have 1-10 elements`);
        return;
      }
      b.elements.forEach((el, j) => element(ctx, `${where}.elements[${j}]`, el, false));
      return;
    case 'header':
      text(ctx, `${where}.text`, b.text, 150, true);
      return;
    case 'image':
      if (typeof b.image_url !== 'string' && !isObj(b.slack_file)) ctx.problems.push(`${where}: image needs image_url or slack_file`);
      if (typeof b.alt_text !== 'string' || b.alt_text.length > 2000) ctx.problems.push(`${where}.alt_text: required, at most 2000 characters`);
      return;
    case 'input':
      if (ctx.surface !== 'modal') ctx.problems.push(`${where}: input blocks are only allowed in modals`);
      text(ctx, `${where}.label`, b.label, 2000, true);
      if (b.hint !== undefined) text(ctx, `${where}.hint`, b.hint, 2000, true);
      element(ctx, `${where}.element`, b.element, true);
      return;
    default:
      return;
  }
}

export function checkBlocks(blocks: unknown, surface: 'message' | 'modal'): string[] {
  const ctx: Ctx = { surface, problems: [], actionIds: new Set() };
  if (!Array.isArray(blocks)) return ['blocks: must be an array'];
  const max = surface === 'modal' ? 100 : 50;
  if (blocks.length > max) ctx.problems.push(`blocks: no more than ${max} items allowed`);
  const blockIds = new Set<string>();
  blocks.forEach((b, i) => {
    ctx.actionIds = new Set(); // Slack: "unique among all other action_ids in the containing block"
    block(ctx, i, b, blockIds);
  });
  return ctx.problems;
}

/** Checks for views.open / views.update / views.push (besides the blocks). */
export function checkView(view: unknown): string[] {
  if (!isObj(view)) return ['view: must be an object'];
  const ctx: Ctx = { surface: 'modal', problems: [], actionIds: new Set() };
  if (view.type !== 'modal') ctx.problems.push('view.type: must be modal');
  text(ctx, 'view.title', view.title, 24, true);
  if (view.submit !== undefined) text(ctx, 'view.submit', view.submit, 24, true);
  if (view.close !== undefined) text(ctx, 'view.close', view.close, 24, true);
  if (view.private_metadata !== undefined && (typeof view.private_metadata !== 'string' || view.private_metadata.length > 3000)) {
    ctx.problems.push('view.private_metadata: at most 3000 characters');
  }
  if (view.callback_id !== undefined && (typeof view.callback_id !== 'string' || view.callback_id.length > 255)) {
    ctx.problems.push('view.callback_id: at most 255 characters');
  }
  const blocks = Array.isArray(view.blocks) ? view.blocks : [];
  if (blocks.some((b) => isObj(b) && b.type === 'input') && view.submit === undefined) {
    ctx.problems.push('view.submit: required when the view has input blocks');
  }
  return [...ctx.problems, ...checkBlocks(view.blocks, 'modal')];
}
