/**
 * ComfyClient: everything Easel says to one ComfyUI host.
 *
 * One persistent WebSocket with one stable clientId carries every prompt's events (a socket per job
 * would starve queued jobs of events). Prompts are submitted with our own lowercase UUID, so events
 * that arrive before the HTTP answer are kept. When the socket was down, or a prompt has been quiet
 * for long, the client asks GET /queue and GET /history/{id}: finished -> settled from history,
 * still queued -> keep waiting, in neither -> PromptLostError. No prompt waits forever.
 */
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import sharp from 'sharp';
import { MAX_IMAGE_PIXELS } from '../images/pixel-limit.ts';
import { IMAGE_ANSWER_MAX_BYTES, OBJECT_INFO_MAX_BYTES } from './answer-caps.ts';
import { decodeBinaryFrame } from './binary-frames.ts';
import {
  ComfyError,
  HostImageTooLargeError,
  HostUnavailableError,
  UploadTooLargeError,
  WorkflowRejectedError,
  type WorkflowProblem,
} from './errors.ts';
import { DEFAULT_TRANSFER_TIMEOUT_MS, HostHttp, HostRequestError } from './http.ts';
import { NodeCatalogue, type RawObjectInfo } from './node-catalogue.ts';
import { describeNodeErrors, missingInputImages, rejectionFromBody } from './problems.ts';
import { PromptTracker, type PromptResult, type PromptRun } from './prompt-run.ts';
import { HostSocket } from './socket.ts';
import {
  MAX_SEED,
  type HistoryEntry,
  type HostConfig,
  type ImageRef,
  type QueueState,
  type SystemStats,
  type Workflow,
} from './types.ts';
import { parseHistory, parseQueue, parseSystemStats } from './wire.ts';

export type { PromptRun, PromptResult } from './prompt-run.ts';
export { HostRequestError } from './http.ts';

export interface ComfyClientOptions {
  /** Consider the socket dead when nothing arrives for this long AND a GET /prompt probe fails (default 30_000). */
  livenessMs?: number;
  /** Reconnect backoff: first delay and cap, ms (defaults 500 and 15_000), with jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Ask for preview frames metadata (feature_flags supports_preview_metadata). Default true. */
  previewMetadata?: boolean;
  /** How long a liveness ping may stay unanswered before the socket is replaced (default min(livenessMs, 10_000)). */
  pongTimeoutMs?: number;
  /** In-flight prompts of a host that stays unreachable this long reject with HostUnavailableError (default 120_000). */
  giveUpMs?: number;
  /**
   * How often to ask the host about attached prompts, whose events go to the socket of the process
   * that submitted them (default 1_000).
   */
  attachPollMs?: number;
}

/** An image a workflow loads, with a way to read its bytes again (for a re-upload after a host lost it). */
export interface ReuploadableInput {
  /** The value uploadImage() returned and the workflow's LoadImage uses. */
  value: string;
  ext?: string;
  read: () => Promise<Buffer>;
}

export interface SubmitOptions {
  promptId?: string;
  extraPngInfo?: Record<string, unknown>;
  /**
   * The uploaded images the workflow loads. When the host answers that one of them is missing (it
   * restarted without its input folder, or cleaned it), they are uploaded again and the prompt is
   * submitted once more; a second "missing" fails for good.
   */
  inputs?: ReuploadableInput[];
}

