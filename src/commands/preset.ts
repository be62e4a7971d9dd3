/**
 * A preset: one ComfyUI workflow (API format) plus the data that says how a command's options go into it.
 * Loaded from config/presets/<name>/{preset.yaml,workflow.json} by preset-loader.ts; see docs/presets.md.
 */
import type { Workflow } from '../comfy/types.ts';
import type { CommandName, OptionSpec } from './types.ts';

export type Family = 'sd15' | 'sdxl';

/** Pixel budget per model family: the area the model was trained at. */
export const FAMILY_BUDGET: Record<Family, { side: number; pixels: number }> = {
  sd15: { side: 512, pixels: 512 * 512 },
  sdxl: { side: 1024, pixels: 1024 * 1024 },
};

/** Checkpoint names used when neither the preset nor the configuration names one. */
export const PLACEHOLDER_CHECKPOINTS: Record<Family, string> = {
  sd15: 'sd_v1-5.safetensors',
  sdxl: 'sdxl_base_1.0.safetensors',
};

/** Where a value goes: an input of every node whose `_meta.title` (or, with `class`, whose class_type) matches. */
export interface BindingTarget {
  title?: string;
  class?: string;
  input: string;
}

/**
 * One binding: the value named `param` is written into every target.
 * `param` is an option of the command (prompt, denoise, seed, ...), an image input (image, image2) or a
 * derived value (see DERIVED_VALUES).
 */
export interface PresetBinding {
  param: string;
  to: BindingTarget[];
}

/** Values planJob computes itself; bindings may use them like options. */
export const DERIVED_VALUES: Record<string, string> = {
  width: 'width of the first image, fitted to the model family budget (or the width option), multiple of 8',
  height: 'height of the first image, fitted to the model family budget (or the height option), multiple of 8',
  scaled_width: 'width x the scale option, multiple of 8 (upscale, hires)',
  scaled_height: 'height x the scale option, multiple of 8 (upscale, hires)',
  checkpoint: 'the checkpoint for the preset family (config.checkpoints overrides the preset)',
  filename_prefix: 'easel/<job id> (SaveImage nodes get it even without a binding)',
  prompt: 'the prompt with the chosen style prompt appended',
  negative: 'the negative prompt with the style negative and the channel default appended',
};

export interface PresetSizing {
  /** 'fit': the first image is scaled to the family pixel budget (default); 'original': its own size is the base. */
  base: 'fit' | 'original';
  /** Cap for scaled_width x scaled_height (aspect kept). */
  maxPixels: number;
}

/** Replace VAEEncode/VAEDecode with their tiled versions when the working size exceeds abovePixels. */
export interface PresetTiling {
  abovePixels: number;
  tileSize: number;
  overlap: number;
}

/** Optional model upscaler (UpscaleModelLoader + ImageUpscaleWithModel), found by node title. */
export interface PresetUpscaleModel {
  loader: string;
  upscaler: string;
  /** true: the preset is unusable on a host without an upscale model; false: those nodes are bypassed. */
  required: boolean;
  /** Preferred model file names, first present wins; else the host's first model. */
  prefer: string[];
}

export interface Preset {
  name: string;
  command: CommandName;
  description: string;
  family: Family;
  workflow: Workflow;
  bindings: PresetBinding[];
  params: OptionSpec[];
  styles?: Record<string, { prompt: string; negative: string }>;
  dir: string;
  /** Longer help for the command (several lines). */
  help?: string;
  /** Image inputs in order, e.g. ['image'] or ['image', 'image2']. */
  images: string[];
  /** Families this preset works with; config.family picks one of them. */
  families: Family[];
  /** Checkpoint file the workflow loads. */
  checkpoint: string;
  /** True when the checkpoint is a placeholder: a host without it may use its first checkpoint of the family. */
  checkpointFallback: boolean;
  sizing: PresetSizing;
  tiling?: PresetTiling;
  upscaleModel?: PresetUpscaleModel;
  /**
   * Keep the inputs' transparency (preset.yaml `alpha: keep`), e.g. for a workflow that uses LoadImage's
   * MASK output. Default false: transparent areas are flattened onto white at intake.
   */
  keepAlpha?: boolean;
}
