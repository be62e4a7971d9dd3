/**
 * The node catalogue: ComfyUI's `/object_info` read into one normalised shape.
 *
 * ComfyUI serves two entry shapes for inputs:
 *   V1 nodes:  "sampler_name": [["euler", ...], {tooltip}]          (combo as a list)
 *              "steps": ["INT", {default, min, max}]
 *   V3 nodes:  "upscale_method": ["COMBO", {"options": [...], "multiselect": false}]
 * Both become an InputSpec with `kind: 'combo'` and `options`.
 */

export type InputKind = 'int' | 'float' | 'string' | 'boolean' | 'combo' | 'link';

export interface InputSpec {
  name: string;
  required: boolean;
  kind: InputKind;
  /** For links: the ComfyUI type name (IMAGE, LATENT, MODEL, ...). For constants: INT/FLOAT/STRING/BOOLEAN/COMBO. */
  type: string;
  default?: unknown;
  min?: number;
  max?: number;
  step?: number;
  options?: string[];
  tooltip?: string;
  /** The raw `[type, options]` pair exactly as the host sent it (ComfyUI echoes it in errors). */
  raw: unknown;
}

export interface NodeSpec {
  name: string;
  displayName: string;
  category: string;
  outputNode: boolean;
  outputs: string[];
  inputs: Map<string, InputSpec>;
  /** V3 (io.ComfyNode) node: ComfyUI 0.3.64 does not validate its combos at submit time. */
  v3: boolean;
}

export type RawObjectInfo = Record<string, Record<string, unknown>>;

const PRIMITIVES: Record<string, InputKind> = {
  INT: 'int',
  FLOAT: 'float',
  STRING: 'string',
  BOOLEAN: 'boolean',
};

function parseInput(name: string, raw: unknown, required: boolean): InputSpec {
  const pair = Array.isArray(raw) ? raw : [raw];
  const head = pair[0];
  const opts = (pair[1] && typeof pair[1] === 'object' ? pair[1] : {}) as Record<string, unknown>;
  const common = {
    name,
    required,
    raw,
    tooltip: typeof opts.tooltip === 'string' ? opts.tooltip : undefined,
    default: opts.default,
  };
  if (Array.isArray(head)) {
    return { ...common, kind: 'combo', type: 'COMBO', options: head.map(String) };
  }
  if (head === 'COMBO') {
    const options = Array.isArray(opts.options) ? opts.options.map(String) : [];
    return { ...common, kind: 'combo', type: 'COMBO', options };
  }
  const type = String(head);
  const kind = PRIMITIVES[type];
  if (kind) {
    return {
      ...common,
      kind,
      type,
      min: typeof opts.min === 'number' ? opts.min : undefined,
      max: typeof opts.max === 'number' ? opts.max : undefined,
      step: typeof opts.step === 'number' ? opts.step : undefined,
    };
  }
  return { ...common, kind: 'link', type };
}

export function parseNodeSpec(name: string, info: Record<string, unknown>): NodeSpec {
  const input = (info.input ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const inputs = new Map<string, InputSpec>();
  for (const section of ['required', 'optional'] as const) {
    const entries = input[section] ?? {};
    for (const [inputName, raw] of Object.entries(entries)) {
      inputs.set(inputName, parseInput(inputName, raw, section === 'required'));
    }
  }
  return {
    name,
    displayName: typeof info.display_name === 'string' && info.display_name ? info.display_name : name,
    category: String(info.category ?? ''),
    outputNode: info.output_node === true,
    outputs: Array.isArray(info.output) ? info.output.map(String) : [],
    inputs,
    v3: 'api_node' in info || 'experimental' in info,
  };
}

/** A host's node definitions, parsed once. */
export class NodeCatalogue {
  private readonly nodes = new Map<string, NodeSpec>();

  constructor(readonly raw: RawObjectInfo) {
    for (const [name, info] of Object.entries(raw)) {
      this.nodes.set(name, parseNodeSpec(name, info));
    }
  }

  has(classType: string): boolean {
    return this.nodes.has(classType);
  }

  get(classType: string): NodeSpec | undefined {
    return this.nodes.get(classType);
  }

  input(classType: string, inputName: string): InputSpec | undefined {
    return this.nodes.get(classType)?.inputs.get(inputName);
  }

  /** Options of a combo input, e.g. the host's checkpoints: options('CheckpointLoaderSimple', 'ckpt_name'). */
  options(classType: string, inputName: string): string[] {
    return this.input(classType, inputName)?.options ?? [];
  }

  get classTypes(): string[] {
    return [...this.nodes.keys()];
  }
}