/** The client was closed while a prompt was still in flight (the prompt may still run on the host). */
export class ClientClosedError extends ComfyError {
  constructor(host: string) {
    super(`the connection to ComfyUI host ${host} was closed by Easel before the prompt finished`, 'client_closed');
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SEED_INPUTS = new Set(['seed', 'noise_seed']);
const MIME_BY_EXT: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
};

/** A seed ComfyUI and JavaScript agree on: an integer in 0..MAX_SEED (2^53 - 1). */
export function clampSeed(seed: number): number {
  if (!Number.isFinite(seed)) return Number.isNaN(seed) ? 0 : seed > 0 ? MAX_SEED : 0;
  const t = Math.trunc(seed);
  return t < 0 ? 0 : t > MAX_SEED ? MAX_SEED : t;
}

/** A copy of the workflow with every numeric seed input clamped into 0..MAX_SEED. */
export function withSafeSeeds(workflow: Workflow): Workflow {
  const out: Workflow = {};
  for (const [id, node] of Object.entries(workflow)) {
    const inputs: Record<string, unknown> = { ...(node?.inputs ?? {}) };
    for (const [k, v] of Object.entries(inputs)) {
      if (SEED_INPUTS.has(k) && typeof v === 'number') inputs[k] = clampSeed(v);
    }
    out[id] = { ...node, inputs };
  }
  return out;
}

function multipart(fields: Array<{ name: string; value: string } | { name: string; filename: string; contentType: string; data: Buffer }>): {
  body: Buffer;
  contentType: string;
} {
  const boundary = `----easel${randomUUID().replace(/-/g, '')}`;
  const parts: Buffer[] = [];
  for (const f of fields) {
    if ('data' in f) {
      parts.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"; filename="${f.filename}"\r\nContent-Type: ${f.contentType}\r\n\r\n`,
        ),
        f.data,
        Buffer.from('\r\n'),
      );
    } else {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"\r\n\r\n${f.value}\r\n`));
    }
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

export class ComfyClient extends EventEmitter {
  readonly clientId: string = randomUUID();
  private readonly http: HostHttp;
  private readonly socket: HostSocket;
  private readonly livenessMs: number;
  private readonly giveUpMs: number;
  private readonly attachPollMs: number;
  private readonly trackers = new Map<string, PromptTracker>();
  /** Prompt ids we do not track (yet): kept briefly in case an old host renames ours. */
  private readonly orphans = new Map<string, { at: number; msgs: Array<[string, Record<string, unknown>]> }>();
  private readonly uploaded = new Map<string, string>();
  private readonly uploading = new Map<string, Promise<string>>();
  private catalogue: Promise<NodeCatalogue> | undefined;
  private catalogueValue: NodeCatalogue | undefined;
  private runningPromptId: string | undefined;
  private started = false;
  private closed = false;
  private everOpened = false;
  private reportedDown = false;
  private reconciling: Promise<void> | undefined;
  private maintenance: NodeJS.Timeout | undefined;
  private serverMaxUpload: number | undefined;
  /** What system_stats said last (version, devices): a change means another host or a restart. */
  private identity: string | undefined;

  constructor(
    readonly host: HostConfig,
    options: ComfyClientOptions = {},
  ) {
    super();
    this.http = new HostHttp(host);
    this.livenessMs = Math.max(50, options.livenessMs ?? 30_000);
    this.giveUpMs = options.giveUpMs ?? 120_000;
    this.attachPollMs = Math.max(50, options.attachPollMs ?? 1_000);
    this.socket = new HostSocket({
      baseUrl: this.http.baseUrl,
      clientId: this.clientId,
      headers: this.http.authHeaders,
      connectTimeoutMs: this.http.defaultTimeoutMs,
      livenessMs: this.livenessMs,
      pongTimeoutMs: options.pongTimeoutMs ?? Math.min(this.livenessMs, 10_000),
      backoff: { initialMs: options.backoff?.initialMs ?? 500, maxMs: options.backoff?.maxMs ?? 15_000 },
      previewMetadata: options.previewMetadata ?? true,
      probe: () => this.queueRemaining().then(
        () => true,
        () => false,
      ),
      redact: (t) => this.http.redact(t),
    });
    this.socket.on('open', () => this.onOpen());
    this.socket.on('down', (reason: string) => this.onDown(reason));
    this.socket.on('failed', (reason: string) => {
      if (!this.reportedDown) {
        this.reportedDown = true;
        this.emit('down', reason);
      }
    });
    this.socket.on('json', (msg: { type?: unknown; data?: unknown }) => this.onJson(msg));
    this.socket.on('binary', (buf: Buffer) => this.onBinary(buf));
    // EventEmitter throws on an unhandled 'error'; we never emit one, but keep it safe for listeners.
    this.on('error', () => undefined);
  }

  /** WebSocket up. */
  get connected(): boolean {
    return this.socket.isOpen;
  }

  /** The largest upload the host announced (feature_flags max_upload_size), when known. */
  get maxUploadBytes(): number | undefined {
    return this.serverMaxUpload;
  }

