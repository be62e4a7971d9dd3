/**
 * planJob: from a job record and its preset to the exact API-format workflows to submit.
 * Works on a deep copy (the preset is never changed), finds nodes by title/class through the bindings,
 * sizes images for the model family, and adapts to the host's catalogue (checkpoint, upscale model,
 * tiled VAE, sampler availability).
 */
import type { NodeCatalogue } from '../comfy/node-catalogue.ts';
import type { Workflow } from '../comfy/types.ts';
import type { JobRecord } from '../jobs/types.ts';
import { UserError } from './errors.ts';
import { FAMILY_BUDGET, type Family, type Preset } from './preset.ts';
import { composePrompts } from './registry.ts';
import { roundTo8, scaledSize, workingSize, type Size } from './sizing.ts';
import type { JobPlan, ParamValue } from './types.ts';
import { bypassNode, describeNode, findByTitle, findNodes, isImageUpload, pruneUnused } from './workflow-nodes.ts';

/** Checkpoint names that belong to a family, for picking a host's own checkpoint. */
export function checkpointFamily(name: string): Family | 'other' {
  const n = name.toLowerCase();
  if (/flux|sd3|sd_3|cascade|svd|hunyuan|wan2|ltx|cosmos|hidream|lumina|qwen|kolors|pixart|aura/.test(n)) return 'other';
  if (/xl|pony|illustrious/.test(n)) return 'sdxl';
  return 'sd15';
}

/** The host's checkpoints of this family (or undefined when the catalogue does not list the loader). */
export function familyCheckpoints(catalogue: NodeCatalogue, family: Family, loaderClass = 'CheckpointLoaderSimple', input = 'ckpt_name'): string[] | undefined {
  if (!catalogue.has(loaderClass)) return undefined;
  return catalogue.options(loaderClass, input).filter((c) => checkpointFamily(c) === family);
}

/** Which checkpoint to load on this host. Throws when the configured one is missing and none may replace it. */
export function chooseCheckpoint(preset: Preset, wanted: string, catalogue?: NodeCatalogue): string {
  if (!catalogue) return wanted;
  const target = preset.bindings.find((b) => b.param === 'checkpoint')?.to[0];
  const id = target ? findNodes(preset.workflow, target)[0] : undefined;
  if (!target || !id) return wanted;
  const cls = preset.workflow[id].class_type;
  if (!catalogue.has(cls)) return wanted; // reported by validation
  const options = catalogue.options(cls, target.input);
  if (options.includes(wanted)) return wanted;
  if (wanted !== preset.checkpoint && options.includes(preset.checkpoint)) return preset.checkpoint;
  if (preset.checkpointFallback) {
    const same = options.filter((c) => checkpointFamily(c) === preset.family);
    if (same.length > 0) return same[0];
  }
  throw new UserError(
    'preset_disabled',
    `Preset ${preset.name} needs the checkpoint "${wanted}", which this host does not have (it has: ${options.join(', ') || 'none'}).`,
  );
}

/** Which upscale model to use on this host, or undefined to bypass the model upscaler. */
export function chooseUpscaleModel(preset: Preset, catalogue?: NodeCatalogue): string | undefined {
  const um = preset.upscaleModel;
  if (!um) return undefined;
  const loaderId = findByTitle(preset.workflow, um.loader)!;
  const loader = preset.workflow[loaderId];
  if (!catalogue) {
    if (!um.required) return undefined;
    const v = loader.inputs.model_name;
    return um.prefer[0] ?? (typeof v === 'string' ? v : undefined);
  }
  const upscalerId = findByTitle(preset.workflow, um.upscaler)!;
  if (!catalogue.has(loader.class_type) || !catalogue.has(preset.workflow[upscalerId].class_type)) return undefined;
  const options = catalogue.options(loader.class_type, 'model_name');
  return um.prefer.find((p) => options.includes(p)) ?? options[0];
}

