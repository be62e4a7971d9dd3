/**
 * One submitted prompt as the client tracks it: its events (buffered so a late subscriber misses
 * nothing), its outputs as they arrive, and its `done` promise, settled exactly once.
 */
import {
  ExecutionFailedError,
  PromptInterruptedError,
  PromptLostError,
  type ComfyError,
  type WorkflowProblem,
} from './errors.ts';
import type { HistoryEntry, ImageRef, NodeId, PromptEvent, Workflow } from './types.ts';
import { imagesOf } from './wire.ts';

export interface PromptResult {
  promptId: string;
  outputs: Record<string, ImageRef[]>;
  cachedNodes: string[];
}

export interface PromptRun {
  promptId: string;
  /** ComfyUI's queue number (-1 until known, e.g. right after attach()). */
  number: number;
  warnings: WorkflowProblem[];
  on(listener: (e: PromptEvent) => void): () => void;
  done: Promise<PromptResult>;
}

type Listener = (e: PromptEvent) => void;

export type TrackerPhase = 'submitting' | 'queued' | 'running' | 'settled';

export class PromptTracker implements PromptRun {
  number = -1;
  warnings: WorkflowProblem[] = [];
  readonly done: Promise<PromptResult>;
  phase: TrackerPhase = 'submitting';
  /** Events may have been missed (socket was down, or attached later): confirm outputs via /history. */
  mayHaveMissed = false;
  sawSuccess = false;
  /** Submitted by another client (e.g. a previous process): its events go elsewhere, so poll. */
  attached = false;
  readonly outputs: Record<NodeId, ImageRef[]> = {};
  cachedNodes: NodeId[] = [];
  /** When the host last told us anything about this prompt (or we last confirmed it is queued). */
  lastNews = Date.now();

  private listeners = new Set<Listener>();
  private replay: PromptEvent[] = [];
  private lastPreview: PromptEvent | undefined;
  private early: Array<[string, Record<string, unknown>]> = [];
  private resolveDone!: (r: PromptResult) => void;
  private rejectDone!: (e: Error) => void;

  /** When reconciliation last failed to reach the host (cleared when it answers). */
  unreachableSince: number | undefined;

  constructor(
    /** Ours; only changes if an old host ignores our prompt_id and answers another one. */
    public promptId: string,
    readonly workflow: Workflow | undefined,
    /** Asked to settle the prompt from /history (after executing null without a verdict, etc.). */
    private readonly confirm: (t: PromptTracker) => void,
  ) {
    this.done = new Promise<PromptResult>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Nobody awaiting a failed prompt must not crash the process.
    this.done.catch(() => undefined);
  }

  get settled(): boolean {
    return this.phase === 'settled';
  }

