/**
 * Is a preset usable on a host? Checks its workflow against the host's node definitions (/object_info):
 * node classes exist, inputs are named right, wires connect matching types, values are within min/max
 * and in combo lists, the checkpoint and upscale model are on that host, and the preset's option ranges
 * fit what the nodes accept. Every problem names the preset, the node (title + class), the input and
 * the allowed values.
 */
import type { InputSpec, NodeCatalogue } from '../comfy/node-catalogue.ts';
import type { Workflow } from '../comfy/types.ts';
import type { JobRecord } from '../jobs/types.ts';
import { chooseUpscaleModel, familyCheckpoints, planJob } from './plan.ts';
import type { Preset } from './preset.ts';
import { NAMED_CHOICE_LISTS } from './comfy-enums.ts';
import type { ResolvedParams } from './types.ts';
import { describeNode, findNodes, isImageUpload, isLink } from './workflow-nodes.ts';

export { isImageUpload };

/** Something the host lacks that an operator can install: a node class or a model file. */
export interface MissingOnHost {
  kind: 'node' | 'checkpoint' | 'upscale_model';
  /** The node class, or the model file wanted (any other file of the family may do, see anyOfFamily). */
  name: string;
  /** Checkpoints: any checkpoint of this family would do (the preset falls back to one). */
  anyOfFamily?: string;
}

export interface PresetProblem {
  preset: string;
  node: string;
  input?: string;
  reason: string;
  allowed?: string;
  /** Set when the problem is a missing node class or model file. */
  missing?: MissingOnHost;
}

/** One line for logs and the status page. */
export function formatProblem(p: PresetProblem): string {
  return `preset ${p.preset}: ${p.node}${p.input ? `, input ${p.input}` : ''}: ${p.reason}${p.allowed ? ` (allowed: ${p.allowed})` : ''}`;
}

function shortList(options: readonly string[], max = 50): string {
  return options.length > max ? `${options.slice(0, max).join(', ')}, ... (${options.length} in all)` : options.join(', ') || 'none';
}

function showRange(spec: InputSpec): string {
  return `${spec.min ?? '-inf'}..${spec.max ?? 'inf'}`;
}

/** Check one concrete workflow against a host's node definitions. */
export function validateWorkflow(workflow: Workflow, catalogue: NodeCatalogue, presetName: string): PresetProblem[] {
  const problems: PresetProblem[] = [];
  const add = (node: string, reason: string, input?: string, allowed?: string, missing?: MissingOnHost) =>
    problems.push({
      preset: presetName,
      node,
      reason,
      ...(input !== undefined ? { input } : {}),
      ...(allowed !== undefined ? { allowed } : {}),
      ...(missing ? { missing } : {}),
    });

  for (const [id, node] of Object.entries(workflow)) {
    const label = `${describeNode(node)} #${id}`;
    const def = catalogue.get(node.class_type);
    if (!def) {
      add(label, `node type ${node.class_type} is not installed on this host`, undefined, undefined, { kind: 'node', name: node.class_type });
      continue;
    }
    for (const [name, value] of Object.entries(node.inputs)) {
      const spec = def.inputs.get(name);
      if (!spec) {
        add(label, `${node.class_type} has no input "${name}"`, name, [...def.inputs.keys()].join(', '));
        continue;
      }
      if (isLink(value)) {
        const source = workflow[value[0]];
        if (!source) {
          add(label, `is wired to node ${value[0]}, which is not in the workflow`, name);
          continue;
        }
        const srcDef = catalogue.get(source.class_type);
        const outType = srcDef?.outputs[value[1]];
        if (srcDef && outType === undefined) add(label, `is wired to output ${value[1]} of ${describeNode(source)}, which has only ${srcDef.outputs.length}`, name);
        else if (srcDef && outType !== undefined && !typesMatch(outType, spec.type))
          add(label, `expects ${spec.type} but is wired to ${outType} from ${describeNode(source)}`, name, spec.type);
        continue;
      }
      switch (spec.kind) {
        case 'link':
          add(label, `needs a connection (${spec.type}), not a value`, name, spec.type);
          break;
        case 'int':
        case 'float':
          if (typeof value !== 'number' || !Number.isFinite(value)) add(label, `must be a number, got ${JSON.stringify(value)}`, name, showRange(spec));
          else if (spec.kind === 'int' && !Number.isInteger(value)) add(label, `must be a whole number, got ${value}`, name, showRange(spec));
          else if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max))
            add(label, `${value} is outside the allowed range`, name, showRange(spec));
          break;
        case 'string':
          if (typeof value !== 'string') add(label, `must be text, got ${JSON.stringify(value)}`, name);
          break;
        case 'boolean':
          if (typeof value !== 'boolean') add(label, `must be true or false, got ${JSON.stringify(value)}`, name);
          break;
        case 'combo':
          if (isImageUpload(spec)) break;
          if (!spec.options?.includes(String(value)))
            add(label, `"${String(value)}" is not one of the host's options`, name, shortList(spec.options ?? []));
          break;
      }
    }
    for (const spec of def.inputs.values()) {
      if (spec.required && !(spec.name in node.inputs)) add(label, `required input "${spec.name}" is missing`, spec.name, spec.type);
    }
  }
  return problems;
}

