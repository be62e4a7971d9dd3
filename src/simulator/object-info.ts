/**
 * The node catalogue the simulator serves at GET /object_info: real ComfyUI 0.3.64 definitions
 * (node-definitions.json, see extract-node-definitions.ts) with model and input-file combos filled in
 * from the simulator's own fake model folders and input directory.
 */
import { cloneOrdered, parseOrdered } from './ordered-json.ts';
import { readFileSync } from 'node:fs';
import type { Folders } from './folders.ts';

export type InputSpec = [unknown, Record<string, unknown>?];
export interface NodeDefinition {
  input: { required?: Record<string, InputSpec>; optional?: Record<string, InputSpec>; hidden?: Record<string, string> };
  input_order?: Record<string, string[]>;
  output: string[];
  output_is_list: boolean[];
  output_name: string[];
  name: string;
  display_name: string | null;
  description: string;
  python_module: string;
  category: string;
  output_node: boolean;
  [k: string]: unknown;
}

// Read as text (parseOrdered keeps key order and which numbers are Python floats). The path goes through
// the package root so it also resolves from the compiled dist/simulator/ (tsc does not copy .json files).
const definitionsUrl = new URL('../../src/simulator/node-definitions.json', import.meta.url);
const BASE_DEFINITIONS = parseOrdered(readFileSync(definitionsUrl, 'utf8')) as Record<string, NodeDefinition>;

export function knownClasses(): string[] {
  return Object.keys(BASE_DEFINITIONS);
}

/** Definitions with live combo lists (fresh objects: callers may not mutate the base). */
export function buildObjectInfo(folders: Folders): Record<string, NodeDefinition> {
  const info = cloneOrdered(BASE_DEFINITIONS);
  const inputs = folders.listInputImages();
  const ckpts = [...(folders.models.checkpoints ?? [])].sort();
  const upscalers = [...(folders.models.upscale_models ?? [])].sort();
  info.CheckpointLoaderSimple.input.required!.ckpt_name[0] = ckpts;
  info.LoadImage.input.required!.image[0] = inputs;
  if (info.LoadImageMask) info.LoadImageMask.input.required!.image[0] = folders.listInputFiles();
  const opts = info.UpscaleModelLoader.input.required!.model_name[1] as Record<string, unknown>;
  opts.options = upscalers;
  return info;
}

/** Validation needs the same shapes; the object is rebuilt per prompt (cheap: a few dozen nodes). */
export type ObjectInfo = Record<string, NodeDefinition>;
