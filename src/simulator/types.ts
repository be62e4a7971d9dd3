/**
 * The built-in ComfyUI simulator: the same HTTP + WebSocket protocol as ComfyUI 0.3.64, executing
 * Easel's node set on real pixels with sharp. Used by the tests and, when no GPU host is configured,
 * as Easel's stand-in host (always labelled "simulated").
 */

export interface SimulatorOptions {
  /** 0 or unset: a free port on 127.0.0.1. */
  port?: number;
  host?: string;
  /** Time per sampler step, ms (default 40). Also used per upscale tile. */
  stepMs?: number;
  /** Send binary preview frames each sampler step (like --preview-method auto). Default true. */
  previews?: boolean;
  /** Folder for input/, output/, temp/ (a fresh temp folder when unset). */
  dataDir?: string;
  /** Fake model folders; defaults: checkpoints sd_v1-5.safetensors + sdxl_base_1.0.safetensors, upscale_models 4x-UltraSharp.pth. */
  models?: { checkpoints?: string[]; upscale_models?: string[] };
  /** --max-upload-size in bytes (default 104857600). */
  maxUploadBytes?: number;
  /** Simulated time for the first load of each checkpoint, ms (default 0). */
  modelLoadMs?: number;
}

export interface BusyInterval {
  promptId: string;
  start: number;
  end: number;
}

export interface Simulator {
  readonly url: string;
  readonly port: number;
  /** Folder holding input/, output/ and temp/ (a fresh temp folder, removed by close(), unless dataDir was given). */
  readonly dataDir: string;
  /** Stop listening and drop every socket without a close handshake (like a crash). Queue and history are lost. */
  kill(): Promise<void>;
  /** Start again on the same port after kill(): empty queue and history, prompt numbers from 0, temp wiped, input/output kept. */
  start(): Promise<void>;
  /** kill() then start(). */
  restart(): Promise<void>;
  /** Terminate every WebSocket (code 1006 on the client) but keep running. */
  dropSockets(): void;
  /** The next prompt that starts hangs (no progress) until release() or kill(). */
  stallNext(): void;
  release(): void;
  /** The next prompt that runs fails in its sampler with this exception (default RuntimeError). */
  failNext(opts?: { exceptionType?: string; message?: string }): void;
  setStepMs(ms: number): void;
  /** When each prompt occupied the (single) worker: for busy-ratio benchmarks. */
  busyLog(): BusyInterval[];
  /** Prompts accepted (queued) by POST /prompt since start, in order (for exactly-once assertions). */
  submittedPromptIds(): string[];
  close(): Promise<void>;
}