function isNamedList(values: string[]): boolean {
  return Object.values(NAMED_CHOICE_LISTS).some((list) => list.length === values.length && list.every((v) => values.includes(v)));
}

function typesMatch(out: string, expected: string): boolean {
  if (out === '*' || expected === '*') return true;
  const a = out.split(',').map((s) => s.trim());
  const b = expected.split(',').map((s) => s.trim());
  if (expected === 'COMBO') return true;
  return a.some((t) => b.includes(t));
}

/** Default values for every option (seed 0 when random), as a job would have them. */
export function defaultParams(preset: Preset): ResolvedParams {
  const params: ResolvedParams = {};
  for (const o of preset.params) {
    if (o.default !== undefined) params[o.name] = o.default;
    else if (o.name === 'seed') params.seed = 0;
    else if (o.type === 'string') params[o.name] = '';
    else if (o.min !== undefined) params[o.name] = o.min;
  }
  params.model = preset.checkpoint;
  return params;
}

/** A job record good enough to plan: for validation and tests. */
export function sampleJob(preset: Preset, params: ResolvedParams, size = { width: 768, height: 512 }): JobRecord {
  return {
    id: 'validate',
    command: preset.command,
    preset: preset.name,
    params,
    inputs: preset.images.map((_, i) => ({ sha256: `sample${i}`, path: `sample${i}.png`, width: size.width, height: size.height, mime: 'image/png', bytes: 1 })),
    actor: { platform: 'cli', userId: 'validate', channelId: 'validate' },
    state: 'queued',
    createdAt: 0,
  };
}