function toLabelNumber(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** Sizes a job works at, from its first input and its params. */
export function jobSizes(preset: Preset, inputs: Array<{ width: number; height: number }>, params: Record<string, ParamValue>): { base: Size; scaled: Size } {
  const first = inputs[0];
  if (!first || !(first.width > 0) || !(first.height > 0)) throw new Error(`preset ${preset.name}: the job has no input image size`);
  const budget = FAMILY_BUDGET[preset.family].pixels;
  const requested = {
    width: typeof params.width === 'number' ? params.width : 0,
    height: typeof params.height === 'number' ? params.height : 0,
  };
  const original = preset.sizing.base === 'original' && !requested.width && !requested.height;
  const base = original ? roundTo8(first) : workingSize(first, budget, requested);
  const factor = typeof params.scale === 'number' ? params.scale : 2;
  // Scale the exact input size (not the rounded base) so the aspect stays as close as possible.
  return { base, scaled: scaledSize(original ? first : base, factor, preset.sizing.maxPixels) };
}

const TILED: Record<string, string> = { VAEEncode: 'VAEEncodeTiled', VAEDecode: 'VAEDecodeTiled' };

/** Build the workflows for a job. `uploaded[i]` is the LoadImage name of job.inputs[i] on the chosen host. */
export function planJob(job: JobRecord, preset: Preset, uploaded: string[], catalogue?: NodeCatalogue): JobPlan {
  if (uploaded.length < preset.images.length)
    throw new Error(`preset ${preset.name} needs ${preset.images.length} image(s) (${preset.images.join(', ')}); got ${uploaded.length}`);
  const params = job.params;
  const { base, scaled } = jobSizes(preset, job.inputs, params);
  const checkpoint = chooseCheckpoint(preset, typeof params.model === 'string' && params.model ? params.model : preset.checkpoint, catalogue);
  const upscaleModel = chooseUpscaleModel(preset, catalogue);
  if (preset.upscaleModel?.required && !upscaleModel)
    throw new UserError('preset_disabled', `Preset ${preset.name} needs an upscale model, and this host has none.`);
  const { positive, negative } = composePrompts(preset, params);

  const bound = new Set(preset.bindings.map((b) => b.param));
  const usesScaled = bound.has('scaled_width') || bound.has('scaled_height');
  const workPixels = Math.max(base.width * base.height, usesScaled ? scaled.width * scaled.height : 0);
  const tiledVae =
    !!preset.tiling &&
    workPixels > preset.tiling.abovePixels &&
    (!catalogue || (catalogue.has('VAEEncodeTiled') && catalogue.has('VAEDecodeTiled')));

  const values: Record<string, unknown> = {
    ...params,
    prompt: positive,
    negative,
    width: base.width,
    height: base.height,
    scaled_width: scaled.width,
    scaled_height: scaled.height,
    checkpoint,
    filename_prefix: `easel/${job.id}`,
  };
  preset.images.forEach((name, i) => (values[name] = uploaded[i]));

  const ladder = job.ladder?.length ? job.ladder : undefined;
  const strengths: Array<number | undefined> = ladder ?? [undefined];
  const runs = strengths.map((denoise, runIndex) => {
    const run: Record<string, unknown> = { ...values };
    if (denoise !== undefined) run.denoise = denoise;
    if (ladder) run.filename_prefix = `easel/${job.id}-${runIndex + 1}`;
    const workflow = buildWorkflow(preset, run, catalogue);
    if (preset.upscaleModel) applyUpscaleModel(workflow, preset, upscaleModel);
    if (tiledVae) useTiledVae(workflow, preset);
    return {
      workflow,
      steps: countSteps(workflow),
      ...(denoise !== undefined ? { label: `denoise ${toLabelNumber(denoise)}` } : {}),
    };
  });
  return {
    runs,
    layout: ladder ? 'strip' : 'gallery',
    info: {
      checkpoint,
      upscaleModel,
      width: base.width,
      height: base.height,
      outputWidth: usesScaled ? scaled.width : base.width,
      outputHeight: usesScaled ? scaled.height : base.height,
      tiledVae,
    },
  };
}

/** Apply every binding to a deep copy of the preset's workflow. */
export function buildWorkflow(preset: Preset, values: Record<string, unknown>, catalogue?: NodeCatalogue): Workflow {
  const workflow = structuredClone(preset.workflow);
  for (const binding of preset.bindings) {
    const value = values[binding.param];
    if (value === undefined) continue;
    for (const target of binding.to) {
      for (const id of findNodes(workflow, target)) {
        const node = workflow[id];
        if (catalogue && typeof value === 'string') {
          const spec = catalogue.input(node.class_type, target.input);
          if (spec?.kind === 'combo' && !isImageUpload(spec) && binding.param !== 'checkpoint' && spec.options && spec.options.length > 0 && !spec.options.includes(value))
            throw new UserError('bad_option', `${binding.param} "${value}" is not available on this host; it offers: ${spec.options.join(', ')}`);
        }
        node.inputs[target.input] = value;
      }
    }
  }
  for (const node of Object.values(workflow)) {
    if (node.class_type === 'SaveImage' && typeof values.filename_prefix === 'string') node.inputs.filename_prefix = values.filename_prefix;
  }
  return workflow;
}

function applyUpscaleModel(workflow: Workflow, preset: Preset, model: string | undefined): void {
  const um = preset.upscaleModel!;
  const loaderId = findByTitle(workflow, um.loader)!;
  const upscalerId = findByTitle(workflow, um.upscaler)!;
  if (model) {
    workflow[loaderId].inputs.model_name = model;
    return;
  }
  bypassNode(workflow, upscalerId, 'image');
  pruneUnused(workflow, [loaderId]);
}

function useTiledVae(workflow: Workflow, preset: Preset): void {
  const t = preset.tiling!;
  for (const node of Object.values(workflow)) {
    const tiled = TILED[node.class_type];
    if (!tiled) continue;
    node.class_type = tiled;
    node.inputs = { ...node.inputs, tile_size: t.tileSize, overlap: t.overlap, temporal_size: 64, temporal_overlap: 8 };
  }
}

/** Progress steps of one run: the sum of every sampler's steps. */
export function countSteps(workflow: Workflow): number {
  let total = 0;
  for (const node of Object.values(workflow)) {
    if (/sampler/i.test(node.class_type) && typeof node.inputs.steps === 'number') total += node.inputs.steps;
  }
  return total || 1;
}

export { describeNode };