  /** Open the socket (and keep it open). Resolves when open; rejects HostUnavailableError. */
  async connect(): Promise<void> {
    if (this.closed) throw this.http.unavailable('the client was closed');
    if (!this.started) {
      this.started = true;
      this.socket.start();
      this.startMaintenance();
    } else {
      this.socket.kick();
    }
    if (this.socket.isOpen) return;
    const failure = this.socket.failure;
    if (failure?.auth) throw this.http.unavailable(failure.reason); // retrying now cannot help
    try {
      await this.socket.waitOpen();
    } catch (err) {
      throw this.http.unavailable((err as Error).message);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.maintenance);
    await this.socket.stop();
    for (const t of this.trackers.values()) t.abandon(new ClientClosedError(this.host.name));
    this.trackers.clear();
    await this.http.close();
  }

  // ---------------------------------------------------------------- uploads

  /**
   * Upload an input image named `${prefix}-${sha256}.${ext}` and return the value for LoadImage.
   * Each distinct image goes to a host once; if the host keeps a different file under that name it
   * answers another name ("x (1).png"), and that answered name is what we use.
   */
  async uploadImage(bytes: Buffer, opts: { ext?: string; prefix?: string } = {}): Promise<string> {
    if (this.closed) throw this.http.unavailable('the client was closed');
    const ext = (opts.ext ?? 'png').replace(/^\./, '').toLowerCase();
    if (!/^[a-z0-9]{1,5}$/.test(ext)) throw new TypeError(`"${opts.ext}" is not a file extension`);
    const prefix = (opts.prefix ?? 'easel').replace(/[^A-Za-z0-9_-]/g, '_') || 'easel';
    const sha = createHash('sha256').update(bytes).digest('hex');
    const name = `${prefix}-${sha}.${ext}`;
    const done = this.uploaded.get(name);
    if (done) return done;
    const inFlight = this.uploading.get(name);
    if (inFlight) return inFlight;
    const p = this.doUpload(bytes, name, ext).finally(() => this.uploading.delete(name));
    this.uploading.set(name, p);
    const value = await p;
    this.uploaded.set(name, value);
    return value;
  }

  /**
   * Upload the missing images again (the host lost them). Returns how to rewrite the workflow (the host
   * may store them under another name), or undefined when one of them is not ours to re-upload.
   */
  private async reupload(
    missing: string[],
    inputs: ReuploadableInput[],
  ): Promise<{ apply: (wf: Workflow) => Workflow; inputs: ReuploadableInput[] } | undefined> {
    const renamed = new Map<string, string>();
    for (const value of missing) {
      const source = inputs.find((i) => i.value === value);
      if (!source) return undefined;
      renamed.set(value, await this.uploadImage(await source.read(), source.ext ? { ext: source.ext } : {}));
    }
    return {
      apply: (wf) => {
        const out: Workflow = {};
        for (const [id, node] of Object.entries(wf)) {
          const ins: Record<string, unknown> = { ...(node?.inputs ?? {}) };
          for (const [k, v] of Object.entries(ins)) if (typeof v === 'string' && renamed.has(v)) ins[k] = renamed.get(v);
          out[id] = { ...node, inputs: ins };
        }
        return out;
      },
      inputs: inputs.map((i) => (renamed.has(i.value) ? { ...i, value: renamed.get(i.value)! } : i)),
    };
  }

  /** Upload these inputs again for real (the host lost them while a prompt waited); values usually stay the same. */
  async reuploadInputs(inputs: ReuploadableInput[]): Promise<ReuploadableInput[]> {
    const out: ReuploadableInput[] = [];
    for (const i of inputs) {
      this.forgetUpload(i.value);
      out.push({ ...i, value: await this.uploadImage(await i.read(), i.ext ? { ext: i.ext } : {}) });
    }
    return out;
  }

  /** Forget every upload: the host restarted, or is another host now (its input folder may be empty). */
  forgetAllUploads(): void {
    this.uploaded.clear();
  }

  /** Forget that an upload is on the host (e.g. the host said the LoadImage file is missing). */
  forgetUpload(value: string): void {
    for (const [name, v] of this.uploaded) if (v === value || name === value) this.uploaded.delete(name);
  }

