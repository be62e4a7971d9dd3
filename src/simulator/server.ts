/**
 * The simulator process: HTTP routes (with /api aliases), the prompt queue and its single worker,
 * history, and the fault hooks of the Simulator interface.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { Folders, isInside, MODEL_FOLDER_KINDS } from './folders.ts';
import { buildObjectInfo, type ObjectInfo } from './object-info.ts';
import { cloneOrdered, JsonSyntaxError, orderedObject, parseOrdered, pyJson } from './ordered-json.ts';
import { PromptShapeError, validatePrompt } from './validate.ts';
import { WsHub } from './ws-hub.ts';
import { ClassicCache } from './output-cache.ts';
import { RunControl, KilledError } from './run-control.ts';
import { executePrompt, type ExecResult, type QueueItem } from './executor.ts';
import { BodyTooLarge, readBody } from './body.ts';
import { pyStr } from './py-format.ts';
import { originRefused } from './origin-check.ts';
import type { BusyInterval, Simulator, SimulatorOptions } from './types.ts';

const DEFAULT_MODELS = {
  checkpoints: ['sd_v1-5.safetensors', 'sdxl_base_1.0.safetensors'],
  upscale_models: ['4x-UltraSharp.pth'],
};
const MAX_HISTORY = 10000;

interface HistoryRecord extends ExecResult {
  prompt: QueueItem;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body = '',
  ) {
    super(`HTTP ${status}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
};

export class SimulatorServer implements Simulator {
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly folders: Folders;
  private readonly ownsDataDir: boolean;
  private readonly hub: WsHub;
  private readonly bindHost: string;
  private boundPort: number;
  private stepMs: number;
  private readonly previews: boolean;
  private readonly maxUpload: number;
  private readonly modelLoadMs: number;

  // Process state (lost on kill/restart).
  private counter = 0;
  private pending: QueueItem[] = [];
  private running: QueueItem | null = null;
  private runningSid: string | null = null;
  private runningNode: string | null = null;
  private history = new Map<string, HistoryRecord>();
  private cache = new ClassicCache();
  private control = new RunControl();
  private loadedModels = new Set<string>();
  private wakeWorker: (() => void) | null = null;
  private epoch = 0;
  private busy: BusyInterval[] = [];
  private submitted: string[] = [];
  private stallArmed = false;
  private failArmed: { exceptionType: string; message: string; traceback?: string[] } | null = null;
  private giantArmed = false;
  private echoArmed: 'prompt-400' | 'execution-error' | null = null;
  /** Fault modes that belong to the host's set-up, not its process: they survive restarts. */
  private endless = new Map<string, number>();
  private oldStyleInterrupt = false;
  private uploadsVanish = false;
  private objectInfoCache: { key: string; info: ObjectInfo } | null = null;
  private workerDone: Promise<void> = Promise.resolve();

  constructor(private readonly opts: SimulatorOptions = {}) {
    this.bindHost = opts.host ?? '127.0.0.1';
    this.boundPort = opts.port ?? 0;
    this.stepMs = opts.stepMs ?? 40;
    this.previews = opts.previews ?? true;
    this.maxUpload = opts.maxUploadBytes ?? 104857600;
    this.modelLoadMs = opts.modelLoadMs ?? 0;
    this.ownsDataDir = !opts.dataDir;
    const root = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'easel-sim-'));
    this.folders = new Folders(root, {
      checkpoints: opts.models?.checkpoints ?? DEFAULT_MODELS.checkpoints,
      upscale_models: opts.models?.upscale_models ?? DEFAULT_MODELS.upscale_models,
    });
    this.hub = new WsHub({
      queueRemaining: () => this.queueRemaining(),
      serverFeatures: () => this.features(),
      runningNodeFor: (sid) => (this.running && this.runningSid === sid ? this.runningNode : null),
    });
  }

  get url(): string {
    const h = this.bindHost.includes(':') ? `[${this.bindHost}]` : this.bindHost;
    return `http://${h}:${this.boundPort}`;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Where input/, output/ and temp/ live. */
  get dataDir(): string {
    return this.folders.root;
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    if (this.server) return;
    this.resetProcessState();
    this.folders.wipeTemp();
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('500 Internal Server Error\n\nServer got itself in trouble');
        } else res.destroy(e as Error);
      });
    });
    server.keepAliveTimeout = 5000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('upgrade', (req, socket, head) => {
      if (originRefused(req.headers.host, req.headers.origin)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      const p = new URL(req.url ?? '/', 'http://x').pathname;
      if (p === '/ws' || p === '/api/ws') this.hub.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, this.bindHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as { port: number }).port;
    this.server = server;
    const epoch = this.epoch;
    this.workerDone = this.worker(epoch);
  }

  async kill(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.epoch++;
    this.control.kill();
    this.wakeWorker?.();
    this.hub.terminateAll();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.workerDone.catch(() => {});
    this.resetProcessState();
  }

  async restart(opts: { loseInputs?: boolean } = {}): Promise<void> {
    await this.kill();
    if (opts.loseInputs) this.loseInputs();
    await this.start();
  }

  loseInputs(): void {
    fs.rmSync(this.folders.input, { recursive: true, force: true });
    fs.mkdirSync(this.folders.input, { recursive: true });
  }

  endlessBodyNext(pathPrefix: string, count = 1): void {
    if (count <= 0) this.endless.delete(pathPrefix);
    else this.endless.set(pathPrefix, (this.endless.get(pathPrefix) ?? 0) + count);
  }

  giantImageNext(): void {
    this.giantArmed = true;
  }

  echoHeadersNext(where: 'prompt-400' | 'execution-error'): void {
    this.echoArmed = where;
  }

  globalInterruptOnly(on = true): void {
    this.oldStyleInterrupt = on;
  }

  vanishingUploads(on = true): void {
    this.uploadsVanish = on;
  }

  sendOversizedWsMessage(bytes: number): void {
    this.hub.broadcastRaw(JSON.stringify({ type: 'status', data: { padding: 'x'.repeat(Math.max(0, bytes)) } }));
  }

  async close(): Promise<void> {
    await this.kill();
    this.hub.close();
    if (this.ownsDataDir) fs.rmSync(this.folders.root, { recursive: true, force: true });
  }

  private resetProcessState(): void {
    this.counter = 0;
    this.pending = [];
    this.running = null;
    this.runningSid = null;
    this.runningNode = null;
    this.history = new Map();
    this.cache = new ClassicCache();
    this.control = new RunControl();
    this.loadedModels = new Set();
    this.submitted = [];
    this.stallArmed = false;
    this.failArmed = null;
    this.giantArmed = false;
    this.echoArmed = null;
  }

  dropSockets(): void {
    this.hub.terminateAll();
  }

  stallNext(): void {
    this.stallArmed = true;
  }

  release(): void {
    this.control.release();
  }

  failNext(opts: { exceptionType?: string; message?: string } = {}): void {
    this.failArmed = {
      exceptionType: opts.exceptionType ?? 'RuntimeError',
      message: opts.message ?? 'simulated sampler failure',
    };
  }

  setStepMs(ms: number): void {
    this.stepMs = Math.max(0, ms);
  }

  busyLog(): BusyInterval[] {
    return this.busy.map((b) => ({ ...b }));
  }

  submittedPromptIds(): string[] {
    return [...this.submitted];
  }

  // ---------------------------------------------------------------- queue

  private queueRemaining(): number {
    return this.pending.length + (this.running ? 1 : 0);
  }

  private broadcastStatus(): void {
    this.hub.broadcast('status', { status: { exec_info: { queue_remaining: this.queueRemaining() } } });
  }

  private sortPending(): void {
    this.pending.sort((a, b) => (a[0] !== b[0] ? a[0] - b[0] : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  }

  private enqueue(item: QueueItem): void {
    this.pending.push(item);
    this.sortPending();
    this.broadcastStatus();
    this.wakeWorker?.();
  }

  private async worker(epoch: number): Promise<void> {
    while (this.epoch === epoch) {
      if (this.pending.length === 0) {
        await new Promise<void>((resolve) => {
          this.wakeWorker = resolve;
        });
        this.wakeWorker = null;
        continue;
      }
      const item = this.pending.shift()!;
      this.running = item;
      const extra = item[3];
      this.runningSid = extra.client_id != null ? pyStr(extra.client_id) : null;
      this.runningNode = null;
      const start = Date.now();
      this.broadcastStatus();
      const control = this.control;
      let result: ExecResult;
      try {
        const historyPrompt = cloneOrdered(item[2]);
        result = await executePrompt(
          {
            hub: this.hub,
            folders: this.folders,
            cache: this.cache,
            defs: this.objectInfo(),
            control,
            previews: () => this.previews,
            stepMs: () => this.stepMs,
            loadModel: async (name) => {
              if (this.loadedModels.has(name)) return;
              if (this.modelLoadMs > 0) await control.sleep(this.modelLoadMs);
              this.loadedModels.add(name);
            },
            takeStall: () => {
              const s = this.stallArmed;
              this.stallArmed = false;
              if (s) control.resetRelease();
              return s;
            },
            takeFailure: () => {
              const f = this.failArmed;
              this.failArmed = null;
              return f;
            },
            takeGiantImage: () => {
              const g = this.giantArmed;
              this.giantArmed = false;
              return g;
            },
            setRunningNode: (_sid, node) => {
              this.runningNode = node;
            },
          },
          item,
          historyPrompt,
        );
      } catch (e) {
        if (e instanceof KilledError || this.epoch !== epoch) return;
        // A simulator bug must not wedge the queue: record the prompt as failed and carry on.
        const now = Date.now();
        result = {
          outputs: {},
          meta: {},
          status: {
            status_str: 'error',
            completed: false,
            messages: [
              ['execution_start', { prompt_id: item[1], timestamp: start }],
              [
                'execution_error',
                {
                  prompt_id: item[1],
                  node_id: '',
                  node_type: '',
                  executed: [],
                  exception_message: `simulator internal error: ${(e as Error)?.message ?? e}\n`,
                  exception_type: 'RuntimeError',
                  traceback: [],
                  current_inputs: {},
                  current_outputs: [],
                  timestamp: now,
                },
              ],
            ],
          },
        };
        if (this.runningSid !== null) this.hub.send(this.runningSid, 'execution_error', result.status.messages[1][1]);
      }
      if (this.epoch !== epoch) return;
      this.busy.push({ promptId: item[1], start, end: Date.now() });
      if (this.busy.length > 100000) this.busy.splice(0, this.busy.length - 100000);
      if (this.history.size >= MAX_HISTORY) this.history.delete(this.history.keys().next().value as string);
      this.history.delete(item[1]);
      this.history.set(item[1], { prompt: item, ...result });
      this.running = null;
      this.runningNode = null;
      this.broadcastStatus();
      const sid = this.runningSid;
      this.runningSid = null;
      if (sid !== null) this.hub.send(sid, 'executing', { node: null, prompt_id: item[1] });
    }
  }

  // ---------------------------------------------------------------- helpers

  private features(): Record<string, unknown> {
    return { supports_preview_metadata: true, max_upload_size: this.maxUpload };
  }

  private objectInfo(): ObjectInfo {
    const key = this.folders.listInputFiles().join('\0');
    if (this.objectInfoCache?.key !== key) this.objectInfoCache = { key, info: buildObjectInfo(this.folders) };
    return this.objectInfoCache.info;
  }

  private historyJson(id: string, rec: HistoryRecord): unknown {
    return { prompt: rec.prompt, outputs: rec.outputs, status: rec.status, meta: rec.meta };
  }

  // ---------------------------------------------------------------- HTTP

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = pyJson(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private empty(res: http.ServerResponse, status = 200, text = ''): void {
    res.writeHead(status, text ? { 'Content-Type': 'text/plain; charset=utf-8' } : { 'Content-Length': 0 });
    res.end(text);
  }

  private async body(req: http.IncomingMessage): Promise<Buffer> {
    return readBody(req, this.maxUpload);
  }

  private async jsonBody(req: http.IncomingMessage): Promise<unknown> {
    const buf = await this.body(req);
    return parseOrdered(buf.toString('utf8'));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    let p = url.pathname;
    if (p.startsWith('/api/')) p = p.slice(4);
    const method = req.method ?? 'GET';
    if (originRefused(req.headers.host, req.headers.origin)) return this.empty(res, 403);
    if (method === 'OPTIONS') return this.empty(res);
    if (method === 'GET' && this.takeEndless(p)) return this.streamForever(p, res);
    try {
      await this.route(method, p, url, req, res);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        const multipart = (req.headers['content-type'] ?? '').startsWith('multipart/');
        this.empty(
          res,
          413,
          multipart ? `Maximum request body size ${e.limit} exceeded.` : `Maximum request body size ${e.limit} exceeded, actual body size ${e.actual}`,
        );
        return;
      }
      if (e instanceof HttpError) {
        this.empty(res, e.status, e.body);
        return;
      }
      if (e instanceof JsonSyntaxError || e instanceof PromptShapeError) {
        this.empty(res, 500, '500 Internal Server Error\n\nServer got itself in trouble');
        return;
      }
      throw e;
    }
  }

  private async route(
    method: string,
    p: string,
    url: URL,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    if (method === 'POST' && p === '/prompt') return this.postPrompt(req, res);
    if (method === 'GET' && p === '/prompt') return this.json(res, 200, { exec_info: { queue_remaining: this.queueRemaining() } });
    if (method === 'GET' && p === '/queue') {
      return this.json(res, 200, { queue_running: this.running ? [this.running] : [], queue_pending: this.pending });
    }
    if (method === 'POST' && p === '/queue') {
      const body = await this.jsonBody(req);
      if (!isObject(body)) throw new HttpError(500, '500 Internal Server Error\n\nServer got itself in trouble');
      if (body.clear) {
        this.pending = [];
        this.broadcastStatus();
      }
      if (Array.isArray(body.delete)) {
        for (const id of body.delete) {
          const idx = this.pending.findIndex((it) => it[1] === id);
          if (idx >= 0) {
            this.pending.splice(idx, 1);
            this.broadcastStatus();
          }
        }
      }
      return this.empty(res);
    }
    if (method === 'POST' && p === '/interrupt') {
      const buf = await this.body(req);
      let body: unknown = {};
      try {
        body = JSON.parse(buf.toString('utf8'));
      } catch {
        body = {};
      }
      const target = isObject(body) ? body.prompt_id : undefined;
      if (this.oldStyleInterrupt) {
        // ComfyUI before targeted interrupt: prompt_id is ignored, whatever runs is stopped.
        if (this.running) this.control.interrupt();
      } else if (target) {
        if (this.running && this.running[1] === target) this.control.interrupt();
      } else if (this.running) {
        this.control.interrupt();
      }
      return this.empty(res);
    }
    if (method === 'POST' && p === '/free') {
      const body = await this.jsonBody(req);
      if (isObject(body) && body.free_memory) this.cache.clear();
      if (isObject(body) && (body.unload_models || body.free_memory)) this.loadedModels.clear();
      return this.empty(res);
    }
    if (method === 'GET' && p === '/history') {
      const mi = url.searchParams.get('max_items');
      const off = url.searchParams.get('offset');
      const maxItems = mi === null ? null : parseIntStrict(mi);
      let offset = off === null ? -1 : parseIntStrict(off);
      const keys = [...this.history.keys()];
      if (offset < 0 && maxItems !== null) offset = keys.length - maxItems;
      let i = 0;
      let count = 0;
      const entries: Array<[string, unknown]> = [];
      for (const k of keys) {
        if (i >= offset) {
          entries.push([k, this.historyJson(k, this.history.get(k)!)]);
          count++;
          if (maxItems !== null && count >= maxItems) break;
        }
        i++;
      }
      return this.json(res, 200, orderedEntries(entries));
    }
    if (method === 'GET' && p.startsWith('/history/')) {
      const id = decodeURIComponent(p.slice('/history/'.length));
      const rec = this.history.get(id);
      return this.json(res, 200, rec ? orderedEntries([[id, this.historyJson(id, rec)]]) : {});
    }
    if (method === 'POST' && p === '/history') {
      const body = await this.jsonBody(req);
      if (isObject(body)) {
        if (body.clear) this.history.clear();
        if (Array.isArray(body.delete)) for (const id of body.delete) this.history.delete(String(id));
      }
      return this.empty(res);
    }
    if (method === 'GET' && p === '/view') return this.view(url, res);
    if (method === 'POST' && p === '/upload/image') return this.upload(req, res);
    if (method === 'GET' && p === '/object_info') return this.json(res, 200, this.objectInfo());
    if (method === 'GET' && p.startsWith('/object_info/')) {
      const cls = decodeURIComponent(p.slice('/object_info/'.length));
      const info = this.objectInfo();
      return this.json(res, 200, Object.prototype.hasOwnProperty.call(info, cls) ? orderedEntries([[cls, info[cls]]]) : {});
    }
    if (method === 'GET' && p === '/system_stats') return this.json(res, 200, this.systemStats());
    if (method === 'GET' && p === '/features') return this.json(res, 200, this.features());
    if (method === 'GET' && p === '/models') return this.json(res, 200, MODEL_FOLDER_KINDS);
    if (method === 'GET' && p.startsWith('/models/')) {
      const folder = decodeURIComponent(p.slice('/models/'.length));
      if (!MODEL_FOLDER_KINDS.includes(folder)) return this.empty(res, 404);
      return this.json(res, 200, [...(this.folders.models[folder] ?? [])].sort());
    }
    if (method === 'GET' && (p === '/embeddings' || p === '/extensions')) return this.json(res, 200, []);
    return this.empty(res, 404, '404: Not Found');
  }

  private takeEndless(p: string): boolean {
    for (const [prefix, n] of this.endless) {
      if (!p.startsWith(prefix)) continue;
      if (n <= 1) this.endless.delete(prefix);
      else this.endless.set(prefix, n - 1);
      return true;
    }
    return false;
  }

  /** endlessBodyNext(): a 200 whose body never ends (until the client hangs up or the host is killed). */
  private streamForever(p: string, res: http.ServerResponse): void {
    const image = p.startsWith('/view');
    res.writeHead(200, { 'Content-Type': image ? 'image/png' : 'application/json; charset=utf-8' });
    const block = Buffer.alloc(64 * 1024, image ? 0 : 0x20);
    res.write(image ? Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) : '{"padding": "');
    const pump = () => {
      while (!res.destroyed && !res.writableEnded) {
        if (!res.write(block)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  }

  private systemStats(): unknown {
    const total = os.totalmem();
    const free = os.freemem();
    return {
      system: {
        os: 'posix',
        ram_total: total,
        ram_free: free,
        comfyui_version: '0.3.64',
        required_frontend_version: '1.27.10',
        installed_templates_version: null,
        required_templates_version: '0.1.95',
        python_version: '3.11.7 (Easel simulator)',
        pytorch_version: 'none (simulated)',
        embedded_python: false,
        argv: ['easel-simulator', '--listen', this.bindHost, '--port', String(this.boundPort), '--preview-method', this.previews ? 'auto' : 'none'],
      },
      devices: [
        {
          name: 'Easel simulator (simulated, no GPU)',
          type: 'cpu',
          index: null,
          vram_total: total,
          vram_free: free,
          torch_vram_total: total,
          torch_vram_free: free,
        },
      ],
    };
  }

  private async postPrompt(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await this.jsonBody(req);
    if (!isObject(body)) throw new HttpError(500, '500 Internal Server Error\n\nServer got itself in trouble');
    let number: number;
    if ('number' in body) {
      number = Number(body.number);
      if (Number.isNaN(number)) throw new HttpError(500, '500 Internal Server Error\n\nServer got itself in trouble');
    } else {
      number = this.counter;
      if ('front' in body && body.front) number = -number;
      this.counter++;
    }
    if (!('prompt' in body)) {
      return this.json(res, 400, {
        error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} },
        node_errors: {},
      });
    }
    const echo = this.echoArmed;
    this.echoArmed = null;
    if (echo === 'prompt-400') {
      // A host (or a custom node / proxy in front of it) that puts the request it got into its error.
      const seen = headersRepr(req.headers);
      return this.json(res, 400, {
        error: {
          type: 'request_rejected',
          message: `Rejected request ${seen}`,
          details: `POST /prompt with headers ${seen}`,
          extra_info: { headers: { ...req.headers } },
        },
        node_errors: {},
      });
    }
    if (echo === 'execution-error') {
      const seen = headersRepr(req.headers);
      this.failArmed = {
        exceptionType: 'RuntimeError',
        message: `remote call failed; request headers were ${seen}`,
        traceback: [
          'Traceback (most recent call last):\n',
          `  File "custom_nodes/remote.py", line 12, in call\n    requests.post(url, headers=${seen})\n`,
          `RuntimeError: ${seen}\n`,
        ],
      };
    }
    const prompt = body.prompt;
    const promptId = 'prompt_id' in body ? pyStr(body.prompt_id) : randomUUID();
    const valid = await validatePrompt(prompt, body.partial_execution_targets, this.objectInfo(), this.folders);
    let extraData: Record<string, unknown> = {};
    if ('extra_data' in body && isObject(body.extra_data)) extraData = body.extra_data;
    if ('client_id' in body) extraData.client_id = body.client_id;
    if (valid.ok) {
      const item: QueueItem = [number, promptId, prompt as Record<string, unknown>, extraData, valid.outputs];
      this.submitted.push(promptId);
      // Like the real server, the prompt is queued (and may start) before the response is written,
      // so its first WebSocket events can arrive before the HTTP answer.
      this.enqueue(item);
      this.json(res, 200, { prompt_id: promptId, number, node_errors: valid.nodeErrors });
      return;
    }
    return this.json(res, 400, { error: valid.error, node_errors: valid.nodeErrors });
  }

  private async view(url: URL, res: http.ServerResponse): Promise<void> {
    const q = url.searchParams;
    const raw = q.get('filename');
    if (raw === null) return this.empty(res, 404);
    const ann = this.folders.annotated(raw);
    const filename = ann.name;
    if (!filename) return this.empty(res, 400);
    if (filename[0] === '/' || filename.includes('..')) return this.empty(res, 400);
    let dir = ann.dir ?? this.folders.dirByType(q.get('type') ?? 'output');
    if (dir === null) return this.empty(res, 400);
    const sub = q.get('subfolder');
    if (sub !== null) {
      const full = path.resolve(dir, sub);
      if (!isInside(dir, full)) return this.empty(res, 403);
      dir = full;
    }
    const base = path.basename(filename);
    const file = path.join(dir, base);
    let stat: fs.Stats | null = null;
    try {
      stat = fs.statSync(file);
    } catch {
      stat = null;
    }
    if (!stat || !stat.isFile()) return this.empty(res, 404);
    const disposition = `filename="${base}"`;
    const channel = q.get('channel');
    if (q.has('preview')) {
      const info = (q.get('preview') ?? '').split(';');
      let format = info[0];
      if ((format !== 'webp' && format !== 'jpeg') || (channel ?? '').includes('a')) format = 'webp';
      const last = info[info.length - 1];
      const quality = /^\d+$/.test(last) ? Math.min(100, Math.max(1, Number(last))) : 90;
      let img = sharp(file);
      if (format === 'jpeg' || channel === 'rgb') img = img.removeAlpha();
      const out = format === 'jpeg' ? await img.jpeg({ quality }).toBuffer() : await img.webp({ quality }).toBuffer();
      res.writeHead(200, { 'Content-Type': `image/${format}`, 'Content-Disposition': disposition, 'Content-Length': out.length });
      res.end(out);
      return;
    }
    if (channel === 'rgb') {
      const out = await sharp(file).removeAlpha().png().toBuffer();
      res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Disposition': disposition, 'Content-Length': out.length });
      res.end(out);
      return;
    }
    if (channel === 'a') {
      const meta = await sharp(file).metadata();
      const { width = 1, height = 1 } = meta;
      let alpha: Buffer;
      if (meta.hasAlpha) alpha = await sharp(file).extractChannel('alpha').raw().toBuffer();
      else alpha = Buffer.alloc(width * height, 255);
      const rgba = Buffer.alloc(width * height * 4);
      for (let k = 0; k < width * height; k++) rgba[k * 4 + 3] = alpha[k];
      const out = await sharp(rgba, { raw: { width, height, channels: 4 } }).png().toBuffer();
      res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Disposition': disposition, 'Content-Length': out.length });
      res.end(out);
      return;
    }
    let type = MIME[path.extname(base).toLowerCase()] ?? 'application/octet-stream';
    if (['text/html', 'text/javascript', 'text/css', 'application/xhtml+xml'].includes(type)) type = 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type, 'Content-Disposition': disposition, 'Content-Length': stat.size });
    fs.createReadStream(file).pipe(res);
  }

  private async upload(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const buf = await this.body(req);
    const ct = req.headers['content-type'] ?? '';
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(buf.buffer, buf.byteOffset, buf.length) as unknown as BodyInit, { headers: { 'content-type': ct } }).formData();
    } catch {
      throw new HttpError(500, '500 Internal Server Error\n\nServer got itself in trouble');
    }
    const image = form.get('image');
    const overwrite = form.get('overwrite');
    const typeField = form.get('type');
    const type = typeof typeField === 'string' ? typeField : 'input';
    const dir = this.folders.dirByType(type);
    if (dir === null) throw new HttpError(500, '500 Internal Server Error\n\nServer got itself in trouble');
    if (!image || typeof image === 'string') return this.empty(res, 400);
    let filename = (image as File).name;
    if (!filename) return this.empty(res, 400);
    const subField = form.get('subfolder');
    const subfolder = typeof subField === 'string' ? subField : '';
    const folder = path.resolve(dir, path.normalize(subfolder || '.'));
    let filepath = path.resolve(folder, filename);
    if (!isInside(dir, filepath)) return this.empty(res, 400);
    fs.mkdirSync(folder, { recursive: true });
    const bytes = Buffer.from(await (image as File).arrayBuffer());
    let duplicate = false;
    if (!(overwrite === 'true' || overwrite === '1')) {
      const ext = path.extname(filename);
      const stem = filename.slice(0, filename.length - ext.length);
      const mine = createHash('sha256').update(bytes).digest('hex');
      let i = 1;
      while (fs.existsSync(filepath)) {
        const theirs = createHash('sha256').update(fs.readFileSync(filepath)).digest('hex');
        if (theirs === mine) {
          duplicate = true;
          break;
        }
        filename = `${stem} (${i})${ext}`;
        filepath = path.join(folder, filename);
        i++;
      }
    }
    if (!duplicate && !this.uploadsVanish) fs.writeFileSync(filepath, bytes);
    if (this.uploadsVanish) fs.rmSync(filepath, { force: true });
    return this.json(res, 200, { name: filename, subfolder, type });
  }
}

/** Request headers the way a Python host would print them: {'Authorization': 'Bearer …', …}. */
function headersRepr(headers: http.IncomingHttpHeaders): string {
  const parts = Object.entries(headers).map(([k, v]) => `'${k.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase())}': '${String(v)}'`);
  return `{${parts.join(', ')}}`;
}

function parseIntStrict(s: string): number {
  const t = s.trim();
  if (!/^[+-]?\d+$/.test(t)) throw new HttpError(500, '500 Internal Server Error\n\nServer got itself in trouble');
  return Number(t);
}

function orderedEntries(entries: Array<[string, unknown]>): Record<string, unknown> {
  return orderedObject(entries);
}
