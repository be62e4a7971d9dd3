/** Reading ComfyUI's JSON answers (history, queue, system stats, outputs) into our shared types. */
import type { HistoryEntry, ImageRef, QueueState, SystemStats } from './types.ts';

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The images of a node's `ui` output ({images: [...]}); other output kinds are ignored. */
export function imagesOf(output: unknown): ImageRef[] {
  if (!isObj(output) || !Array.isArray(output.images)) return [];
  const out: ImageRef[] = [];
  for (const img of output.images) {
    if (!isObj(img) || typeof img.filename !== 'string') continue;
    const type = img.type === 'input' || img.type === 'temp' ? img.type : 'output';
    out.push({ filename: img.filename, subfolder: typeof img.subfolder === 'string' ? img.subfolder : '', type });
  }
  return out;
}

/** Outputs per node: only nodes that produced images. */
export function outputsOf(outputs: unknown): Record<string, ImageRef[]> {
  const res: Record<string, ImageRef[]> = {};
  if (!isObj(outputs)) return res;
  for (const [node, out] of Object.entries(outputs)) {
    const images = imagesOf(out);
    if (images.length > 0) res[node] = images;
  }
  return res;
}

/** GET /history/{id} answer -> the entry, or null when the host does not know the prompt (yet). */
export function parseHistory(promptId: string, body: unknown): (HistoryEntry & { number?: number }) | null {
  if (!isObj(body)) return null;
  const raw = body[promptId];
  if (!isObj(raw)) return null;
  const status = isObj(raw.status) ? raw.status : {};
  const messages = Array.isArray(status.messages)
    ? (status.messages.filter((m) => Array.isArray(m) && typeof m[0] === 'string') as Array<
        [string, Record<string, unknown>]
      >)
    : [];
  const prompt = Array.isArray(raw.prompt) ? raw.prompt : [];
  return {
    promptId,
    status: status.status_str === 'success' ? 'success' : 'error',
    completed: status.completed === true,
    outputs: outputsOf(raw.outputs),
    messages,
    number: typeof prompt[0] === 'number' ? prompt[0] : undefined,
  };
}

function queueItems(list: unknown): Array<{ number: number; promptId: string }> {
  if (!Array.isArray(list)) return [];
  return list
    .filter((it) => Array.isArray(it) && typeof it[1] === 'string')
    .map((it) => ({ number: Number(it[0]), promptId: String(it[1]) }));
}

/** GET /queue -> running and pending, pending sorted in run order (the server sends a raw heap). */
export function parseQueue(body: unknown): QueueState {
  const b = isObj(body) ? body : {};
  const pending = queueItems(b.queue_pending).sort(
    (a, b2) => a.number - b2.number || (a.promptId < b2.promptId ? -1 : a.promptId > b2.promptId ? 1 : 0),
  );
  return { running: queueItems(b.queue_running), pending };
}

export function parseSystemStats(body: unknown): SystemStats {
  const b = isObj(body) ? body : {};
  const system = isObj(b.system) ? b.system : {};
  const devices = Array.isArray(b.devices) ? b.devices.filter(isObj) : [];
  return {
    comfyuiVersion: typeof system.comfyui_version === 'string' ? system.comfyui_version : 'unknown',
    os: typeof system.os === 'string' ? system.os : 'unknown',
    ...(typeof system.pytorch_version === 'string' ? { pytorchVersion: system.pytorch_version } : {}),
    devices: devices.map((d) => ({
      name: String(d.name ?? ''),
      type: String(d.type ?? ''),
      vramTotal: Number(d.vram_total ?? 0),
      vramFree: Number(d.vram_free ?? 0),
    })),
  };
}
