/**
 * Reads presets from disk: config/presets/<name>/preset.yaml + workflow.json.
 * Everything an admin can get wrong is reported as an Error naming the file and the problem,
 * so a bad preset stops startup with a message that says what to fix.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Workflow } from '../comfy/types.ts';
import { MAX_SEED } from '../comfy/types.ts';
import { NAMED_CHOICE_LISTS } from './comfy-enums.ts';
import { STANDARD_OPTION_DOCS } from './option-docs.ts';
import {
  DERIVED_VALUES,
  FAMILY_BUDGET,
  PLACEHOLDER_CHECKPOINTS,
  type BindingTarget,
  type Family,
  type Preset,
  type PresetBinding,
  type PresetTiling,
  type PresetUpscaleModel,
} from './preset.ts';
import { COMMAND_NAMES, type CommandName, type OptionSpec, type ParamType, type ParamValue } from './types.ts';
import { describeNode, findNodes, isLink, targetLabel } from './workflow-nodes.ts';

const FAMILIES: Family[] = ['sd15', 'sdxl'];
const PARAM_TYPES: ParamType[] = ['string', 'integer', 'number', 'boolean', 'choice'];
/** Options consumed by planJob itself rather than by a binding. */
const CONSUMED_OPTIONS = new Set(['style', 'width', 'height', 'scale', 'preset']);

export class PresetError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'PresetError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Load every preset under `dir` (one sub-folder each). Throws PresetError naming the file and problem. */
export async function loadPresets(dir: string): Promise<Preset[]> {
  let entries: string[];
  try {
    entries = (await readdir(dir)).sort();
  } catch (err) {
    throw new PresetError(dir, `cannot read the presets folder (${(err as Error).message})`);
  }
  const presets: Preset[] = [];
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const sub = path.join(dir, entry);
    if (entry.startsWith('.') || !(await stat(sub)).isDirectory()) continue;
    const yamlFile = path.join(sub, 'preset.yaml');
    const workflowFile = path.join(sub, 'workflow.json');
    const yamlText = await readFile(yamlFile, 'utf8').catch(() => {
      throw new PresetError(yamlFile, 'missing: every preset folder needs a preset.yaml (see docs/presets.md)');
    });
    const workflowText = await readFile(workflowFile, 'utf8').catch(() => {
      throw new PresetError(workflowFile, 'missing: export the workflow from ComfyUI with "Export (API)" and save it here');
    });
    const preset = parsePreset(sub, yamlText, workflowText);
    const other = seen.get(preset.name);
    if (other) throw new PresetError(yamlFile, `preset name "${preset.name}" is already used by ${other}`);
    seen.set(preset.name, yamlFile);
    presets.push(preset);
  }
  return presets;
}

