/**
 * Button ids on Slack result messages. An id carries only a job id, an action and (for vary/upscale)
 * which image: everything else is read back with easel.getJob, so buttons keep working after a restart.
 * Format: `easel:<action>:<jobId>[:<index>]`. Slack wants action_ids unique within a message, which the
 * index makes true for V1..V4 / U1..U4.
 */
import { JOB_ACTIONS, type JobAction } from '../../commands/types.ts';

export const ACTION_PREFIX = 'easel:';
/** Slack's limit for action_id and the limit we keep for value. */
const MAX_ACTION_ID = 255;

export interface JobButton {
  jobId: string;
  action: JobAction;
  index?: number;
}

export function encodeJobAction(button: JobButton): string {
  if (!/^[A-Za-z0-9_-]{1,120}$/.test(button.jobId)) throw new Error(`job id not usable in a button: ${button.jobId}`);
  const id = `${ACTION_PREFIX}${button.action}:${button.jobId}${button.index !== undefined ? `:${button.index}` : ''}`;
  if (id.length > MAX_ACTION_ID) throw new Error('action id too long');
  return id;
}

/** Parse an action id; undefined for anything that is not one of ours (or is malformed). */
export function decodeJobAction(id: string): JobButton | undefined {
  if (!id.startsWith(ACTION_PREFIX)) return undefined;
  const parts = id.slice(ACTION_PREFIX.length).split(':');
  if (parts.length < 2 || parts.length > 3) return undefined;
  const [action, jobId, index] = parts;
  if (!(JOB_ACTIONS as string[]).includes(action)) return undefined;
  if (!/^[A-Za-z0-9_-]{1,120}$/.test(jobId)) return undefined;
  if (index === undefined) return { jobId, action: action as JobAction };
  if (!/^[1-9][0-9]?$/.test(index)) return undefined;
  return { jobId, action: action as JobAction, index: Number(index) };
}

/** Regex Bolt's app.action() matches our buttons with. */
export const JOB_ACTION_PATTERN = /^easel:[a-z]+:[A-Za-z0-9_-]+(:[0-9]+)?$/;
