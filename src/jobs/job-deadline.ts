/**
 * How long one prompt may run on a GPU host before Easel stops it.
 *
 * A prompt's work is counted in units (sampler steps × images in the batch, plus upscale/VAE tiles).
 * Once a host has finished work of a preset, Easel knows its speed there (ms per unit, learned by the
 * EtaEstimator); the deadline is a generous multiple of the expected time, never below a floor (model
 * loads, a busy GPU) and never above the configured ceiling (`limits.jobTimeoutSeconds`). A host
 * that has not finished anything yet (fresh, or just added) gets the ceiling: it is never killed
 * early on a guess.
 *
 * The clock of a prompt starts when the host starts it, not when it is queued there; a prompt the
 * host does not start within startWithinMs() counts as a host failure.
 */
import { HostUnavailableError } from '../comfy/errors.ts';
import type { Workflow } from '../comfy/types.ts';

/** Default ceiling, seconds (`limits.jobTimeoutSeconds`). */
export const DEFAULT_JOB_TIMEOUT_SECONDS = 600;
/** Default floor, ms: a prompt with a learned speed is never stopped before this. */
export const DEFAULT_DEADLINE_FLOOR_MS = 60_000;
/** How many times its expected duration a prompt may take before it is called stuck. */
export const DEADLINE_ALLOWANCE = 4;

export interface DeadlinePolicy {
  ceilingMs: number;
  floorMs: number;
  /** Multiple of the expected duration (default DEADLINE_ALLOWANCE). */
  allowance?: number;
}

export interface PromptDeadline {
  /** Time the prompt may run, ms. */
  ms: number;
  /** What the host's learned speed predicts, ms (unset: nothing learned yet, the ceiling applies). */
  expectedMs?: number;
}

const TILE_PX = 512;

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

/**
 * Units of work in one prompt: every sampler's steps times the batch it samples (RepeatLatentBatch
 * amount or a latent's batch_size), plus one unit per 512-px tile for model upscales and tiled VAE
 * passes over the output size. Always at least 1.
 */
export function workUnits(workflow: Workflow, output?: { width: number; height: number }): number {
  const nodes = Object.values(workflow);
  let batch = 1;
  for (const n of nodes) {
    const amount = n.class_type === 'RepeatLatentBatch' ? num(n.inputs.amount) : num(n.inputs.batch_size);
    if (amount) batch = Math.max(batch, amount);
  }
  let steps = 0;
  for (const n of nodes) if (/sampler/i.test(n.class_type)) steps += num(n.inputs.steps) ?? 0;
  let tiles = 0;
  const tiled = nodes.filter((n) => /^ImageUpscaleWithModel$|Tiled$/.test(n.class_type)).length;
  if (tiled > 0 && output) tiles = tiled * Math.ceil(output.width / TILE_PX) * Math.ceil(output.height / TILE_PX) * batch;
  return Math.max(1, steps * batch + tiles);
}

/** The deadline of a prompt of `units` on a host whose speed is `msPerUnit` (unset: not learned yet). */
export function promptDeadline(units: number, msPerUnit: number | undefined, policy: DeadlinePolicy): PromptDeadline {
  const ceiling = Math.max(1, policy.ceilingMs);
  if (msPerUnit === undefined || !(msPerUnit >= 0)) return { ms: ceiling };
  const expectedMs = Math.round(msPerUnit * Math.max(1, units));
  const allowed = expectedMs * (policy.allowance ?? DEADLINE_ALLOWANCE);
  return { ms: Math.round(Math.min(ceiling, Math.max(policy.floorMs, allowed))), expectedMs };
}

/**
 * How long a prompt may wait in a host's queue before the host counts as stuck: every job of ours
 * ahead of it there (depth - 1 of them) ends within the ceiling, plus a margin. A host that does not
 * start it by then is treated as failing (the job goes back in line, the host is paused).
 */
export function startWithinMs(ceilingMs: number, depth: number): number {
  return ceilingMs * Math.max(1, depth - 1) + Math.min(30_000, ceilingMs);
}

/** "12 s", "1.5 s", "10 min" — for the sentence a user reads. */
export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  if (s >= 120 && Number.isInteger(s / 60)) return `${s / 60} min`;
  if (s < 10) return `${Math.round(s * 10) / 10} s`;
  return `${Math.round(s)} s`;
}

/** A prompt ran past its deadline; it is stopped on the host and the job fails with this reason. */
export class JobTimedOutError extends Error {
  readonly code = 'timed_out';
  constructor(
    readonly host: string,
    readonly deadline: PromptDeadline,
  ) {
    const usual = deadline.expectedMs !== undefined ? ` (it usually takes about ${formatSeconds(Math.max(100, deadline.expectedMs))} there)` : '';
    super(
      `Your job took longer than ${formatSeconds(deadline.ms)} on GPU host ${host}${usual}, so Easel stopped it. ` +
        'Try fewer steps, a smaller image or fewer images; if it keeps happening, tell an admin.',
    );
    this.name = 'JobTimedOutError';
  }
}

/** A host kept a prompt queued past startWithinMs(): the host counts as failing; the prompt is taken off it. */
export class PromptNotStartedError extends HostUnavailableError {
  constructor(
    host: string,
    readonly promptId: string,
    waitedMs: number,
  ) {
    super(host, `it did not start a queued prompt within ${formatSeconds(waitedMs)} (stuck on an earlier one?)`);
    this.name = 'PromptNotStartedError';
  }
}
