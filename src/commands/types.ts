/**
 * Platform-neutral command and preset types. Nothing here knows about Discord, Slack or the web page.
 */
import type { Workflow } from '../comfy/types.ts';

export type CommandName = 'restyle' | 'upscale' | 'variations' | 'sketch' | 'restore' | 'hires' | 'blend';
export const COMMAND_NAMES: CommandName[] = ['restyle', 'upscale', 'variations', 'sketch', 'restore', 'hires', 'blend'];

export type ParamType = 'string' | 'integer' | 'number' | 'boolean' | 'choice';
export type ParamValue = string | number | boolean;

/** One user-settable option of a command (comes from the preset's parameter schema). */
export interface OptionSpec {
  name: string;
  type: ParamType;
  /** One line, shown next to the option in slash-command pickers and forms (<= 100 chars). */
  description: string;
  /** Longer help text for /easel help. */
  help?: string;
  required?: boolean;
  default?: ParamValue;
  min?: number;
  max?: number;
  step?: number;
  /** For type 'choice': the allowed values with display names. */
  choices?: Array<{ name: string; value: string }>;
  /** Too many choices for a fixed list (samplers): front ends should offer autocomplete. */
  autocomplete?: boolean;
}

export interface CommandSpec {
  name: CommandName;
  /** One line (<= 100 chars). */
  description: string;
  /** Several lines for /easel help. */
  help: string;
  /** Image inputs, in order: restyle has ['image'], blend has ['image', 'image2']. */
  images: string[];
  options: OptionSpec[];
  /** Preset this command runs by default. */
  preset: string;
}

/** Final, validated parameter values of a job: every option of the command has a value. */
export type ResolvedParams = Record<string, ParamValue>;

/** Rerun actions available on a finished job. */
export type RerunAction = 'reroll' | 'subtle' | 'strong' | 'ladder' | 'vary' | 'upscale' | 'edit';
/** Everything a button can do (rerun actions plus job control). */
export type JobAction = RerunAction | 'delete' | 'cancel';
export const JOB_ACTIONS: JobAction[] = ['reroll', 'subtle', 'strong', 'ladder', 'vary', 'upscale', 'edit', 'delete', 'cancel'];

/** What the core hands to the job runner: one or more workflows to submit, in order. */
export interface JobPlan {
  /** Each entry is one ComfyUI prompt. A ladder has one per strength. */
  runs: Array<{ workflow: Workflow; label?: string; steps: number }>;
  /** How the outputs are shown: a gallery grid (1..N labels) or a labelled strip (ladder). */
  layout: 'gallery' | 'strip';
  /** What planJob chose on this host (for the result summary and logs). */
  info?: {
    checkpoint?: string;
    upscaleModel?: string;
    /** Size the first image is worked at, and the output size when the preset scales it. */
    width: number;
    height: number;
    outputWidth: number;
    outputHeight: number;
    tiledVae: boolean;
  };
}