  private async doUpload(bytes: Buffer, name: string, ext: string): Promise<string> {
    const { body, contentType } = multipart([
      { name: 'image', filename: name, contentType: MIME_BY_EXT[ext] ?? 'application/octet-stream', data: bytes },
      { name: 'type', value: 'input' },
      { name: 'subfolder', value: '' },
    ]);
    const res = await this.http.call('POST', '/upload/image', {
      body,
      contentType,
      timeoutMs: Math.max(this.http.defaultTimeoutMs, DEFAULT_TRANSFER_TIMEOUT_MS),
    });
    // 413 is plain text: classify it before any JSON parsing.
    if (res.status === 413) {
      const limit = /size (\d+(?:\.\d+)?) exceeded/.exec(this.http.text(res))?.[1];
      throw new UploadTooLargeError(limit ? Number(limit) : this.serverMaxUpload);
    }
    if (res.status !== 200) throw this.http.unexpected('POST', '/upload/image', res);
    const answer = this.http.parse<{ name?: unknown; subfolder?: unknown }>('POST', '/upload/image', res);
    if (typeof answer.name !== 'string' || !answer.name) {
      throw new HostRequestError(this.host.name, 200, `ComfyUI host ${this.host.name} did not say where it stored the upload`);
    }
    const sub = typeof answer.subfolder === 'string' ? answer.subfolder : '';
    return sub ? `${sub}/${answer.name}` : answer.name;
  }

  // ---------------------------------------------------------------- prompts

  /**
   * Queue a workflow. Rejects WorkflowRejectedError (400, problems in plain words naming node, input
   * and reason) or HostUnavailableError. A 200 that still drops some outputs resolves with `warnings`.
   */
  async submit(workflow: Workflow, opts: SubmitOptions = {}): Promise<PromptRun> {
    return this.submitOnce(workflow, opts, true);
  }

  private async submitOnce(workflow: Workflow, opts: SubmitOptions, mayReupload: boolean): Promise<PromptRun> {
    if (this.closed) throw this.http.unavailable('the client was closed');
    if (!this.started) await this.connect();
    const promptId = (opts.promptId ?? randomUUID()).toLowerCase();
    if (!UUID_RE.test(promptId)) throw new TypeError(`prompt id "${opts.promptId}" is not a UUID`);
    if (this.trackers.has(promptId)) throw new TypeError(`prompt ${promptId} was already submitted`);
    const wf = withSafeSeeds(workflow);
    const tracker = new PromptTracker(promptId, wf, (t) => void this.confirm(t));
    this.trackers.set(promptId, tracker);
    const extra_data: Record<string, unknown> = {};
    if (opts.extraPngInfo) extra_data.extra_pnginfo = opts.extraPngInfo;

    let res;
    try {
      res = await this.http.call('POST', '/prompt', {
        json: { prompt: wf, client_id: this.clientId, prompt_id: promptId, extra_data },
      });
    } catch (err) {
      // The host may have queued it before the answer got lost: never submit twice, never lose it.
      if (err instanceof HostUnavailableError && (await this.hostHasPrompt(tracker))) return tracker;
      this.trackers.delete(promptId);
      throw err;
    }
    if (res.status === 413) {
      this.trackers.delete(promptId);
      throw new WorkflowRejectedError([
        { nodeId: '', type: 'request_too_large', reason: 'the workflow is larger than the host accepts (HTTP 413)' },
      ]);
    }
    if (res.status === 400) {
      this.trackers.delete(promptId);
      // Redacted before anything reads it: a host may echo our Authorization header in its error.
      const text = this.http.text(res);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = { error: { type: 'bad_request', message: `HTTP 400 ${text.slice(0, 200)}` } };
      }
      const rejection = rejectionFromBody(body, wf, this.catalogueValue);
      const missing = missingInputImages(rejection.problems, wf);
      for (const m of missing) this.forgetUpload(m);
      if (missing.length === 0) throw rejection;
      if (!mayReupload) {
        throw new WorkflowRejectedError(
          rejection.problems.map((p) =>
            missing.some((m) => p.reason.includes(m) || p.input === 'image')
              ? { ...p, reason: `${p.reason}, even after Easel uploaded it again (is the host's input folder writable?)` }
              : p,
          ),
        );
      }
      const again = await this.reupload(missing, opts.inputs ?? []);
      if (!again) throw rejection;
      return this.submitOnce(again.apply(workflow), { ...opts, inputs: again.inputs }, false);
    }
    if (res.status !== 200) {
      this.trackers.delete(promptId);
      throw this.http.unexpected('POST', '/prompt', res);
    }
    const answer = this.http.parse<{ prompt_id?: unknown; number?: unknown; node_errors?: unknown }>('POST', '/prompt', res);
    const answeredId = typeof answer.prompt_id === 'string' ? answer.prompt_id : promptId;
    if (answeredId !== promptId) {
      // An old host ignored our prompt_id: follow its id, including events already seen for it.
      this.trackers.delete(promptId);
      tracker.promptId = answeredId;
      this.trackers.set(answeredId, tracker);
      for (const [type, data] of this.orphans.get(answeredId)?.msgs ?? []) tracker.handle(type, data);
      this.orphans.delete(answeredId);
    }
    const warnings: WorkflowProblem[] = describeNodeErrors(answer.node_errors, wf, this.catalogueValue);
    for (const missing of missingInputImages(warnings)) this.forgetUpload(missing);
    tracker.acknowledge(typeof answer.number === 'number' ? answer.number : -1, warnings);
    if (tracker.settled) this.trackers.delete(tracker.promptId);
    return tracker;
  }