  on(listener: Listener): () => void {
    for (const e of this.replay) safeCall(listener, e);
    if (this.phase === 'settled') return () => undefined; // the whole story was just replayed
    if (this.lastPreview) safeCall(listener, this.lastPreview);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emitEvent(e: PromptEvent): void {
    if (e.type === 'preview') this.lastPreview = e;
    else this.replay.push(e);
    for (const l of [...this.listeners]) safeCall(l, e);
  }

  /** POST /prompt accepted it: report 'queued', then whatever arrived before the answer. */
  acknowledge(number: number, warnings: WorkflowProblem[]): void {
    this.number = number;
    this.warnings = warnings;
    if (this.phase === 'submitting') this.phase = 'queued';
    this.emitEvent({ type: 'queued', promptId: this.promptId, number });
    const early = this.early;
    this.early = [];
    for (const [type, data] of early) this.handle(type, data);
  }

  /** Attached to a prompt submitted earlier: events may already have been missed. */
  markAttached(): void {
    if (this.phase === 'submitting') this.phase = 'queued';
    this.mayHaveMissed = true;
    this.attached = true;
  }

  /** A WebSocket message that carries this prompt's id. */
  handle(type: string, data: Record<string, unknown>): void {
    if (this.phase === 'settled') return;
    if (this.phase === 'submitting') {
      this.early.push([type, data]);
      return;
    }
    this.lastNews = Date.now();
    const promptId = this.promptId;
    switch (type) {
      case 'execution_start':
        this.phase = 'running';
        this.emitEvent({ type: 'started', promptId });
        break;
      case 'execution_cached': {
        this.phase = 'running';
        const nodes = Array.isArray(data.nodes) ? data.nodes.map(String) : [];
        this.cachedNodes = nodes;
        this.emitEvent({ type: 'cached', promptId, nodes });
        break;
      }
      case 'executing': {
        if (data.node === null || data.node === undefined) {
          // The end of the prompt: history is written by now.
          if (this.sawSuccess && !this.mayHaveMissed && Object.keys(this.outputs).length > 0) this.succeed(this.outputs);
          else this.confirm(this);
          break;
        }
        this.phase = 'running';
        const node = String(data.node);
        this.emitEvent({ type: 'executing', promptId, node, classType: this.workflow?.[node]?.class_type });
        break;
      }
      case 'progress':
        this.phase = 'running';
        this.emitEvent({
          type: 'progress',
          promptId,
          node: String(data.node ?? ''),
          value: Number(data.value ?? 0),
          max: Number(data.max ?? 0),
        });
        break;
      case 'executed': {
        const node = String(data.node ?? '');
        const images = imagesOf(data.output);
        if (images.length > 0) this.outputs[node] = images;
        this.emitEvent({ type: 'executed', promptId, node, images });
        break;
      }
      case 'execution_success':
        this.sawSuccess = true;
        if (!this.mayHaveMissed && Object.keys(this.outputs).length > 0) this.succeed(this.outputs);
        // else wait for `executing null`, then /history
        break;
      case 'execution_error':
        this.failFromError(data);
        break;
      case 'execution_interrupted':
        this.interrupted(data.node_id === undefined || data.node_id === null ? undefined : String(data.node_id));
        break;
      default:
        break;
    }
  }

  preview(image: Buffer, mime: 'image/jpeg' | 'image/png'): void {
    if (this.phase === 'settled' || this.phase === 'submitting') return;
    this.lastNews = Date.now();
    this.emitEvent({ type: 'preview', promptId: this.promptId, image, mime });
  }

  /** Settle from a finished /history entry. */
  settleFromHistory(entry: HistoryEntry): void {
    if (this.phase === 'settled') return;
    if (entry.status === 'success') {
      const outputs = { ...this.outputs, ...entry.outputs };
      const cached = entry.messages.find(([t]) => t === 'execution_cached');
      if (cached && Array.isArray(cached[1].nodes) && this.cachedNodes.length === 0) {
        this.cachedNodes = (cached[1].nodes as unknown[]).map(String);
      }
      this.succeed(outputs);
      return;
    }
    const error = entry.messages.find(([t]) => t === 'execution_error');
    if (error) {
      this.failFromError(error[1]);
      return;
    }
    const interrupted = entry.messages.find(([t]) => t === 'execution_interrupted');
    if (interrupted) {
      const n = interrupted[1].node_id;
      this.interrupted(n === undefined || n === null ? undefined : String(n));
      return;
    }
    this.fail('unknown', 'unknown', 'Error', 'the host reports the prompt as failed without details', undefined);
  }

  succeed(outputs: Record<string, ImageRef[]>): void {
    if (this.phase === 'settled') return;
    this.phase = 'settled';
    this.emitEvent({ type: 'success', promptId: this.promptId, outputs });
    this.resolveDone({ promptId: this.promptId, outputs, cachedNodes: this.cachedNodes });
    this.listeners.clear();
  }

  private failFromError(data: Record<string, unknown>): void {
    const node = String(data.node_id ?? '');
    const classType = String(data.node_type ?? this.workflow?.[node]?.class_type ?? 'node');
    const exceptionType = String(data.exception_type ?? 'Error');
    const message = String(data.exception_message ?? '').trim();
    this.fail(node, classType, exceptionType, message, undefined);
  }

  private fail(node: string, classType: string, exceptionType: string, message: string, err: ComfyError | undefined): void {
    if (this.phase === 'settled') return;
    this.phase = 'settled';
    this.emitEvent({ type: 'error', promptId: this.promptId, node, classType, exceptionType, message });
    this.rejectDone(err ?? new ExecutionFailedError(node, classType, exceptionType, message));
    this.listeners.clear();
  }

  interrupted(node?: string): void {
    if (this.phase === 'settled') return;
    this.phase = 'settled';
    this.emitEvent({ type: 'interrupted', promptId: this.promptId, ...(node ? { node } : {}) });
    this.rejectDone(new PromptInterruptedError(this.promptId));
    this.listeners.clear();
  }

  lose(reason: string): void {
    if (this.phase === 'settled') return;
    this.phase = 'settled';
    this.emitEvent({ type: 'lost', promptId: this.promptId, reason });
    this.rejectDone(new PromptLostError(this.promptId, reason));
    this.listeners.clear();
  }

  /** Give up without an event of its own (host unreachable, client closed). */
  abandon(err: Error): void {
    if (this.phase === 'settled') return;
    this.phase = 'settled';
    this.rejectDone(err);
    this.listeners.clear();
  }
}

function safeCall(l: Listener, e: PromptEvent): void {
  try {
    l(e);
  } catch {
    /* a listener's bug must not stop the prompt */
  }
}
