/**
 * ComfyUI's validation errors (POST /prompt 400 bodies, and node_errors on a 200) turned into plain
 * words that name the node (class, title, id), the input and the reason, e.g.
 *   KSampler "Sampler" (node 3): denoise 1.5 is above the maximum 1.0
 *   LoadImage (node 10): image file "x.png" is not on the host
 *   CheckpointLoaderSimple (node 4): ckpt_name "x" is not one of the host's options: a, b
 */
import { ExecutionFailedError, WorkflowRejectedError, type WorkflowProblem } from './errors.ts';
import type { NodeCatalogue } from './node-catalogue.ts';
import type { Workflow } from './types.ts';

interface RawError {
  type?: unknown;
  message?: unknown;
  details?: unknown;
  extra_info?: Record<string, unknown>;
}

interface RawNodeErrors {
  errors?: RawError[];
  dependent_outputs?: unknown;
  class_type?: unknown;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

function squash(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** `KSampler "Sampler" (node 3)`; the title only when it says more than the class name. */
export function nodeLabel(nodeId: string, classType: string | undefined, title: string | undefined): string {
  const cls = classType || 'node';
  const showTitle = title && squash(title) !== squash(cls) && squash(title) !== '';
  return `${cls}${showTitle ? ` "${title}"` : ''} (node ${nodeId})`;
}

/** A value as a user would read it: strings quoted, everything else as JSON. */
function showValue(v: unknown): string {
  if (typeof v === 'string') return `"${v}"`;
  if (v === undefined) return 'nothing';
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** Parse a Python list repr of strings: ['a', "b's", 'c'] -> [a, b's, c]. Undefined if it is not one. */
export function parsePythonStringList(text: string): string[] | undefined {
  const t = text.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) return undefined;
  const out: string[] = [];
  let i = 1;
  const end = t.length - 1;
  while (i < end) {
    const c = t[i];
    if (c === ' ' || c === ',') {
      i++;
      continue;
    }
    if (c !== "'" && c !== '"') return undefined;
    let j = i + 1;
    let value = '';
    while (j < end && t[j] !== c) {
      if (t[j] === '\\' && j + 1 < end) {
        const n = t[j + 1];
        value += n === 'n' ? '\n' : n === 't' ? '\t' : n;
        j += 2;
        continue;
      }
      value += t[j];
      j++;
    }
    if (j >= end) return undefined;
    out.push(value);
    i = j + 1;
  }
  return out;
}

const TYPE_WORDS: Record<string, string> = {
  INT: 'a whole number',
  FLOAT: 'a number',
  BOOLEAN: 'true or false',
  STRING: 'text',
};

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

/** The option closest to what was sent, when it is plausibly a typo. */
export function closestOption(value: string, options: string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  const v = value.toLowerCase();
  for (const o of options) {
    const score = levenshtein(v, o.toLowerCase());
    if (score < bestScore) {
      bestScore = score;
      best = o;
    }
  }
  if (best !== undefined && bestScore <= Math.max(2, Math.floor(value.length / 3))) return best;
  // "euler_fancy" -> "euler": the longest option the value starts with.
  const prefixes = options.filter((o) => o.length >= 3 && v.startsWith(o.toLowerCase()));
  return prefixes.sort((a, b) => b.length - a.length)[0];
}

function optionsSentence(input: string, received: unknown, options: string[] | undefined, count?: number): string {
  const shown = showValue(received);
  if (options && options.length === 0) {
    return `${input} ${shown} is not available: the host has no options for it (is its model folder empty?)`;
  }
  if (options && options.length <= 20) {
    return `${input} ${shown} is not one of the host's options: ${options.join(', ')}`;
  }
  const n = options?.length ?? count;
  const hint = options && typeof received === 'string' ? closestOption(received, options) : undefined;
  return `${input} ${shown} is not one of the host's ${n ?? ''}${n ? ' ' : ''}options${hint ? ` (did you mean "${hint}"?)` : ''}`;
}

/** One node-level error in plain words (without the node label). */
function describeNodeError(
  e: RawError,
  ctx: { nodeId: string; classType?: string; workflow: Workflow; catalogue?: NodeCatalogue },
): { input?: string; words: string } {
  const type = str(e.type);
  const message = str(e.message);
  const details = str(e.details);
  const extra = (e.extra_info ?? {}) as Record<string, unknown>;
  const input = str(extra.input_name) || undefined;
  const inputConfig = extra.input_config;
  const received = 'received_value' in extra ? extra.received_value : ctx.workflow[ctx.nodeId]?.inputs?.[input ?? ''];
  const spec = (Array.isArray(inputConfig) ? inputConfig[1] : undefined) as Record<string, unknown> | undefined;
  const name = input ?? (details.split(/[,:]/)[0]?.trim() || 'an input');

  switch (type) {
    case 'value_bigger_than_max': {
      const m = /^Value (.+) bigger than max of (.+)$/.exec(message);
      const v = m ? m[1] : showValue(received);
      const max = m ? m[2] : str(spec?.max);
      return { input, words: `${name} ${v} is above the maximum ${max}` };
    }
    case 'value_smaller_than_min': {
      const m = /^Value (.+) smaller than min of (.+)$/.exec(message);
      const v = m ? m[1] : showValue(received);
      const min = m ? m[2] : str(spec?.min);
      return { input, words: `${name} ${v} is below the minimum ${min}` };
    }
    case 'value_not_in_list': {
      let options: string[] | undefined;
      let count: number | undefined;
      if (Array.isArray(inputConfig) && Array.isArray(inputConfig[0])) {
        options = (inputConfig[0] as unknown[]).map(String);
      } else if (Array.isArray(inputConfig) && inputConfig[0] === 'COMBO' && Array.isArray(spec?.options)) {
        options = (spec.options as unknown[]).map(String);
      } else {
        const after = details.split(' not in ').slice(1).join(' not in ');
        options = parsePythonStringList(after);
        const len = /\(list of length (\d+)\)/.exec(after);
        if (len) count = Number(len[1]);
      }
      if (!options && ctx.catalogue && ctx.classType && input) {
        const fromCatalogue = ctx.catalogue.options(ctx.classType, input);
        if (fromCatalogue.length > 0) options = fromCatalogue;
      }
      let value: unknown = received;
      if (value === undefined) {
        const m = /: '(.*)' not in /.exec(details);
        if (m) value = m[1];
      }
      return { input, words: optionsSentence(name, value, options, count) };
    }
    case 'required_input_missing':
      return { input: input ?? (details || undefined), words: `required input ${input ?? details} is missing` };
    case 'bad_linked_input':
      return {
        input,
        words: `input ${name} must be a link [node id, output index] but is ${showValue(received)}`,
      };
    case 'return_type_mismatch': {
      const got = str(extra.received_type) || /received_type\((.*?)\)/.exec(details)?.[1] || 'another type';
      const want =
        (Array.isArray(inputConfig) ? str(inputConfig[0]) : '') || /input_type\((.*?)\)/.exec(details)?.[1] || 'another type';
      const linked = Array.isArray(extra.linked_node) ? extra.linked_node : undefined;
      const srcId = linked ? str(linked[0]) : undefined;
      const src = srcId
        ? ` from ${nodeLabel(srcId, ctx.workflow[srcId]?.class_type, ctx.workflow[srcId]?._meta?.title)} output ${str(linked?.[1])}`
        : '';
      return { input, words: `input ${name} needs ${want} but is connected to ${got}${src}` };
    }
    case 'invalid_input_type': {
      const t = /to a (\w+) value/.exec(message)?.[1] ?? (Array.isArray(inputConfig) ? str(inputConfig[0]) : '');
      const why = str(extra.exception_message);
      return {
        input,
        words: `${name} ${showValue(received)} is not ${TYPE_WORDS[t] ?? `a valid ${t} value`}${why ? ` (${why})` : ''}`,
      };
    }
    case 'custom_validation_failed': {
      const rest = input && details.startsWith(`${input} - `) ? details.slice(input.length + 3) : details;
      const missing = /Invalid image file: (.*)$/.exec(rest);
      if (missing) return { input: input ?? 'image', words: `image file "${missing[1]}" is not on the host` };
      return { input, words: `${input ? `${input}: ` : ''}${rest || message}` };
    }
    case 'exception_during_inner_validation':
    case 'exception_during_validation': {
      const exType = str(extra.exception_type);
      const keyMissing = /^'(.*)'$/.exec(details);
      if (exType === 'KeyError' && keyMissing && !(keyMissing[1] in ctx.workflow)) {
        return {
          input,
          words: `${input ? `input ${input} links` : 'a link points'} to node ${keyMissing[1]}, which is not in the workflow`,
        };
      }
      if (exType === 'IndexError' || /index out of range/.test(details)) {
        return { input, words: `${input ? `input ${input} uses` : 'a link uses'} an output index the source node does not have` };
      }
      return {
        input,
        words: `${input ? `input ${input} ` : ''}could not be checked by the host (${exType ? `${exType}: ` : ''}${details || message})`,
      };
    }
    case 'dependency_cycle':
      return { input, words: `the workflow has a loop: ${details}` };
    case 'invalid_dynamic_input':
      return { input, words: `input ${name} is invalid: ${details || message}` };
    default:
      return { input, words: `${message || type}${details ? `: ${details}` : ''}` };
  }
}

/** Every node-level problem of a node_errors object, in node order. */
export function describeNodeErrors(
  nodeErrors: unknown,
  workflow: Workflow,
  catalogue?: NodeCatalogue,
): WorkflowProblem[] {
  if (!nodeErrors || typeof nodeErrors !== 'object') return [];
  const problems: WorkflowProblem[] = [];
  for (const [nodeId, raw] of Object.entries(nodeErrors as Record<string, RawNodeErrors>)) {
    const classType = str(raw?.class_type) || workflow[nodeId]?.class_type || undefined;
    const title = workflow[nodeId]?._meta?.title || undefined;
    const label = nodeLabel(nodeId, classType, title);
    for (const e of Array.isArray(raw?.errors) ? raw.errors : []) {
      const { input, words } = describeNodeError(e, { nodeId, classType, workflow, catalogue });
      problems.push({ nodeId, classType, title, input, type: str(e.type) || 'unknown', reason: `${label}: ${words}` });
    }
  }
  return problems;
}

/** The top-level `error` of a 400 body, when it is about the whole workflow rather than a node. */
function describeTopLevel(error: RawError, workflow: Workflow): WorkflowProblem | undefined {
  const type = str(error.type);
  const message = str(error.message);
  const details = str(error.details);
  const extra = (error.extra_info ?? {}) as Record<string, unknown>;
  const idFromDetails = /Node ID '#(.*)'/.exec(details)?.[1];
  switch (type) {
    case 'no_prompt':
      return { nodeId: '', type, reason: 'the request contained no workflow' };
    case 'invalid_prompt':
    case 'missing_node_type': {
      const nodeId = str(extra.node_id) || idFromDetails || '';
      const cls =
        str(extra.class_type) ||
        /node (.+) does not exist/.exec(message)?.[1] ||
        workflow[nodeId]?.class_type ||
        '';
      const title = str(extra.node_title) || workflow[nodeId]?._meta?.title || undefined;
      if (!cls || /no class_type|missing the class_type/.test(message)) {
        return { nodeId, title, type, reason: `node ${nodeId || '?'} has no class_type` };
      }
      return {
        nodeId,
        classType: cls,
        title,
        type,
        reason: `${nodeLabel(nodeId || '?', cls, title)}: the host does not have this node type (is a custom node missing?)`,
      };
    }
    case 'invalid_prompt_id':
      return { nodeId: '', type, reason: `the host refused the prompt id: ${details || message}` };
    case 'prompt_no_outputs':
      return {
        nodeId: '',
        type,
        reason: 'the workflow has no output node (such as SaveImage), so it would produce nothing',
      };
    case 'prompt_outputs_failed_validation':
      return undefined;
    default:
      if (!type && !message) return undefined;
      return { nodeId: '', type: type || 'unknown', reason: `${message || type}${details && details !== message ? `: ${details}` : ''}` };
  }
}

/** A 400 answer of POST /prompt as a WorkflowRejectedError whose problems are in plain words. */
export function rejectionFromBody(body: unknown, workflow: Workflow, catalogue?: NodeCatalogue): WorkflowRejectedError {
  const b = (body && typeof body === 'object' ? body : {}) as { error?: unknown; node_errors?: unknown };
  const error: RawError = typeof b.error === 'string' ? { type: 'error', message: b.error } : ((b.error ?? {}) as RawError);
  const problems = describeNodeErrors(b.node_errors, workflow, catalogue);
  const top = describeTopLevel(error, workflow);
  if (top) problems.unshift(top);
  if (problems.length === 0) {
    const message = str(error.message);
    const details = str(error.details);
    problems.push({
      nodeId: '',
      type: str(error.type) || 'unknown',
      reason: message ? `${message}${details ? `: ${details}` : ''}` : 'the host rejected the workflow without saying why',
    });
  }
  return new WorkflowRejectedError(problems, `the host rejected the workflow: ${problems.map((p) => p.reason).join('; ')}`);
}

/**
 * LoadImage files the host said it does not have (so a cached upload must be redone): ComfyUI's
 * "Invalid image file" custom validation, or — on versions that list input files as a combo — an
 * image value "not in list" (read from the workflow when given).
 */
export function missingInputImages(problems: WorkflowProblem[], workflow?: Workflow): string[] {
  const out: string[] = [];
  for (const p of problems) {
    if (p.type === 'custom_validation_failed') {
      const m = /image file "(.*)" is not on the host/.exec(p.reason);
      if (m) out.push(m[1]);
    } else if (p.type === 'value_not_in_list' && p.input === 'image' && /^LoadImage/.test(p.classType ?? '')) {
      const v = workflow?.[p.nodeId]?.inputs?.image;
      if (typeof v === 'string') out.push(v);
    }
  }
  return out;
}

/** A prompt that failed because its LoadImage file vanished between validation and execution. */
export function isMissingInputFailure(err: unknown): boolean {
  return (
    err instanceof ExecutionFailedError &&
    /^LoadImage/.test(err.classType) &&
    /FileNotFound|No such file|Invalid image file/i.test(`${err.exceptionType} ${err.exceptionMessage}`)
  );
}