/** Parse one preset from its two files' text. `dir` names the folder (and the default preset name). */
export function parsePreset(dir: string, yamlText: string, workflowText: string): Preset {
  const yamlFile = path.join(dir, 'preset.yaml');
  const workflowFile = path.join(dir, 'workflow.json');
  const workflow = parseWorkflow(workflowFile, workflowText);
  let doc: unknown;
  try {
    doc = parseYaml(yamlText);
  } catch (err) {
    throw new PresetError(yamlFile, `not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (!isObj(doc)) throw new PresetError(yamlFile, 'must be a mapping of keys (name, command, description, ...)');
  const fail = (problem: string): never => {
    throw new PresetError(yamlFile, problem);
  };

  const name = doc.name === undefined ? path.basename(dir) : doc.name;
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(name))
    fail(`name must be lowercase letters, digits and dashes (at most 32), got ${JSON.stringify(name)}`);
  const command = doc.command;
  if (typeof command !== 'string' || !COMMAND_NAMES.includes(command as CommandName))
    fail(`command must be one of ${COMMAND_NAMES.join(', ')}; got ${JSON.stringify(command)}`);
  const description = doc.description;
  if (typeof description !== 'string' || !description.trim()) fail('description is required (one line, at most 100 characters)');
  if ((description as string).length > 100) fail(`description is ${(description as string).length} characters; at most 100 are allowed`);
  const family = doc.family;
  if (!FAMILIES.includes(family as Family)) fail(`family must be sd15 or sdxl; got ${JSON.stringify(family)}`);
  let families: Family[] = [family as Family];
  if (doc.families !== undefined) {
    if (!Array.isArray(doc.families) || doc.families.some((f) => !FAMILIES.includes(f as Family)))
      fail('families must be a list of sd15 and/or sdxl');
    families = [...new Set([family as Family, ...(doc.families as Family[])])];
  }
  const help = doc.help === undefined ? undefined : String(doc.help).trim();

  const images = doc.images === undefined ? ['image'] : doc.images;
  if (!Array.isArray(images) || images.length === 0 || images.some((i) => typeof i !== 'string' || !/^[a-z][a-z0-9_]*$/.test(i)))
    fail('images must be a list of input names such as [image] or [image, image2]');

  const styles = parseStyles(yamlFile, doc.styles);
  const params = parseParams(yamlFile, doc.params, styles);
  const paramNames = new Set(params.map((p) => p.name));
  const bindings = parseBindings(yamlFile, doc.bindings, workflow);

  const known = new Set([...paramNames, ...(images as string[]), ...Object.keys(DERIVED_VALUES)]);
  for (const b of bindings) {
    if (!known.has(b.param))
      fail(`binding "${b.param}" names no option, image or derived value; options: ${[...paramNames].join(', ')}; images: ${(images as string[]).join(', ')}; derived: ${Object.keys(DERIVED_VALUES).join(', ')}`);
  }
  const bound = new Set(bindings.map((b) => b.param));
  for (const img of images as string[]) if (!bound.has(img)) fail(`image "${img}" is not bound to any node (bind it to a LoadImage node's image input)`);
  for (const p of params) {
    if (!bound.has(p.name) && !CONSUMED_OPTIONS.has(p.name))
      fail(`option "${p.name}" is not bound to any node input; add a binding or remove the option`);
  }
  if ((paramNames.has('width') || paramNames.has('height')) && !bound.has('width') && !bound.has('height'))
    fail('options width/height need a binding of width and height (e.g. an ImageScale node)');
  if (paramNames.has('scale') && !bound.has('scaled_width') && !bound.has('scaled_height'))
    fail('option "scale" needs a binding of scaled_width and scaled_height');
  if (styles && !paramNames.has('style')) fail('styles are listed but there is no "style" option (type: choice, choices: styles)');
  if (!Object.values(workflow).some((n) => n.class_type === 'SaveImage'))
    throw new PresetError(workflowFile, 'has no SaveImage node: results must be saved to be shown');

  // The checkpoint: preset.yaml, else what the bound loader holds, else the family placeholder.
  let checkpoint: string | undefined;
  let checkpointFallback = true;
  if (doc.checkpoint !== undefined) {
    if (typeof doc.checkpoint !== 'string' || !doc.checkpoint) fail('checkpoint must be a file name');
    checkpoint = doc.checkpoint as string;
    checkpointFallback = false;
  } else {
    const target = bindings.find((b) => b.param === 'checkpoint')?.to[0];
    const id = target ? findNodes(workflow, target)[0] : undefined;
    const value = id ? workflow[id].inputs[target!.input] : undefined;
    checkpoint = typeof value === 'string' && value ? value : PLACEHOLDER_CHECKPOINTS[family as Family];
  }
  if (!bound.has('checkpoint') && Object.values(workflow).some((n) => n.class_type === 'CheckpointLoaderSimple'))
    fail('bind "checkpoint" to the checkpoint loader (e.g. checkpoint: { class: CheckpointLoaderSimple, input: ckpt_name })');

  const alpha = doc.alpha ?? 'flatten';
  if (alpha !== 'flatten' && alpha !== 'keep') fail(`alpha must be "flatten" (transparency onto white, the default) or "keep"; got ${JSON.stringify(alpha)}`);

  const size = doc.size === undefined ? {} : doc.size;
  if (!isObj(size)) fail('size must be a mapping (base: fit|original, max_pixels: N)');
  const sizeObj = size as Obj;
  const base = sizeObj.base ?? 'fit';
  if (base !== 'fit' && base !== 'original') fail('size.base must be "fit" or "original"');
  const maxPixels = sizeObj.max_pixels ?? FAMILY_BUDGET[family as Family].pixels * 4;
  if (!Number.isInteger(maxPixels) || (maxPixels as number) < 4096) fail('size.max_pixels must be a whole number >= 4096');

  return {
    name: name as string,
    command: command as CommandName,
    description: (description as string).trim(),
    family: family as Family,
    families,
    workflow,
    bindings,
    params,
    styles,
    dir,
    help,
    images: images as string[],
    checkpoint: checkpoint!,
    checkpointFallback,
    sizing: { base: base as 'fit' | 'original', maxPixels: maxPixels as number },
    tiling: parseTiling(yamlFile, doc.tiled_vae),
    upscaleModel: parseUpscaleModel(yamlFile, doc.upscale_model, workflow),
    ...(alpha === 'keep' ? { keepAlpha: true } : {}),
  };
}

export function parseWorkflow(file: string, text: string): Workflow {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new PresetError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (!isObj(data)) throw new PresetError(file, 'must be a JSON object of nodes (ComfyUI "Export (API)" format)');
  if (Array.isArray(data.nodes) && Array.isArray(data.links))
    throw new PresetError(file, 'this is the UI format (it has "nodes" and "links"); in ComfyUI use Workflow > Export (API) instead');
  const ids = Object.keys(data);
  if (ids.length === 0) throw new PresetError(file, 'has no nodes');
  for (const id of ids) {
    const node: unknown = data[id];
    if (!isObj(node) || typeof node.class_type !== 'string' || !isObj(node.inputs))
      throw new PresetError(file, `node ${id} must have a "class_type" string and an "inputs" object`);
    for (const [input, value] of Object.entries(node.inputs as Obj)) {
      if (Array.isArray(value) && value.length === 2 && (typeof value[0] === 'string' || typeof value[0] === 'number')) {
        if (!isLink(value))
          throw new PresetError(file, `node ${id} (${node.class_type}) input ${input}: a link must be ["<node id as a string>", <output index>]`);
        if (!(value[0] in data))
          throw new PresetError(file, `node ${id} (${node.class_type}) input ${input} links to node ${value[0]}, which is not in the workflow`);
      }
    }
  }
  return data as Workflow;
}

function parseStyles(file: string, raw: unknown): Preset['styles'] {
  if (raw === undefined) return undefined;
  if (!isObj(raw) || Object.keys(raw).length === 0) throw new PresetError(file, 'styles must be a mapping of style name to { prompt, negative }');
  const styles: NonNullable<Preset['styles']> = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = key.trim().toLowerCase();
    if (!isObj(value) || typeof value.prompt !== 'string' || typeof value.negative !== 'string')
      throw new PresetError(file, `style "${key}" needs a prompt and a negative (both text)`);
    if (name.length > 100) throw new PresetError(file, `style name "${key}" is longer than 100 characters`);
    styles[name] = { prompt: value.prompt.trim(), negative: value.negative.trim() };
  }
  return styles;
}

function parseChoices(file: string, name: string, raw: unknown, styles: Preset['styles']): Array<{ name: string; value: string }> {
  if (raw === 'styles') {
    if (!styles) throw new PresetError(file, `option "${name}" uses choices: styles but the preset lists no styles`);
    return Object.keys(styles).map((s) => ({ name: s, value: s }));
  }
  if (typeof raw === 'string') {
    const list = NAMED_CHOICE_LISTS[raw];
    if (!list) throw new PresetError(file, `option "${name}": unknown choice list "${raw}"; known: styles, ${Object.keys(NAMED_CHOICE_LISTS).join(', ')}`);
    return list.map((v) => ({ name: v, value: v }));
  }
  if (Array.isArray(raw) && raw.length > 0) {
    return raw.map((c) => {
      if (typeof c === 'string' || typeof c === 'number') return { name: String(c), value: String(c) };
      if (isObj(c) && c.value !== undefined) return { name: String(c.name ?? c.value), value: String(c.value) };
      throw new PresetError(file, `option "${name}": each choice must be text or { name, value }`);
    });
  }
  throw new PresetError(file, `option "${name}" is a choice, so it needs choices (a list, or styles/samplers/schedulers)`);
}

function parseParams(file: string, raw: unknown, styles: Preset['styles']): OptionSpec[] {
  if (!isObj(raw)) throw new PresetError(file, 'params must be a mapping of option name to its schema');
  const out: OptionSpec[] = [];
  for (const [name, value] of Object.entries(raw)) {
    const where = `option "${name}"`;
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(name)) throw new PresetError(file, `${where}: names are lowercase letters, digits and _ (Discord's rule)`);
    if (!isObj(value)) throw new PresetError(file, `${where} must be a mapping (type, default, min, max, ...)`);
    const type = value.type as ParamType;
    if (!PARAM_TYPES.includes(type)) throw new PresetError(file, `${where}: type must be one of ${PARAM_TYPES.join(', ')}`);
    const docs = STANDARD_OPTION_DOCS[name];
    const description = value.description ?? docs?.description;
    if (typeof description !== 'string' || !description) throw new PresetError(file, `${where} needs a description (one line)`);
    if (description.length > 100) throw new PresetError(file, `${where}: description is ${description.length} characters; at most 100`);
    const spec: OptionSpec = { name, type, description };
    const help = value.help ?? docs?.help;
    if (help !== undefined) spec.help = String(help);
    for (const key of ['min', 'max', 'step'] as const) {
      if (value[key] === undefined) continue;
      if (type !== 'integer' && type !== 'number') throw new PresetError(file, `${where}: ${key} only applies to integer and number options`);
      if (typeof value[key] !== 'number' || !Number.isFinite(value[key])) throw new PresetError(file, `${where}: ${key} must be a number`);
      spec[key] = value[key] as number;
    }
    if (name === 'seed') {
      spec.min = Math.max(0, spec.min ?? 0);
      spec.max = Math.min(MAX_SEED, spec.max ?? MAX_SEED);
    }
    if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) throw new PresetError(file, `${where}: min ${spec.min} is above max ${spec.max}`);
    if (type === 'choice') {
      spec.choices = parseChoices(file, name, value.choices, styles);
      if (value.autocomplete === true || spec.choices.length > 25) spec.autocomplete = true;
    }
    if (value.required === true) spec.required = true;
    if (value.default !== undefined && value.default !== null) {
      const d = value.default;
      const ok =
        (type === 'string' && typeof d === 'string') ||
        (type === 'boolean' && typeof d === 'boolean') ||
        (type === 'integer' && Number.isInteger(d)) ||
        (type === 'number' && typeof d === 'number') ||
        (type === 'choice' && (typeof d === 'string' || typeof d === 'number'));
      if (!ok) throw new PresetError(file, `${where}: default ${JSON.stringify(d)} is not a valid ${type}`);
      const dv: ParamValue = type === 'choice' ? String(d) : (d as ParamValue);
      if (typeof dv === 'number' && ((spec.min !== undefined && dv < spec.min) || (spec.max !== undefined && dv > spec.max)))
        throw new PresetError(file, `${where}: default ${dv} is outside ${spec.min ?? '-inf'}..${spec.max ?? 'inf'}`);
      if (type === 'choice' && !spec.choices!.some((c) => c.value === dv))
        throw new PresetError(file, `${where}: default "${dv}" is not one of its choices`);
      spec.default = dv;
    } else if (type !== 'string' && name !== 'seed' && !spec.required) {
      throw new PresetError(file, `${where} needs a default (only seed may be left empty: it is then random)`);
    }
    out.push(spec);
  }
  return out;
}