/** [] = the preset is usable on the host this catalogue describes. */
export function validatePreset(preset: Preset, catalogue: NodeCatalogue): PresetProblem[] {
  const problems: PresetProblem[] = [];
  const add = (p: Omit<PresetProblem, 'preset'>) => problems.push({ preset: preset.name, ...p });

  // The checkpoint.
  const ckTarget = preset.bindings.find((b) => b.param === 'checkpoint')?.to[0];
  if (ckTarget) {
    for (const id of findNodes(preset.workflow, ckTarget)) {
      const node = preset.workflow[id];
      if (!catalogue.has(node.class_type)) continue; // reported below
      const options = catalogue.options(node.class_type, ckTarget.input);
      if (options.includes(preset.checkpoint)) continue;
      const family = familyCheckpoints(catalogue, preset.family, node.class_type, ckTarget.input) ?? [];
      if (preset.checkpointFallback && family.length > 0) continue;
      add({
        node: describeNode(node),
        input: ckTarget.input,
        reason: preset.checkpointFallback
          ? `checkpoint "${preset.checkpoint}" is not on this host, and it has no other ${preset.family} checkpoint`
          : `checkpoint "${preset.checkpoint}" (set in the configuration) is not on this host`,
        allowed: shortList(options),
        missing: { kind: 'checkpoint', name: preset.checkpoint, ...(preset.checkpointFallback ? { anyOfFamily: preset.family } : {}) },
      });
    }
  }

  // The upscale model.
  if (preset.upscaleModel?.required && !chooseUpscaleModel(preset, catalogue)) {
    const id = findNodes(preset.workflow, { title: preset.upscaleModel.loader })[0];
    const node = preset.workflow[id];
    add({
      node: describeNode(node),
      input: 'model_name',
      reason: 'this preset needs an upscale model and the host has none (put one in ComfyUI/models/upscale_models)',
      allowed: shortList(catalogue.has(node.class_type) ? catalogue.options(node.class_type, 'model_name') : []),
      missing: { kind: 'upscale_model', name: preset.upscaleModel.prefer[0] ?? 'an upscale model' },
    });
  }

  // Option ranges against what the bound node inputs accept.
  for (const binding of preset.bindings) {
    const opt = preset.params.find((o) => o.name === binding.param);
    if (!opt) continue;
    for (const target of binding.to) {
      for (const id of findNodes(preset.workflow, target)) {
        const node = preset.workflow[id];
        const spec = catalogue.input(node.class_type, target.input);
        if (!spec) continue; // reported by validateWorkflow
        if ((opt.type === 'integer' || opt.type === 'number') && (spec.kind === 'int' || spec.kind === 'float')) {
          if (spec.min !== undefined && opt.min !== undefined && opt.min < spec.min)
            add({ node: describeNode(node), input: target.input, reason: `option ${opt.name} goes down to ${opt.min}, below the node's minimum`, allowed: showRange(spec) });
          if (spec.max !== undefined && opt.max !== undefined && opt.max > spec.max)
            add({ node: describeNode(node), input: target.input, reason: `option ${opt.name} goes up to ${opt.max}, above the node's maximum`, allowed: showRange(spec) });
          if (spec.kind === 'int' && opt.type === 'number')
            add({ node: describeNode(node), input: target.input, reason: `option ${opt.name} allows decimals but the input takes whole numbers (make it type: integer)` });
        }
        if (opt.type === 'choice' && spec.kind === 'combo' && !isImageUpload(spec)) {
          const hostOptions = spec.options ?? [];
          if (opt.default !== undefined && !hostOptions.includes(String(opt.default)))
            add({ node: describeNode(node), input: target.input, reason: `default "${opt.default}" of option ${opt.name} is not one of the host's options`, allowed: shortList(hostOptions) });
          // A list the admin wrote must only offer what the node accepts. The shared lists (samplers,
          // schedulers) follow ComfyUI releases; a host lacking one of them refuses just that value per job.
          const values = (opt.choices ?? []).map((c) => c.value);
          const missing = values.filter((v) => v !== String(opt.default) && !hostOptions.includes(v));
          if (missing.length > 0 && !isNamedList(values))
            add({
              node: describeNode(node),
              input: target.input,
              reason: `option ${opt.name} offers ${missing.map((v) => `"${v}"`).join(', ')}, which the node does not accept`,
              allowed: shortList(hostOptions),
            });
        }
      }
    }
  }

  // The workflow as a job would submit it, with every default.
  if (problems.length === 0) {
    try {
      const plan = planJob(sampleJob(preset, defaultParams(preset)), preset, preset.images.map(() => 'example.png'), catalogue);
      for (const run of plan.runs) problems.push(...validateWorkflow(run.workflow, catalogue, preset.name));
    } catch (err) {
      add({ node: 'workflow', reason: (err as Error).message });
    }
  } else {
    problems.push(...validateWorkflow(preset.workflow, catalogue, preset.name).filter((p) => !problems.some((q) => q.input === p.input && p.node.startsWith(q.node))));
  }
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
