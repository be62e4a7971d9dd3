/**
 * Ids carried by buttons and modals: `easel:<action>:<id>[:<index>]`. They hold only a job id (or,
 * for the context-menu modal, the target message id), an action and an optional 1-based index; every
 * other fact is read back from the job store, so a button still works after a restart or when another
 * instance of the bot receives the click. Discord caps custom_id at 100 characters.
 */
import { JOB_ACTIONS, type JobAction } from '../../commands/types.ts';

export const CUSTOM_ID_PREFIX = 'easel';
export const MAX_CUSTOM_ID_LENGTH = 100;

export interface CustomIdParts {
  action: string;
  id: string;
  index?: number;
}

const ACTION_RE = /^[a-z][a-z0-9-]{0,23}$/;
const ID_RE = /^[A-Za-z0-9_-]{1,80}$/;

export function encodeCustomId(parts: CustomIdParts, maxLength = MAX_CUSTOM_ID_LENGTH): string {
  if (!ACTION_RE.test(parts.action)) throw new Error(`action not usable in a custom id: ${parts.action}`);
  if (!ID_RE.test(parts.id)) throw new Error(`id not usable in a custom id: ${parts.id}`);
  if (parts.index !== undefined && !(Number.isInteger(parts.index) && parts.index >= 1 && parts.index <= 99)) {
    throw new Error(`index not usable in a custom id: ${parts.index}`);
  }
  const text = `${CUSTOM_ID_PREFIX}:${parts.action}:${parts.id}${parts.index !== undefined ? `:${parts.index}` : ''}`;
  if (text.length > maxLength) throw new Error(`custom id longer than ${maxLength} characters`);
  return text;
}

/** Parse a custom id; undefined for anything that is not ours or is malformed. */
export function decodeCustomId(text: string): CustomIdParts | undefined {
  if (text.length > MAX_CUSTOM_ID_LENGTH) return undefined;
  const parts = text.split(':');
  if (parts.length < 3 || parts.length > 4 || parts[0] !== CUSTOM_ID_PREFIX) return undefined;
  const [, action, id, index] = parts;
  if (!ACTION_RE.test(action) || !ID_RE.test(id)) return undefined;
  if (index === undefined) return { action, id };
  if (!/^[1-9][0-9]?$/.test(index)) return undefined;
  return { action, id, index: Number(index) };
}

export function isJobAction(action: string): action is JobAction {
  return (JOB_ACTIONS as string[]).includes(action);
}

/** Button id of a job action: `easel:vary:<jobId>:2`. */
export function jobActionId(jobId: string, action: JobAction, index?: number): string {
  return encodeCustomId({ action, id: jobId, index });
}

/** The job action a custom id stands for, or undefined when it is not a job button. */
export function decodeJobActionId(text: string): { jobId: string; action: JobAction; index?: number } | undefined {
  const parts = decodeCustomId(text);
  if (!parts || !isJobAction(parts.action)) return undefined;
  return { jobId: parts.id, action: parts.action, index: parts.index };
}
