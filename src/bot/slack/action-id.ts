/**
 * Button ids on Slack result messages, in the shared format (src/bot/shared/custom-id.ts):
 * `easel:<action>:<jobId>[:<index>]`. An id carries only a job id, an action and (for vary/upscale)
 * which image; everything else is read back with easel.getJob, so buttons keep working after a
 * restart. The index also keeps action_ids unique within a message (V1..V4, U1..U4).
 */
import type { JobAction } from '../../commands/types.ts';
import { decodeJobActionId, jobActionId } from '../shared/custom-id.ts';

export interface JobButton {
  jobId: string;
  action: JobAction;
  index?: number;
}

export function encodeJobAction(button: JobButton): string {
  return jobActionId(button.jobId, button.action, button.index);
}

/** Parse an action id; undefined for anything that is not one of our job buttons (or is malformed). */
export function decodeJobAction(id: string): JobButton | undefined {
  const b = decodeJobActionId(id);
  return b ? { jobId: b.jobId, action: b.action, ...(b.index !== undefined ? { index: b.index } : {}) } : undefined;
}

/** What Bolt's app.action() matches our job buttons with (decodeJobAction then checks the details). */
export const JOB_ACTION_PATTERN = /^easel:[a-z]+:[A-Za-z0-9_-]+(:[0-9]+)?$/;
