/**
 * Job records and lifecycle events. Front ends consume JobEvent; the store persists JobRecord.
 */
import type { CommandName, JobAction, ResolvedParams } from '../commands/types.ts';

export type Platform = 'discord' | 'slack' | 'playground' | 'cli';

/** Who asked, and where. */
export interface Actor {
  platform: Platform;
  userId: string;
  displayName?: string;
  channelId: string;
  /** Discord guild id or Slack team id. */
  serverId?: string;
  roles?: string[];
}

/** An image kept on disk under the storage folder, named by content hash. */
export interface StoredImage {
  sha256: string;
  /** Path relative to the storage folder. */
  path: string;
  width: number;
  height: number;
  mime: string;
  bytes: number;
  /** Label shown in galleries and strips, e.g. "1" or "denoise 0.45". */
  label?: string;
}

export type JobState = 'queued' | 'uploading' | 'submitted' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobRecord {
  id: string;
  command: CommandName;
  preset: string;
  params: ResolvedParams;
  inputs: StoredImage[];
  actor: Actor;
  /** Set on reruns: the job this one was made from and how. */
  parentId?: string;
  action?: JobAction;
  /** For vary/upscale of one image: which output (1-based) of the parent. */
  sourceIndex?: number;
  /** Denoise ladder: the same seed at these strengths, one run each, shown as one labelled strip. */
  ladder?: number[];
  state: JobState;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  host?: string;
  /** ComfyUI prompt ids submitted for this job (a ladder has several). */
  promptIds?: string[];
  outputs?: StoredImage[];
  layout?: 'gallery' | 'strip';
  error?: { code: string; message: string };
  /** Opaque per-platform references (message ids, thread ts, interaction tokens), written by adapters. */
  platformRefs?: Record<string, unknown>;
  /** Per-channel policy applied at admission (e.g. spoiler results). */
  spoiler?: boolean;
  /** Bumped on every save; lets recovery and multiple bot instances detect stale writes. */
  version?: number;
  /** How many ComfyUI prompts the job needs (a ladder has several); known once planned. */
  runs?: number;
  /** Every submission of every run, in order: where it went, under which prompt id, how it ended. */
  attempts?: PromptAttempt[];
}

/** One submission of one run of a job to one host. Recovery re-attaches by `promptId`. */
export interface PromptAttempt {
  /** Which run of the job (1-based). */
  run: number;
  host: string;
  promptId: string;
  submittedAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** Unset while the prompt is (or may be) on the host. */
  outcome?: 'done' | 'failed' | 'lost' | 'cancelled';
  /** Images of this run, stored, once it is done. */
  outputs?: StoredImage[];
}

export type JobEvent =
  | { type: 'queued'; job: JobRecord; position: number; etaMs: number }
  | { type: 'uploading'; job: JobRecord }
  | { type: 'submitted'; job: JobRecord; host: string; simulated: boolean }
  | {
      type: 'running';
      job: JobRecord;
      step: number;
      maxSteps: number;
      /** Which run of a multi-run job (ladder), 1-based, and how many. */
      run: number;
      runs: number;
      preview?: { image: Buffer; mime: string };
    }
  /** The job is waiting because every host is busy or down; it is safe in the queue. */
  | { type: 'waiting'; job: JobRecord; reason: string }
  | { type: 'done'; job: JobRecord }
  | { type: 'failed'; job: JobRecord; code: string; reason: string }
  | { type: 'cancelled'; job: JobRecord };
