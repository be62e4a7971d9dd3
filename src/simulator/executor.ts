/**
 * Runs one queued prompt the way ComfyUI 0.3.64's PromptExecutor does: execution_start, execution_cached,
 * then per node progress_state / executing / progress (+ previews) / executed, and finally
 * execution_success, execution_error or execution_interrupted — each sent to the right sockets.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { keysOf, cloneOrdered, markFloat, orderedObject } from './ordered-json.ts';
import { ExecutionList, isLink } from './execution-plan.ts';
import { computeSignatures, type ClassicCache, type CacheEntry } from './output-cache.ts';
import { NODE_IMPLS, NodeException, type PreviewSource, type RunContext } from './nodes.ts';
import { encodeJpegPreview } from './pixels.ts';
import { InterruptedError, KilledError, type RunControl } from './run-control.ts';
import { previewFrame, previewFrameWithMetadata, type WsHub } from './ws-hub.ts';
import type { Folders } from './folders.ts';
import type { ObjectInfo } from './object-info.ts';
import type { ImageRef } from '../comfy/types.ts';

export type QueueItem = [number, string, Record<string, unknown>, Record<string, unknown>, string[]];

type Prompt = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

export interface ExecEnv {
  hub: WsHub;
  folders: Folders;
  cache: ClassicCache;
  defs: ObjectInfo;
  control: RunControl;
  previews: () => boolean;
  stepMs: () => number;
  loadModel: (name: string) => Promise<void>;
  /** Consumes a pending stallNext(). */
  takeStall: () => boolean;
  /** Consumes a pending failNext() (only called from a sampler step). */
  takeFailure: () => { exceptionType: string; message: string; traceback?: string[] } | null;
  /** Consumes a pending giantImageNext() (only called from SaveImage). */
  takeGiantImage: () => boolean;
  setRunningNode: (sid: string | null, node: string | null) => void;
}

export interface ExecResult {
  outputs: Record<string, { images: ImageRef[] }>;
  meta: Record<string, Record<string, unknown>>;
  status: { status_str: 'success' | 'error'; completed: boolean; messages: Array<[string, Record<string, unknown>]> };
}

const OOM_TIPS =
  'This error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.';

interface NodeState {
  value: number;
  max: number;
  state: 'running' | 'finished';
  node_id: string;
  prompt_id: string;
  display_node_id: string;
  parent_node_id: null;
  real_node_id: string;
}

function describeValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const kind = (v as { kind?: string }).kind;
  const addr = '0x7f' + createHash('md5').update(String(Math.random())).digest('hex').slice(0, 10);
  switch (kind) {
    case 'MODEL':
      return `<comfy.model_patcher.ModelPatcher object at ${addr}>`;
    case 'CLIP':
      return `<comfy.sd.CLIP object at ${addr}>`;
    case 'VAE':
      return `<comfy.sd.VAE object at ${addr}>`;
    case 'UPSCALE_MODEL':
      return `<spandrel.ImageModelDescriptor object at ${addr}>`;
    case 'CONDITIONING':
      return '[[tensor(...), {\'pooled_output\': tensor(...)}]]';
    case 'LATENT':
      return "{'samples': tensor(...)}";
    case 'IMAGE':
    case 'MASK':
      return 'tensor(...)';
    default:
      return String(v);
  }
}

const RUN_TRACEBACK = [
  '  File "<comfyui>/execution.py", line 496, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)\n',
  '  File "<comfyui>/execution.py", line 315, in get_output_data\n    return_values = await _async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, obj.FUNCTION, allow_interrupt=True, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)\n',
  '  File "<comfyui>/execution.py", line 289, in _async_map_node_over_list\n    await process_inputs(input_dict, i)\n',
  '  File "<comfyui>/execution.py", line 277, in process_inputs\n    result = f(**inputs)\n             ^^^^^^^^^^^\n',
];

