/**
 * The one interface every front end (Discord, Slack, playground, CLI) talks to.
 * Adapters translate platform events into these calls and JobEvents into platform messages;
 * they never touch presets, workflows, hosts or the store directly.
 */
import type { CommandName, CommandSpec, JobAction, ParamValue, RerunAction } from '../commands/types.ts';
import type { Actor, JobEvent, JobRecord, StoredImage } from '../jobs/types.ts';
import type { AdmissionTicket, AdmitRequest } from './admission-desk.ts';

export type { AdmissionTicket, AdmitRequest };

export interface SubmitRequest {
  command: CommandName;
  /** Raw option values as the platform delivered them (strings from text, numbers from pickers). */
  options: Record<string, unknown>;
  /** Raw bytes of the attached images, in the command's `images` order. Never trusted: intake checks them. */
  images: Buffer[];
  actor: Actor;
  /**
   * The ticket `admit` gave before the images were fetched. Without one, submit admits the request
   * itself (still before any decode or disk write, but after the caller already holds the bytes).
   */
  ticket?: AdmissionTicket;
}

export interface RerunRequest {
  jobId: string;
  action: RerunAction;
  actor: Actor;
  /** vary/upscale: which image of the job (1-based). */
  index?: number;
  /** edit: the changed options (prompt, denoise, seed, style, ...). */
  edits?: Record<string, unknown>;
}

export interface HostStatus {
  name: string;
  simulated: boolean;
  up: boolean;
  version?: string;
  vramTotal?: number;
  vramFree?: number;
  queueRemaining?: number;
  running?: string;
  /** Why the host is down, when it is (e.g. "connection refused"). */
  lastError?: string;
  /** Presets disabled on this host and why (preset, node, input, allowed values). */
  disabledPresets: Array<{ preset: string; reason: string }>;
}

export interface AppStatus {
  hosts: HostStatus[];
  waiting: number;
  running: number;
  /** True when every host is a simulator (the built-in one, or simulators started as hosts). */
  simulated: boolean;
  /** True when no ComfyUI host is configured and the built-in simulator stands in. */
  builtInSimulator: boolean;
}

export interface RenderLimits {
  /** Largest file the platform accepts, bytes. */
  maxFileBytes: number;
  /** How many files one message may carry. */
  maxFiles: number;
  /**
   * 'model' (default): the images as the model made them (e.g. 584×440 for a 1024×768 input on SD 1.5).
   * 'input': each image resized to the input's size and aspect (times the job's scale, for upscales).
   */
  outputSize?: OutputSize;
}

export type OutputSize = 'model' | 'input';

export interface RenderedFile {
  name: string;
  data: Buffer;
  mime: string;
  /** Alt text / label. */
  description: string;
}

export interface RenderedResult {
  /** The gallery (or ladder strip) first, then single images while they fit `maxFiles`. */
  files: RenderedFile[];
  /** Parameters in plain words, one per line: prompt, style, denoise, seed, steps, cfg, sampler, model, time. */
  summary: string[];
  /** The buttons the result should carry, in display order. */
  actions: Array<{ action: JobAction; index?: number; label: string }>;
}

export interface Easel {
  readonly commands: CommandSpec[];
  /**
   * Admission, before any download, decode or disk write: command policy (enabled, channels, roles),
   * queue cap, per-user waiting limit, cooldown, and a free upload slot. Returns a short-lived ticket
   * for `submit` (it holds the queue place and the upload slot; release it if you give up), or throws
   * UserError (not_allowed, queue_full, too_many_jobs, cooldown, busy) to show as it is.
   */
  admit(req: AdmitRequest): Promise<AdmissionTicket>;
  /** Queue a new job. Throws UserError with a friendly message for anything the user can fix. */
  submit(req: SubmitRequest): Promise<JobRecord>;
  /** Make a new job from a stored one. Throws UserError (not_found, forbidden, bad_option, ...). */
  rerun(req: RerunRequest): Promise<JobRecord>;
  /** Author (or per policy) cancels: dequeues if waiting, interrupts on the host if running. */
  cancel(jobId: string, actor: Actor): Promise<JobRecord>;
  /** Author (or per policy) deletes a finished job's result; returns the record as it was. */
  remove(jobId: string, actor: Actor): Promise<JobRecord>;
  /** May this actor press this button on this job? (configurable; default: see README). */
  mayAct(job: JobRecord, action: JobAction, actor: Actor): boolean;
  getJob(jobId: string): Promise<JobRecord | undefined>;
  /** Adapters store their message references on the job (merged into platformRefs). */
  setPlatformRefs(jobId: string, refs: Record<string, unknown>): Promise<void>;
  /** Events of one job (replays the latest state event first if the job is already past it). */
  subscribe(jobId: string, listener: (e: JobEvent) => void): () => void;
  /** Every job's events (for adapters that deliver results of recovered jobs after a restart). */
  onEvent(listener: (e: JobEvent) => void): () => void;
  /** The jobs of one user that are waiting or running. */
  jobsOf(actor: Actor): Promise<JobRecord[]>;
  /** The newest jobs started on one platform (newest first), e.g. to show a channel's history after a restart. */
  recentJobs(platform: Actor['platform'], limit: number): Promise<JobRecord[]>;
  status(): Promise<AppStatus>;
  /** Styles and samplers for pickers and autocomplete. */
  choices(command: CommandName, option: string, typed?: string): Array<{ name: string; value: string }>;
  /** Encode the result of a finished job to fit a platform's limits. */
  render(job: JobRecord, limits: RenderLimits): Promise<RenderedResult>;
  readImage(image: StoredImage): Promise<Buffer>;
  /** Parse `oil painting denoise 0.6 seed 42` into options (Slack text, Discord-free-text). */
  parseText(command: CommandName, text: string): Record<string, unknown>;
  close(): Promise<void>;
}

export type { ParamValue };