  /**
   * Follow a prompt submitted earlier (e.g. by a previous process). Same semantics as submit()'s run:
   * settles from /history if already finished, rejects PromptLostError if the host does not know it.
   */
  attach(promptId: string): PromptRun {
    const id = promptId.toLowerCase();
    const existing = this.trackers.get(id);
    if (existing) return existing;
    const tracker = new PromptTracker(id, undefined, (t) => void this.confirm(t));
    tracker.markAttached();
    if (this.closed) {
      tracker.abandon(new ClientClosedError(this.host.name));
      return tracker;
    }
    this.trackers.set(id, tracker);
    for (const [type, data] of this.orphans.get(id)?.msgs ?? []) tracker.handle(type, data);
    this.orphans.delete(id);
    if (tracker.settled) {
      this.trackers.delete(id);
      return tracker;
    }
    if (!this.started) this.connect().catch(() => undefined);
    void this.reconcile([tracker], 'lost');
    return tracker;
  }

  /**
   * Stop one prompt of ours, and only that one. GET /queue says where it is: still waiting -> removed
   * from the queue (POST /queue {delete}); running -> POST /interrupt {prompt_id}; in neither -> it
   * already ended. /interrupt is sent only for a prompt the host reports as running, because a
   * ComfyUI from before targeted interrupt ignores prompt_id and stops whatever runs — possibly
   * another user's job. There is deliberately no "interrupt whatever runs".
   */
  async interrupt(promptId: string): Promise<void> {
    const queue = await this.queue();
    if (queue.pending.some((i) => i.promptId === promptId)) {
      await this.expectOk('POST', '/queue', { json: { delete: [promptId] } });
    } else if (queue.running.some((i) => i.promptId === promptId) && !this.movedOnFrom(promptId)) {
      await this.expectOk('POST', '/interrupt', { json: { prompt_id: promptId } });
    }
    const t = this.trackers.get(promptId);
    if (t) await this.reconcile([t], 'cancelled');
  }

  /** The socket already reports another of our prompts running: this one ended since /queue answered. */
  private movedOnFrom(promptId: string): boolean {
    return this.socket.isOpen && this.runningPromptId !== undefined && this.runningPromptId !== promptId;
  }

  /** Remove waiting prompts (POST /queue {delete}); their runs reject PromptInterruptedError. */
  async deletePending(promptIds: string[]): Promise<void> {
    if (promptIds.length === 0) return;
    await this.expectOk('POST', '/queue', { json: { delete: promptIds } });
    const ts = promptIds.map((id) => this.trackers.get(id)).filter((t): t is PromptTracker => !!t);
    if (ts.length > 0) await this.reconcile(ts, 'cancelled');
  }

  // ---------------------------------------------------------------- reads

  async queue(): Promise<QueueState> {
    return parseQueue(await this.http.json('GET', '/queue'));
  }

  async queueRemaining(): Promise<number> {
    const body = await this.http.json<{ exec_info?: { queue_remaining?: unknown } }>('GET', '/prompt');
    const n = Number(body?.exec_info?.queue_remaining);
    if (!Number.isFinite(n)) {
      throw new HostRequestError(this.host.name, 200, `ComfyUI host ${this.host.name} answered GET /prompt without a queue size`);
    }
    return n;
  }

