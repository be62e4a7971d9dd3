/** Plain HTTP + ws helpers for the simulator tests (deliberately not the Easel client). */
import WebSocket from 'ws';
import sharp from 'sharp';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../../src/simulator/index.ts';

export interface Frame {
  text?: { type: string; data: Record<string, unknown> };
  binary?: Buffer;
}

export class WsProbe {
  readonly frames: Frame[] = [];
  private waiters: Array<() => void> = [];
  closeCode: number | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.frames.push({ binary: data as Buffer });
      else this.frames.push({ text: JSON.parse(data.toString()) });
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('error', () => {});
  }

  static async open(sim: Simulator, clientId?: string, flags?: Record<string, unknown>): Promise<WsProbe> {
    const ws = new WebSocket(`${sim.url.replace('http', 'ws')}/ws${clientId ? `?clientId=${clientId}` : ''}`);
    const probe = new WsProbe(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    if (flags) ws.send(JSON.stringify({ type: 'feature_flags', data: flags }));
    await probe.waitFor((f) => f.text?.type === 'status');
    if (flags) await probe.waitFor((f) => f.text?.type === 'feature_flags');
    return probe;
  }

  async waitFor(pred: (f: Frame) => boolean, timeoutMs = 10_000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error('timeout waiting for frame; got ' + this.types().join(','));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Wait for the end of a prompt (executing node null with its prompt_id). */
  async waitDone(promptId: string, timeoutMs = 15_000): Promise<void> {
    await this.waitFor(
      (f) => f.text?.type === 'executing' && f.text.data.node === null && f.text.data.prompt_id === promptId,
      timeoutMs,
    );
  }

  types(from = 0): string[] {
    return this.frames.slice(from).map((f) => (f.binary ? `binary(${f.binary.readUInt32BE(0)})` : f.text!.type));
  }

  /** Frames of one prompt (those carrying its id, plus status and binaries in between). */
  promptFrames(promptId: string): Frame[] {
    const start = this.frames.findIndex((f) => f.text?.data?.prompt_id === promptId);
    const end = this.frames.findIndex(
      (f) => f.text?.type === 'executing' && f.text.data.node === null && f.text.data.prompt_id === promptId,
    );
    return this.frames.slice(start, end + 1);
  }

  close(): void {
    this.ws.close();
  }
}

export async function startTestSim(opts: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ stepMs: 5, ...opts });
}

export async function solidPng(width: number, height: number, rgb: [number, number, number], alpha = false): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: alpha ? 4 : 3, background: { r: rgb[0], g: rgb[1], b: rgb[2], alpha: alpha ? 0.5 : 1 } },
  })
    .png()
    .toBuffer();
}

/** A picture with structure (gradient + shapes) so pixel comparisons mean something. */
export async function gradientPng(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = Math.round((x / width) * 255);
      raw[i + 1] = Math.round((y / height) * 255);
      raw[i + 2] = (x + y) % 64 < 32 ? 40 : 220;
    }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export async function upload(
  sim: Simulator,
  bytes: Buffer,
  name: string,
  fields: Record<string, string> = {},
): Promise<Response> {
  const fd = new FormData();
  fd.append('image', new Blob([new Uint8Array(bytes)]), name);
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  return fetch(`${sim.url}/upload/image`, { method: 'POST', body: fd });
}

export async function postPrompt(sim: Simulator, body: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${sim.url}/prompt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, json, text };
}

export async function getJson(sim: Simulator, path: string): Promise<any> {
  const res = await fetch(`${sim.url}${path}`);
  return res.json();
}

export async function viewRaw(sim: Simulator, ref: { filename: string; subfolder: string; type: string }): Promise<{ width: number; height: number; data: Buffer }> {
  const q = new URLSearchParams({ filename: ref.filename, subfolder: ref.subfolder, type: ref.type });
  const res = await fetch(`${sim.url}/view?${q}`);
  if (res.status !== 200) throw new Error(`view ${res.status}`);
  const buf = Buffer.from(await res.arrayBuffer());
  const { data, info } = await sharp(buf).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

export function meanAbsDiff(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) throw new Error(`size mismatch ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** The img2img graph of the wire transcript, as raw JSON text so node key order is kept. */
export function img2imgPromptText(o: {
  image: string;
  seed?: number;
  steps?: number;
  denoise?: number;
  prefix?: string;
  text?: string;
  repeat?: number;
}): string {
  const latent = o.repeat ? '["12", 0]' : '["11", 0]';
  const repeat = o.repeat ? `, "12": {"class_type": "RepeatLatentBatch", "inputs": {"samples": ["11", 0], "amount": ${o.repeat}}}` : '';
  return `{"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_v1-5.safetensors"}, "_meta": {"title": "Load Checkpoint"}}, "6": {"class_type": "CLIPTextEncode", "inputs": {"text": ${JSON.stringify(o.text ?? 'a watercolor fox in the snow')}, "clip": ["4", 1]}}, "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry, lowres", "clip": ["4", 1]}}, "10": {"class_type": "LoadImage", "inputs": {"image": ${JSON.stringify(o.image)}}}, "11": {"class_type": "VAEEncode", "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}}${repeat}, "3": {"class_type": "KSampler", "inputs": {"seed": ${o.seed ?? 42}, "steps": ${o.steps ?? 8}, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal", "denoise": ${o.denoise ?? 0.6}, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ${latent}}}, "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}}, "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": ${JSON.stringify(o.prefix ?? 'comfy-real/img2img')}, "images": ["8", 0]}}}`;
}

export function promptBody(promptText: string, extra: Record<string, unknown> = {}): string {
  const rest = Object.entries(extra)
    .map(([k, v]) => `, ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join('');
  return `{"prompt": ${promptText}${rest}}`;
}