export async function executePrompt(env: ExecEnv, item: QueueItem, historyPrompt: unknown): Promise<ExecResult> {
  const [, promptId, promptRaw, extraData, executeOutputs] = item;
  const prompt = promptRaw as Prompt;
  const sid = typeof extraData.client_id === 'string' ? extraData.client_id : extraData.client_id != null ? String(extraData.client_id) : null;
  const { hub, control } = env;
  const messages: Array<[string, Record<string, unknown>]> = [];
  const addMessage = (event: string, data: Record<string, unknown>, broadcast: boolean) => {
    const d = { ...data, timestamp: Date.now() };
    messages.push([event, d]);
    if (sid !== null || broadcast) hub.sendOrBroadcast(sid, event, d);
  };
  const isOutput = (id: string) => env.defs[prompt[id]?.class_type]?.output_node === true;

  control.clearInterrupt();
  addMessage('execution_start', { prompt_id: promptId }, false);

  // Change-check values and cache keys.
  const changeValue = (id: string): string | null => {
    const n = prompt[id];
    if (n?.class_type !== 'LoadImage' && n?.class_type !== 'LoadImageMask') return null;
    const v = n.inputs?.image;
    if (typeof v !== 'string') return null;
    try {
      return createHash('sha256').update(fs.readFileSync(env.folders.inputPath(v))).digest('hex');
    } catch {
      return 'missing';
    }
  };
  const sigs = computeSignatures(prompt, changeValue);
  env.cache.setPrompt(sigs.values());
  const cachedNodes = keysOf(prompt).filter((id) => env.cache.get(sigs.get(id)) !== undefined);
  addMessage('execution_cached', { nodes: cachedNodes, prompt_id: promptId }, false);

  const uiOutputs = new Map<string, { images: ImageRef[] }>();
  const executed: string[] = [];
  const progress = new Map<string, NodeState>();
  const sendProgressState = () => {
    hub.sendOrBroadcast(sid, 'progress_state', { prompt_id: promptId, nodes: orderedObject([...progress]) });
  };
  /**
   * One node's entry. ComfyUI starts every node at 0.0/1.0 and finishes one that reported no progress at
   * 1.0/1.0 (Python floats); progress ticks and a cached output node's 1/1 are ints.
   */
  const nodeState = (id: string, value: number, max: number, state: 'running' | 'finished', floats = false): NodeState => {
    const s: NodeState = {
      value,
      max,
      state,
      node_id: id,
      prompt_id: promptId,
      display_node_id: id,
      parent_node_id: null,
      real_node_id: id,
    };
    if (floats) {
      markFloat(s, 'value');
      markFloat(s, 'max');
    }
    return s;
  };

  const list = new ExecutionList(prompt, (id) => env.cache.get(sigs.get(id)) !== undefined, isOutput);
  for (const o of executeOutputs) list.addNode(o);

  let stallPending = env.takeStall();
  let failure: { node: string; ex: unknown; inputs: Record<string, unknown> } | null = null;

  const finishUi = (id: string, entry: CacheEntry) => {
    if (entry.ui) uiOutputs.set(id, entry.ui);
  };

  while (!list.isEmpty) {
    const id = list.next();
    if (id === null) break; // cannot happen without cycles (validation keeps those out)
    const node = prompt[id];
    const key = sigs.get(id);
    const hit = env.cache.get(key);
    if (hit) {
      // Cached output node: replay its UI, no executing message.
      if (sid !== null && hit.ui) hub.send(sid, 'executed', { node: id, display_node: id, output: hit.ui, prompt_id: promptId });
      finishUi(id, hit);
      progress.set(id, nodeState(id, 1, 1, 'finished'));
      sendProgressState();
      list.complete(id);
      continue;
    }

    progress.set(id, nodeState(id, 0, 1, 'running', true));
    sendProgressState();
    if (sid !== null) {
      env.setRunningNode(sid, id);
      hub.send(sid, 'executing', { node: id, display_node: id, prompt_id: promptId });
    }

    // Resolve inputs.
    const inputs: Record<string, unknown> = {};
    for (const name of keysOf(node.inputs ?? {})) {
      const v = node.inputs[name];
      if (isLink(v)) {
        const up = env.cache.get(sigs.get(v[0]));
        inputs[name] = up?.outputs[v[1] < 0 ? up.outputs.length + v[1] : v[1]];
      } else inputs[name] = v;
    }

    let lastValue = 1;
    let lastMax = 1;
    let ticked = false;
    let deadline = performance.now();
    const ctx: RunContext = {
      nodeId: id,
      folders: env.folders,
      prompt: historyPrompt,
      extraPngInfo: extraData.extra_pnginfo as Record<string, unknown> | undefined,
      stepMs: env.stepMs,
      wantsPreview: () => {
        if (!env.previews()) return false;
        const t = hub.previewTargets(sid);
        return t.metadata.length + t.plain.length > 0;
      },
      loadModel: env.loadModel,
      samplerStep: (step) => {
        if (step !== 1) return;
        const f = env.takeFailure();
        if (f) throw new NodeException(f.exceptionType, f.message, f.traceback ?? []);
      },
      giantOutput: () => env.takeGiantImage(),
      tick: async (value, max, ms, preview) => {
        deadline += ms;
        await control.sleep(Math.max(0, deadline - performance.now()));
        lastValue = value;
        lastMax = max;
        ticked = true;
        progress.set(id, nodeState(id, value, max, 'running'));
        let jpeg: Buffer | null = null;
        const targets = env.previews() && preview ? hub.previewTargets(sid) : { metadata: [], plain: [] };
        if (targets.metadata.length + targets.plain.length > 0 && preview) {
          const src: PreviewSource | null = preview();
          if (src) jpeg = await encodeJpegPreview(src.rgb, src.width, src.height);
          control.check();
        }
        sendProgressState();
        if (jpeg && targets.metadata.length) {
          const frame = previewFrameWithMetadata(jpeg, {
            node_id: id,
            prompt_id: promptId,
            display_node_id: id,
            parent_node_id: null,
            real_node_id: id,
            image_type: 'image/jpeg',
          });
          for (const ws of targets.metadata) if (ws.readyState === ws.OPEN) ws.send(frame);
        }
        hub.sendOrBroadcast(sid, 'progress', { value, max, prompt_id: promptId, node: id });
        if (jpeg && targets.plain.length) {
          const frame = previewFrame(jpeg);
          for (const ws of targets.plain) if (ws.readyState === ws.OPEN) ws.send(frame);
        }
      },
    };

    try {
      if (stallPending) {
        stallPending = false;
        await control.stall();
      }
      control.check(); // before_node_execution
      const impl = NODE_IMPLS[node.class_type];
      if (!impl) throw new NodeException('KeyError', `'${node.class_type}'`);
      const result = await impl(inputs, ctx);
      control.check();
      const entry: CacheEntry = { outputs: result.outputs, ui: result.ui };
      env.cache.set(key, entry);
      executed.push(id);
      if (result.ui) {
        uiOutputs.set(id, result.ui);
        if (sid !== null) hub.send(sid, 'executed', { node: id, display_node: id, output: result.ui, prompt_id: promptId });
      }
      progress.set(id, nodeState(id, lastValue, lastMax, 'finished', !ticked));
      sendProgressState();
      list.complete(id);
    } catch (ex) {
      if (ex instanceof KilledError) throw ex;
      failure = { node: id, ex, inputs };
      break;
    }
  }
  env.setRunningNode(sid, null);

  let statusStr: 'success' | 'error' = 'success';
  if (failure) {
    statusStr = 'error';
    const nodeType = prompt[failure.node].class_type;
    if (failure.ex instanceof InterruptedError) {
      addMessage(
        'execution_interrupted',
        { prompt_id: promptId, node_id: failure.node, node_type: nodeType, executed: [...executed] },
        true,
      );
    } else {
      const ex = failure.ex;
      const pyType = ex instanceof NodeException ? ex.pyType : 'RuntimeError';
      const text = ex instanceof NodeException ? ex.text : String((ex as Error)?.message ?? ex);
      const tips = pyType === 'torch.OutOfMemoryError' || pyType === 'OutOfMemoryError' ? OOM_TIPS : '';
      const currentInputs: Record<string, unknown[]> = {};
      for (const [k, v] of Object.entries(failure.inputs)) currentInputs[k] = [describeValue(v)];
      addMessage(
        'execution_error',
        {
          prompt_id: promptId,
          node_id: failure.node,
          node_type: nodeType,
          executed: [...executed],
          exception_message: `${text}\n${tips}`,
          exception_type: pyType,
          traceback: ex instanceof NodeException && ex.traceback.length ? ex.traceback : RUN_TRACEBACK,
          current_inputs: currentInputs,
          current_outputs: keysOf(prompt),
        },
        false,
      );
    }
  } else {
    addMessage('execution_success', { prompt_id: promptId }, false);
  }

  const outputs: Record<string, { images: ImageRef[] }> = {};
  const meta: Record<string, Record<string, unknown>> = {};
  for (const id of keysOf(prompt)) {
    const ui = uiOutputs.get(id);
    if (!ui) continue;
    outputs[id] = cloneOrdered(ui);
    meta[id] = { node_id: id, display_node: id, parent_node: null, real_node_id: id };
  }
  return {
    outputs,
    meta,
    status: { status_str: statusStr, completed: statusStr === 'success', messages },
  };
}
