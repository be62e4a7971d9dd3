/**
 * Wire-level types shared by the ComfyUI client, the simulator and the core.
 * Shapes follow ComfyUI 0.3.64 (see test/fixtures and the README's "ComfyUI protocol" notes).
 */

export type NodeId = string;
/** A link in API format: [source node id (string), output index]. */
export type Link = [NodeId, number];

export interface WorkflowNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title?: string };
}

/** An API-format workflow, exactly what ComfyUI's "Export (API)" writes. */
export type Workflow = Record<NodeId, WorkflowNode>;

/** Where ComfyUI keeps a file: what `/view` needs and what `executed` reports. */
export interface ImageRef {
  filename: string;
  subfolder: string;
  type: 'output' | 'input' | 'temp';
}

/** Authentication in front of a ComfyUI host (ComfyUI itself has none; a reverse proxy adds it). */
export type HostAuth =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'header'; name: string; value: string };

export interface HostConfig {
  /** Short name shown to users and operators, e.g. "gpu-1". */
  name: string;
  /** Base URL, e.g. http://10.0.0.5:8188 (no trailing slash needed). */
  url: string;
  auth?: HostAuth;
  /** Timeout for each HTTP call, ms (default 30 000; uploads and /view get 120 000). */
  timeoutMs?: number;
  /** True for the built-in simulator: shown as "simulated" wherever the host appears. */
  simulated?: boolean;
}

/** Events of one prompt, in the order ComfyUI produces them. */
export type PromptEvent =
  | { type: 'queued'; promptId: string; number: number }
  | { type: 'started'; promptId: string }
  | { type: 'cached'; promptId: string; nodes: NodeId[] }
  | { type: 'executing'; promptId: string; node: NodeId; classType?: string }
  | { type: 'progress'; promptId: string; node: NodeId; value: number; max: number }
  | { type: 'preview'; promptId: string; image: Buffer; mime: 'image/jpeg' | 'image/png' }
  | { type: 'executed'; promptId: string; node: NodeId; images: ImageRef[] }
  | { type: 'success'; promptId: string; outputs: Record<NodeId, ImageRef[]> }
  | {
      type: 'error';
      promptId: string;
      node: NodeId;
      classType: string;
      exceptionType: string;
      message: string;
    }
  | { type: 'interrupted'; promptId: string; node?: NodeId }
  /** The host restarted or forgot the prompt: it will never finish there. */
  | { type: 'lost'; promptId: string; reason: string };

/** What GET /history/{id} says about a finished prompt. */
export interface HistoryEntry {
  promptId: string;
  status: 'success' | 'error';
  completed: boolean;
  outputs: Record<NodeId, ImageRef[]>;
  /** Raw status messages, e.g. [["execution_start", {...}], ...]. */
  messages: Array<[string, Record<string, unknown>]>;
}

export interface SystemStats {
  comfyuiVersion: string;
  os: string;
  devices: Array<{ name: string; type: string; vramTotal: number; vramFree: number }>;
  /** system.pytorch_version as reported, e.g. "2.4.1+cu124"; the simulator says "none (simulated)". */
  pytorchVersion?: string;
}

export interface QueueState {
  running: Array<{ number: number; promptId: string }>;
  /** Sorted in run order. */
  pending: Array<{ number: number; promptId: string }>;
}

/** Largest seed we ever send: JavaScript numbers are exact only up to 2^53 - 1. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;