function parseTarget(file: string, param: string, raw: unknown, workflow: Workflow): BindingTarget {
  if (!isObj(raw) || typeof raw.input !== 'string' || (typeof raw.title !== 'string' && typeof raw.class !== 'string'))
    throw new PresetError(file, `binding "${param}": each target needs "input" and a node "title" or "class" (node ids are not accepted: they change when the graph is re-exported)`);
  const target: BindingTarget = { input: raw.input };
  if (typeof raw.title === 'string') target.title = raw.title;
  if (typeof raw.class === 'string') target.class = raw.class;
  const ids = findNodes(workflow, target);
  if (ids.length === 0) {
    const titles = Object.values(workflow).map((n) => describeNode(n)).join(', ');
    throw new PresetError(file, `binding "${param}": no node matches ${targetLabel(target)}; the workflow has ${titles}`);
  }
  for (const id of ids) {
    const node = workflow[id];
    if (!(target.input in node.inputs))
      throw new PresetError(file, `binding "${param}": node ${describeNode(node)} has no input "${target.input}"; its inputs are ${Object.keys(node.inputs).join(', ')}`);
    if (isLink(node.inputs[target.input]))
      throw new PresetError(file, `binding "${param}": ${describeNode(node)} input "${target.input}" is wired to another node; bind a widget value instead`);
  }
  return target;
}

