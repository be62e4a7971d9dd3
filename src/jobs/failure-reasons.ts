/**
 * Why a job failed, in words the person who asked can act on: which step, what happened, what to try.
 */
import { UserError } from '../commands/errors.ts';
import {
  ComfyError,
  ExecutionFailedError,
  HostImageTooLargeError,
  HostUnavailableError,
  PromptInterruptedError,
  PromptLostError,
  UploadTooLargeError,
  WorkflowRejectedError,
} from '../comfy/errors.ts';
import { JobTimedOutError } from './job-deadline.ts';

export interface FailureReason {
  code: string;
  reason: string;
}

/** Writing a job's images to the storage folder failed (disk full, unwritable, gone). */
export class StorageWriteError extends Error {
  constructor(
    readonly folder: string,
    readonly cause: unknown,
  ) {
    super(`cannot write to the image storage folder ${folder}: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'StorageWriteError';
  }
}

function storageProblem(code: string | undefined): string {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return 'is full';
    case 'EROFS':
      return 'is read-only';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be written (permission denied)';
    case 'ENOENT':
    case 'ENOTDIR':
      return 'is missing (or a file is in its place)';
    default:
      return `cannot be written${code ? ` (${code})` : ''}`;
  }
}

/** What a node class does, as a step name. */
const STEP_NAMES: Array<[RegExp, string]> = [
  [/^LoadImage/, 'loading your image'],
  [/^(CheckpointLoader|UNETLoader|VAELoader|CLIPLoader|LoraLoader)/, 'loading the model'],
  [/^UpscaleModelLoader/, 'loading the upscale model'],
  [/^CLIPTextEncode/, 'reading the prompt'],
  [/^VAEEncode/, 'encoding the image'],
  [/^(KSampler|SamplerCustom)/, 'sampling'],
  [/^VAEDecode/, 'decoding the result'],
  [/^ImageUpscaleWithModel/, 'upscaling'],
  [/^(ImageScale|LatentUpscale)/, 'resizing'],
  [/^(SaveImage|PreviewImage)/, 'saving the result'],
];

export function stepName(classType: string): string {
  for (const [re, name] of STEP_NAMES) if (re.test(classType)) return name;
  return `running ${classType}`;
}

function hintFor(exceptionType: string, message: string): string {
  const text = `${exceptionType} ${message}`;
  if (/out of memory|OutOfMemory|OOM|CUDA error: out of memory/i.test(text)) {
    return 'The GPU ran out of memory: try a smaller image, fewer images or fewer steps.';
  }
  if (/not found|No such file|FileNotFound/i.test(text)) {
    return 'A file the preset needs is missing on the GPU host: an admin should check its models and inputs.';
  }
  return 'Try again; if it keeps failing, tell an admin (the details are in the log).';
}

/** Turn whatever ended a job into a code and a sentence for the chat. */
export function describeFailure(err: unknown, ctx: { host: string; preset: string }): FailureReason {
  if (err instanceof UserError) return { code: err.code, reason: err.message };
  if (err instanceof JobTimedOutError) return { code: err.code, reason: err.message };
  if (err instanceof StorageWriteError) {
    const code = (err.cause as NodeJS.ErrnoException)?.code;
    return {
      code: 'storage_failed',
      reason:
        `The job ran on ${ctx.host}, but Easel could not save its images: the image storage folder ${err.folder} ${storageProblem(code)}. ` +
        'An admin needs to free space there or fix storage.dir (EASEL_STORAGE_DIR); then press reroll.',
    };
  }
  if (err instanceof ExecutionFailedError) {
    const step = stepName(err.classType);
    const detail = `${err.exceptionType}: ${err.exceptionMessage.trim()}`.slice(0, 300);
    return {
      code: 'job_failed',
      reason: `Failed while ${step} (${err.classType}, node ${err.nodeId}) on ${ctx.host}: ${detail}. ${hintFor(err.exceptionType, err.exceptionMessage)}`,
    };
  }
  if (err instanceof WorkflowRejectedError) {
    const problems = err.problems.map((p) => p.reason).slice(0, 3).join('; ') || err.message;
    return {
      code: 'job_failed',
      reason: `GPU host ${ctx.host} refused the ${ctx.preset} workflow: ${problems}. This is a set-up problem (preset or models), not your input; an admin needs to fix it.`,
    };
  }
  if (err instanceof UploadTooLargeError) {
    return { code: 'image_too_large', reason: `Your image is too large for GPU host ${ctx.host}: ${err.message}. Try a smaller image.` };
  }
  if (err instanceof HostImageTooLargeError) {
    // Running it again gives the same picture: say what to change instead of "try again".
    return {
      code: 'result_too_large',
      reason: `${err.message}, so Easel did not open it. Try a smaller scale or size; if a normal job does this, the ${ctx.preset} preset on that host needs an admin's look.`,
    };
  }
  if (err instanceof PromptInterruptedError) {
    return {
      code: 'interrupted',
      reason: `The job was stopped on GPU host ${ctx.host} (someone interrupted it there). Press reroll to run it again.`,
    };
  }
  if (err instanceof HostUnavailableError || err instanceof PromptLostError) {
    return {
      code: 'host_down',
      reason: `The GPU hosts kept failing while running your job (last: ${err.message}). Please try again later.`,
    };
  }
  if (err instanceof ComfyError) {
    return { code: 'job_failed', reason: `GPU host ${ctx.host} could not finish the job: ${err.message}. Try again in a moment.` };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'job_failed', reason: `Easel could not finish the job: ${message}. Try again; if it keeps failing, tell an admin.` };
}