  async history(promptId: string): Promise<HistoryEntry | null> {
    const body = await this.http.json('GET', `/history/${encodeURIComponent(promptId)}`);
    const entry = parseHistory(promptId, body);
    if (!entry) return null;
    const { number: _n, ...rest } = entry;
    return rest;
  }

  async systemStats(): Promise<SystemStats> {
    const stats = parseSystemStats(await this.http.json('GET', '/system_stats'));
    const identity = JSON.stringify([
      stats.comfyuiVersion,
      stats.os,
      stats.pytorchVersion,
      stats.devices.map((d) => [d.name, d.type, d.vramTotal]),
    ]);
    // Same URL, other host (or a reinstalled one): what we uploaded before is not there.
    if (this.identity !== undefined && this.identity !== identity) this.forgetAllUploads();
    this.identity = identity;
    return stats;
  }

  /** The host's node definitions, cached until refresh or reconnect. */
  async objectInfo(opts: { refresh?: boolean } = {}): Promise<NodeCatalogue> {
    if (opts.refresh || !this.catalogue) {
      const p = this.http
        .json<RawObjectInfo>('GET', '/object_info', {
          timeoutMs: Math.max(this.http.defaultTimeoutMs, DEFAULT_TRANSFER_TIMEOUT_MS),
          maxBytes: OBJECT_INFO_MAX_BYTES,
        })
        .then((raw) => {
          const cat = new NodeCatalogue(raw);
          if (this.catalogue === p) this.catalogueValue = cat;
          return cat;
        });
      this.catalogue = p;
      p.catch(() => {
        if (this.catalogue === p) this.catalogue = undefined;
      });
    }
    return this.catalogue;
  }

  /** The bytes of an output (or input/temp) image via GET /view. */
  async view(ref: ImageRef): Promise<Buffer> {
    const res = await this.http.call('GET', '/view', {
      query: { filename: ref.filename, subfolder: ref.subfolder || undefined, type: ref.type },
      timeoutMs: Math.max(this.http.defaultTimeoutMs, DEFAULT_TRANSFER_TIMEOUT_MS),
      maxBytes: IMAGE_ANSWER_MAX_BYTES,
    });
    if (res.status === 404) {
      const where = `${ref.type}${ref.subfolder ? `/${ref.subfolder}` : ''}`;
      throw new HostRequestError(
        this.host.name,
        404,
        `image ${ref.filename} (${where}) is not on ComfyUI host ${this.host.name} (deleted, or a temp file lost in a restart)`,
      );
    }
    if (res.status !== 200) throw this.http.unexpected('GET', '/view', res);
    await this.checkPixels(res.body);
    return res.body;
  }