function parseBindings(file: string, raw: unknown, workflow: Workflow): PresetBinding[] {
  if (!isObj(raw)) throw new PresetError(file, 'bindings must be a mapping of option name to { title | class, input } (or a list of them)');
  return Object.entries(raw).map(([param, value]) => ({
    param,
    to: (Array.isArray(value) ? value : [value]).map((t) => parseTarget(file, param, t, workflow)),
  }));
}

function parseTiling(file: string, raw: unknown): PresetTiling | undefined {
  if (raw === undefined) return undefined;
  if (!isObj(raw) || !Number.isInteger(raw.above_pixels)) throw new PresetError(file, 'tiled_vae needs above_pixels (a whole number), and optionally tile_size and overlap');
  const tileSize = raw.tile_size ?? 512;
  const overlap = raw.overlap ?? 64;
  if (!Number.isInteger(tileSize) || (tileSize as number) < 64 || (tileSize as number) % 64 !== 0) throw new PresetError(file, 'tiled_vae.tile_size must be a multiple of 64 (>= 64)');
  if (!Number.isInteger(overlap) || (overlap as number) < 0 || (overlap as number) % 32 !== 0) throw new PresetError(file, 'tiled_vae.overlap must be a multiple of 32 (>= 0)');
  return { abovePixels: raw.above_pixels as number, tileSize: tileSize as number, overlap: overlap as number };
}

function parseUpscaleModel(file: string, raw: unknown, workflow: Workflow): PresetUpscaleModel | undefined {
  if (raw === undefined) return undefined;
  if (!isObj(raw) || typeof raw.loader !== 'string' || typeof raw.upscaler !== 'string')
    throw new PresetError(file, 'upscale_model needs loader and upscaler: the titles of the UpscaleModelLoader and ImageUpscaleWithModel nodes');
  for (const [key, cls] of [['loader', 'UpscaleModelLoader'], ['upscaler', 'ImageUpscaleWithModel']] as const) {
    const ids = findNodes(workflow, { title: raw[key] as string });
    if (ids.length !== 1 || workflow[ids[0]].class_type !== cls)
      throw new PresetError(file, `upscale_model.${key}: expected exactly one ${cls} node titled "${raw[key]}"`);
  }
  const prefer = raw.prefer === undefined ? [] : raw.prefer;
  if (!Array.isArray(prefer) || prefer.some((p) => typeof p !== 'string')) throw new PresetError(file, 'upscale_model.prefer must be a list of file names');
  return { loader: raw.loader, upscaler: raw.upscaler, required: raw.required === true, prefer: prefer as string[] };
}
