/**
 * Typed errors of the ComfyUI client. Messages are plain words a user or operator can act on;
 * they never contain credentials (auth headers are not part of any message).
 */

export class ComfyError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Network failure, timeout, 5xx, refused connection: the host is slow, busy, restarting or gone. */
export class HostUnavailableError extends ComfyError {
  constructor(
    readonly host: string,
    reason: string,
  ) {
    super(`ComfyUI host ${host} is unavailable: ${reason}`, 'host_unavailable');
  }
}

/** One problem ComfyUI found in a workflow, in plain words. */
export interface WorkflowProblem {
  nodeId: string;
  classType?: string;
  /** The node's `_meta.title` when the workflow has one. */
  title?: string;
  input?: string;
  /** ComfyUI's error `type`, e.g. value_bigger_than_max. */
  type: string;
  /** e.g. `KSampler (node 3) input "denoise": 1.5 is above the maximum 1.0`. */
  reason: string;
}

/** POST /prompt answered 400 (or 200 with node_errors, for the outputs that were dropped). */
export class WorkflowRejectedError extends ComfyError {
  constructor(
    readonly problems: WorkflowProblem[],
    summary?: string,
  ) {
    super(summary ?? problems.map((p) => p.reason).join('; ') ?? 'workflow rejected', 'workflow_rejected');
  }
}

/** A node raised while running (execution_error). */
export class ExecutionFailedError extends ComfyError {
  constructor(
    readonly nodeId: string,
    readonly classType: string,
    readonly exceptionType: string,
    readonly exceptionMessage: string,
  ) {
    super(
      `${classType} (node ${nodeId}) failed: ${exceptionType}: ${exceptionMessage.trim()}`,
      'execution_failed',
    );
  }
}

export class PromptInterruptedError extends ComfyError {
  constructor(readonly promptId: string) {
    super(`prompt ${promptId} was interrupted`, 'interrupted');
  }
}

/** The host no longer knows the prompt (restart): it is neither queued, running nor in history. */
export class PromptLostError extends ComfyError {
  constructor(
    readonly promptId: string,
    reason: string,
  ) {
    super(`prompt ${promptId} was lost by the host: ${reason}`, 'prompt_lost');
  }
}

/** 413 from the host: the body is over its --max-upload-size. */
export class UploadTooLargeError extends ComfyError {
  constructor(readonly limitBytes?: number) {
    super(
      `the image is larger than the ComfyUI host accepts${limitBytes ? ` (${Math.round(limitBytes / 1048576)} MB)` : ''}`,
      'upload_too_large',
    );
  }
}

/** The host sent back an image with more pixels than Easel decodes (a tiny file can hold a huge picture). */
export class HostImageTooLargeError extends ComfyError {
  constructor(
    readonly host: string,
    readonly width: number | undefined,
    readonly height: number | undefined,
    readonly limitPixels: number,
  ) {
    const mp = (n: number) => `${Math.round(n / 100_000) / 10} MP`;
    const size = width && height ? `${width} × ${height} pixels (${mp(width * height)})` : `more than ${mp(limitPixels)}`;
    super(`ComfyUI host ${host} sent back an image of ${size}; Easel accepts at most ${mp(limitPixels)}`, 'host_image_too_large');
  }
}
