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
  /** kill() then start(). `loseInputs`: the host comes back without its input/ folder (e.g. a fresh container). */
  restart(opts?: { loseInputs?: boolean }): Promise<void>;
  /** Empty input/ now (uploaded images are gone; LoadImage of them fails validation). */
  loseInputs(): void;
  /** Terminate every WebSocket (code 1006 on the client) but keep running. */
  dropSockets(): void;
  /** The next prompt that starts hangs (no progress) until release() or kill(). */
  stallNext(): void;
  release(): void;
  /** The next prompt that runs fails in its sampler with this exception (default RuntimeError). */
  failNext(opts?: { exceptionType?: string; message?: string }): void;
  setStepMs(ms: number): void;

  // ------------------------------------------------------------ faults of a broken or hostile host
  /**
   * The next `count` (default 1) GETs whose path starts with `pathPrefix` (e.g. '/view', '/history')
   * answer 200 with a body that never ends. count 0 disarms it. Survives restarts.
   */
  endlessBodyNext(pathPrefix: string, count?: number): void;
  /** The next prompt's SaveImage writes a tiny PNG of 16000 × 16000 pixels instead of its result. */
  giantImageNext(): void;
  /**
   * The next POST /prompt echoes its request headers (Authorization included): 'prompt-400' answers a
   * 400 whose message and extra_info carry them; 'execution-error' queues the prompt, which then fails
   * with an execution_error whose exception_message and traceback carry them.
   */
  echoHeadersNext(where: 'prompt-400' | 'execution-error'): void;
  /** A ComfyUI from before targeted interrupt: POST /interrupt ignores prompt_id and stops whatever runs. Survives restarts. */
  globalInterruptOnly(on?: boolean): void;
  /** Uploads are answered 200 but never kept (an input folder cleaned behind the host's back). Survives restarts. */
  vanishingUploads(on?: boolean): void;
  /** Send every open WebSocket one text message of about `bytes` bytes now. */
  sendOversizedWsMessage(bytes: number): void;
  /** When each prompt occupied the (single) worker: for busy-ratio benchmarks. */
  busyLog(): BusyInterval[];
  /** Prompts accepted (queued) by POST /prompt since start, in order (for exactly-once assertions). */
  submittedPromptIds(): string[];
  close(): Promise<void>;
}