  /** Refuse an image whose header announces more pixels than Easel decodes (read from the header only). */
  private async checkPixels(bytes: Buffer): Promise<void> {
    let meta;
    try {
      meta = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS }).metadata();
    } catch (err) {
      if (!/pixel limit/i.test((err as Error).message)) return; // not an image sharp knows: later steps say so
      const png = bytes.length >= 24 && bytes.toString('latin1', 12, 16) === 'IHDR';
      throw new HostImageTooLargeError(
        this.host.name,
        png ? bytes.readUInt32BE(16) : undefined,
        png ? bytes.readUInt32BE(20) : undefined,
        MAX_IMAGE_PIXELS,
      );
    }
    const w = meta.width ?? 0;
    const h = (meta.pageHeight && meta.pageHeight > 0 ? meta.pageHeight : meta.height) ?? 0;
    if (w * h > MAX_IMAGE_PIXELS) throw new HostImageTooLargeError(this.host.name, w, h, MAX_IMAGE_PIXELS);
  }

  // ---------------------------------------------------------------- internals

  private async expectOk(method: 'GET' | 'POST', path: string, opts: { json?: unknown }): Promise<void> {
    const res = await this.http.call(method, path, opts);
    if (res.status !== 200) throw this.http.unexpected(method, path, res);
  }

  private onOpen(): void {
    const reconnect = this.everOpened;
    this.everOpened = true;
    this.reportedDown = false;
    if (reconnect) {
      // The host may have restarted: with other models, and without the images we uploaded.
      this.catalogue = undefined;
      this.forgetAllUploads();
    }
    void this.reconcileAll().finally(() => {
      if (this.socket.isOpen) this.emit('up');
    });
  }

  private onDown(reason: string): void {
    this.runningPromptId = undefined;
    for (const t of this.trackers.values()) t.mayHaveMissed = true;
    this.reportedDown = true;
    this.emit('down', reason);
  }

  private onJson(msg: { type?: unknown; data?: unknown }): void {
    const type = typeof msg.type === 'string' ? msg.type : '';
    const data = (msg.data && typeof msg.data === 'object' ? msg.data : {}) as Record<string, unknown>;
    if (type === 'status') {
      const status = data.status as { exec_info?: { queue_remaining?: unknown } } | undefined;
      const n = Number(status?.exec_info?.queue_remaining);
      if (Number.isFinite(n)) this.emit('status', n);
      return;
    }
    if (type === 'feature_flags') {
      const max = Number(data.max_upload_size);
      if (Number.isFinite(max) && max > 0) this.serverMaxUpload = max;
      return;
    }
    const promptId = typeof data.prompt_id === 'string' ? data.prompt_id : undefined;
    if (!promptId) return; // e.g. the reconnect `executing` without prompt_id: reconciliation covers it
    if (type === 'execution_start' || type === 'executing' || type === 'progress') {
      if (type !== 'executing' || data.node !== null) this.runningPromptId = promptId;
    }
    const terminal =
      (type === 'executing' && data.node === null) ||
      type === 'execution_error' ||
      type === 'execution_interrupted' ||
      type === 'execution_success';
    if (terminal && this.runningPromptId === promptId) this.runningPromptId = undefined;
    const tracker = this.trackers.get(promptId);
    if (tracker) {
      tracker.handle(type, data);
      if (tracker.settled) this.trackers.delete(promptId);
      return;
    }
    this.keepOrphan(promptId, type, data);
  }

  private onBinary(buf: Buffer): void {
    const frame = decodeBinaryFrame(buf);
    if (frame.kind !== 'preview') return;
    const id = frame.promptId ?? this.runningPromptId;
    if (!id) return;
    this.trackers.get(id)?.preview(frame.image, frame.mime);
  }

  private keepOrphan(promptId: string, type: string, data: Record<string, unknown>): void {
    const now = Date.now();
    for (const [id, o] of this.orphans) if (now - o.at > 60_000) this.orphans.delete(id);
    let o = this.orphans.get(promptId);
    if (!o) {
      if (this.orphans.size >= 32) this.orphans.delete(this.orphans.keys().next().value as string);
      o = { at: now, msgs: [] };
      this.orphans.set(promptId, o);
    }
    if (o.msgs.length < 2_000) o.msgs.push([type, data]);
  }

  /** Was this prompt accepted although the POST answer got lost? (queue or history know it) */
  private async hostHasPrompt(tracker: PromptTracker): Promise<boolean> {
    try {
      const q = await this.queue();
      const item = [...q.running, ...q.pending].find((i) => i.promptId === tracker.promptId);
      if (item) {
        tracker.mayHaveMissed = true;
        tracker.acknowledge(item.number, []);
        return true;
      }
      const h = await this.history(tracker.promptId);
      if (h) {
        tracker.mayHaveMissed = true;
        tracker.acknowledge(-1, []);
        tracker.settleFromHistory(h);
        this.trackers.delete(tracker.promptId);
        return true;
      }
    } catch {
      /* host still unreachable: report the original failure */
    }
    return false;
  }

  /** `executing null` came without a verdict: read /history (it is written before that message). */
  private async confirm(tracker: PromptTracker): Promise<void> {
    for (let attempt = 0; attempt < 3 && !tracker.settled; attempt++) {
      try {
        const entry = await this.history(tracker.promptId);
        if (entry) {
          tracker.settleFromHistory(entry);
          break;
        }
      } catch {
        return; // unreachable: the maintenance loop keeps trying
      }
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
    if (!tracker.settled) {
      if (tracker.sawSuccess) tracker.succeed(tracker.outputs);
      else tracker.lose(`host ${this.host.name} finished the prompt but kept no record of it`);
    }
    if (tracker.settled) this.trackers.delete(tracker.promptId);
  }

  /** Reconcile every in-flight prompt (after any reconciliation already running). */
  private reconcileAll(): Promise<void> {
    const before = this.reconciling ?? Promise.resolve();
    const p: Promise<void> = before
      .then(() => this.reconcile([...this.trackers.values()], 'lost'))
      .then(() => undefined)
      .finally(() => {
        if (this.reconciling === p) this.reconciling = undefined;
      });
    this.reconciling = p;
    return p;
  }

  /**
   * Ask the host about prompts we may have lost track of. Queue first, then history: a prompt that
   * finishes between the two calls is then found in history, never mistaken for lost.
   * `missing` says what "in neither" means: lost (host restarted) or cancelled (we deleted it).
   */
  private async reconcile(list: PromptTracker[], missing: 'lost' | 'cancelled'): Promise<PromptTracker[]> {
    const fromHistory: PromptTracker[] = [];
    const open = list.filter((t) => !t.settled && t.phase !== 'submitting');
    if (open.length === 0) return fromHistory;
    let queue: QueueState;
    try {
      queue = await this.queue();
    } catch (err) {
      this.noteUnreachable(open, err);
      return fromHistory;
    }
    const known = new Map<string, number>();
    for (const item of [...queue.running, ...queue.pending]) known.set(item.promptId, item.number);
    for (const t of open) {
      if (t.settled) continue;
      const number = known.get(t.promptId);
      if (number !== undefined) {
        if (t.number < 0) t.number = number;
        t.lastNews = Date.now();
        t.unreachableSince = undefined;
        continue;
      }
      let entry;
      try {
        entry = await this.history(t.promptId);
      } catch (err) {
        this.noteUnreachable([t], err);
        continue;
      }
      t.unreachableSince = undefined;
      if (t.settled) continue;
      if (entry) {
        t.settleFromHistory(entry);
        fromHistory.push(t);
      } else if (missing === 'cancelled') t.interrupted();
      else t.lose(`host ${this.host.name} no longer has it: it is neither queued nor in its history (the host was probably restarted)`);
    }
    for (const t of open) if (t.settled && this.trackers.get(t.promptId) === t) this.trackers.delete(t.promptId);
    return fromHistory;
  }

  private noteUnreachable(list: PromptTracker[], err: unknown): void {
    const now = Date.now();
    for (const t of list) {
      t.unreachableSince ??= now;
      if (now - t.unreachableSince >= this.giveUpMs) {
        const reason = err instanceof Error ? err.message : String(err);
        t.abandon(
          err instanceof HostUnavailableError
            ? err
            : this.http.unavailable(`gave up waiting for prompt ${t.promptId}: ${reason}`),
        );
        this.trackers.delete(t.promptId);
      }
    }
  }

  /**
   * While prompts are in flight: if the socket is down, poll their fate; if it is up but a prompt has
   * been quiet for livenessMs, check on it (a socket can stay up yet stop delivering events).
   */
  private startMaintenance(): void {
    const every = Math.max(50, Math.min(1_000, Math.floor(this.livenessMs / 10), this.attachPollMs));
    this.maintenance = setInterval(() => {
      for (const [id, t] of this.trackers) if (t.settled) this.trackers.delete(id);
      if (this.closed || this.reconciling || this.trackers.size === 0) return;
      const now = Date.now();
      const list = [...this.trackers.values()].filter(
        (t) =>
          !t.settled &&
          t.phase !== 'submitting' &&
          (!this.socket.isOpen || now - t.lastNews >= (t.attached ? this.attachPollMs : this.livenessMs)),
      );
      if (list.length === 0) return;
      const socketUp = this.socket.isOpen;
      if (socketUp) for (const t of list) t.mayHaveMissed = true;
      const p = this.reconcile(list, 'lost')
        .then((fromHistory) => {
          // A prompt of ours finished while the open socket told us nothing: the host no longer routes
          // our events to it (a known ComfyUI race on reused client ids). A fresh socket fixes that.
          if (socketUp && this.socket.isOpen && fromHistory.some((t) => !t.attached)) {
            this.socket.drop('the WebSocket stopped delivering our prompts\' events');
          }
        })
        .finally(() => {
          if (this.reconciling === p) this.reconciling = undefined;
        });
      this.reconciling = p;
    }, every);
    this.maintenance.unref?.();
  }
}
