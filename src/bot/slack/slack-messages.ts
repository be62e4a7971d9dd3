/**
 * Block Kit for Easel's Slack messages: the request line that starts a thread, the progress message
 * (one message, edited as the job moves), and the result card with the rerun buttons.
 * Everything stays within Slack's limits (50 blocks, 3000 chars per section, 25 elements per actions block).
 */
import type { RenderedResult } from '../../app/types.ts';
import type { JobAction, ResolvedParams } from '../../commands/types.ts';
import type { JobEvent, JobRecord } from '../../jobs/types.ts';
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

function context(text: string): unknown {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: clip(text, 3000) }] };
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
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

/** One line describing where the job is. */
export function progressLine(e: JobEvent): string {
  switch (e.type) {
    case 'queued':
      return e.position > 1
        ? `:hourglass_flowing_sand: Queued, position ${e.position}${e.etaMs > 0 ? `, about ${seconds(e.etaMs)}` : ''}`
        : ':hourglass_flowing_sand: Queued, starting shortly';
    case 'uploading':
      return ':arrow_up: Sending the image to the GPU host…';
    case 'submitted':
      return `:gear: Started on ${escapeText(e.host)}${e.simulated ? ' (simulated)' : ''}`;
    case 'running': {
      const runs = e.runs > 1 ? ` (run ${e.run}/${e.runs})` : '';
      const pct = e.maxSteps > 0 ? Math.round((e.step / e.maxSteps) * 100) : 0;
      const bar = '█'.repeat(Math.round(pct / 10)).padEnd(10, '░');
      return `:art: ${bar} step ${e.step}/${e.maxSteps}${runs}`;
    }
    case 'waiting':
      return `:hourglass: Waiting: ${escapeText(e.reason)}`;
    case 'done':
      return `:white_check_mark: Done${e.job.startedAt && e.job.finishedAt ? ` in ${seconds(e.job.finishedAt - e.job.startedAt)}` : ''}, results below.`;
    case 'failed':
      return `:x: Failed: ${escapeText(e.reason)}`;
    case 'cancelled':
      return ':no_entry_sign: Cancelled.';
  }
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
