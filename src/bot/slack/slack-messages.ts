/**
 * Block Kit for Easel's Slack messages: the request line that starts a thread, the progress message
 * (one message, edited as the job moves), and the result card with the rerun buttons.
 * Everything stays within Slack's limits (50 blocks, 3000 chars per section, 25 elements per actions block).
 */
import type { RenderedResult } from '../../app/types.ts';
import type { JobAction, ResolvedParams } from '../../commands/types.ts';
import type { JobEvent, JobRecord } from '../../jobs/types.ts';
import { describeProgress, formatDuration } from '../shared/job-text.ts';
import { encodeJobAction } from './action-id.ts';

export interface SlackMessage {
  text: string;
  blocks: unknown[];
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function section(text: string): unknown {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text, 3000) } };
}

/** Short words for the options a user typed, e.g. `oil painting · denoise 0.6`. */
export function describeOptions(options: Record<string, unknown>): string {
  return Object.entries(options)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => (k === 'prompt' || k === 'style' ? String(v) : `${k} ${String(v)}`))
    .join(' · ');
}

/** The first message of a new thread (requests that did not come from a thread). */
export function requestMessage(userId: string, command: string, params: ResolvedParams | Record<string, unknown>): SlackMessage {
  const words = describeOptions(params);
  const text = `<@${userId}> asked for /${command}${words ? `: ${escapeText(words)}` : ''}`;
  return { text: clip(text, 3000), blocks: [section(text)] };
}

const EMOJI: Record<JobEvent['type'], string> = {
  queued: ':hourglass_flowing_sand:',
  uploading: ':arrow_up:',
  submitted: ':gear:',
  running: ':art:',
  waiting: ':hourglass:',
  done: ':white_check_mark:',
  failed: ':x:',
  cancelled: ':no_entry_sign:',
};

/** Where the job is, in the shared words (src/bot/shared/job-text.ts) with a Slack emoji in front. */
export function progressLine(e: JobEvent): string {
  if (e.type === 'done') {
    const took = e.job.startedAt && e.job.finishedAt ? ` in ${formatDuration(e.job.finishedAt - e.job.startedAt)}` : '';
    return `${EMOJI.done} Done${took}, results below.`;
  }
  return `${EMOJI[e.type]} ${describeProgress(e).map(escapeText).join(' · ')}`;
}

function jobTitle(job: JobRecord): string {
  const how = job.action && job.parentId ? ` (${job.action}${job.sourceIndex ? ` of image ${job.sourceIndex}` : ''})` : '';
  return `*/${job.command}*${how} for <@${job.actor.userId}>`;
}

function button(job: JobRecord, action: JobAction, label: string, index?: number, style?: 'primary' | 'danger'): unknown {
  const id = encodeJobAction({ jobId: job.id, action, index });
  return {
    type: 'button',
    action_id: id,
    value: id,
    text: { type: 'plain_text', text: clip(label, 75), emoji: true },
    ...(style ? { style } : {}),
  };
}

/** The progress message: a line of status, plus Cancel while the job can still be stopped. */
export function progressMessage(job: JobRecord, e: JobEvent): SlackMessage {
  const line = progressLine(e);
  const blocks: unknown[] = [section(`${jobTitle(job)}\n${line}`)];
  const active = e.type !== 'done' && e.type !== 'failed' && e.type !== 'cancelled';
  if (active) blocks.push({ type: 'actions', block_id: 'progress', elements: [button(job, 'cancel', 'Cancel', undefined, 'danger')] });
  // A failed job can be tried again as it was, or with other settings.
  if (e.type === 'failed') blocks.push({ type: 'actions', block_id: 'failed', elements: [button(job, 'reroll', 'Retry', undefined, 'primary'), button(job, 'edit', 'Edit')] });
  return { text: clip(line, 3000), blocks };
}

/** The result card posted after the images: parameters and the buttons (rows of at most 5). */
export function resultMessage(job: JobRecord, rendered: RenderedResult): SlackMessage {
  const blocks: unknown[] = [section(jobTitle(job))];
  if (rendered.summary.length > 0) blocks.push(section(rendered.summary.map(escapeText).join('\n')));
  const rows = new Map<string, unknown[]>();
  for (const a of rendered.actions) {
    if (a.action === 'cancel') continue;
    const row = a.action === 'vary' || a.action === 'upscale' ? a.action : a.action === 'delete' ? 'delete' : 'rerun';
    const list = rows.get(row) ?? [];
    list.push(button(job, a.action, a.label, a.index, a.action === 'delete' ? 'danger' : undefined));
    rows.set(row, list);
  }
  for (const [row, elements] of rows) {
    for (let i = 0; i < elements.length; i += 5) {
      blocks.push({ type: 'actions', block_id: `${row}${i ? `-${i}` : ''}`, elements: elements.slice(i, i + 5) });
    }
  }
  const text = `/${job.command} result for <@${job.actor.userId}>\n${rendered.summary.join('\n')}`;
  return { text: clip(text, 3000), blocks: blocks.slice(0, 50) };
}

export function deletedMessage(job: JobRecord, byUserId: string): SlackMessage {
  const text = `:wastebasket: /${job.command} result deleted by <@${byUserId}>.`;
  return { text, blocks: [section(text)] };
}

export function errorText(message: string): string {
  return `:warning: ${message}`;
}
