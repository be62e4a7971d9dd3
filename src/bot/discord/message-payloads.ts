/**
 * The Discord message bodies Easel sends: the live status message (with a Cancel button and the
 * newest preview), the result (gallery + single images, parameter summary, rerun buttons) and plain
 * final notices. Bodies are REST JSON plus raw files, so they can go through an interaction webhook
 * or a channel route alike.
 */
import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponent, type RawFile } from 'discord.js';
import type { RenderedResult } from '../../app/types.ts';
import type { JobAction } from '../../commands/types.ts';
import type { JobRecord } from '../../jobs/types.ts';
import { jobActionId } from '../shared/custom-id.ts';
import { jobTitle, truncateText } from '../shared/job-text.ts';

export const MAX_CONTENT = 2000;
export const MAX_ROWS = 5;
export const MAX_BUTTONS_PER_ROW = 5;
export const MAX_FILES = 10;
export const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;

export interface OutgoingMessage {
  body: Record<string, unknown>;
  files: RawFile[];
}

type Row = APIActionRowComponent<APIButtonComponent>;

const STYLE: Record<JobAction, ButtonStyle> = {
  reroll: ButtonStyle.Secondary,
  subtle: ButtonStyle.Secondary,
  strong: ButtonStyle.Secondary,
  ladder: ButtonStyle.Secondary,
  edit: ButtonStyle.Secondary,
  vary: ButtonStyle.Primary,
  upscale: ButtonStyle.Primary,
  delete: ButtonStyle.Danger,
  cancel: ButtonStyle.Danger,
};

function button(jobId: string, a: { action: JobAction; index?: number; label: string }): APIButtonComponent {
  return {
    type: ComponentType.Button,
    style: STYLE[a.action] as ButtonStyle.Primary,
    label: truncateText(a.label, 80),
    custom_id: jobActionId(jobId, a.action, a.index),
  };
}

/**
 * Lay buttons out in at most 5 rows of 5: rerun actions, then V1-V4, then U1-U4, then the rest
 * (edit, delete). Whatever does not fit is left out rather than breaking the message.
 */
export function buttonRows(jobId: string, actions: RenderedResult['actions']): Row[] {
  const groups: RenderedResult['actions'][] = [[], [], [], []];
  for (const a of actions) {
    if (a.action === 'vary') groups[1].push(a);
    else if (a.action === 'upscale') groups[2].push(a);
    else if (a.action === 'delete' || a.action === 'edit' || a.action === 'cancel') groups[3].push(a);
    else groups[0].push(a);
  }
  const rows: Row[] = [];
  for (const g of groups) {
    for (let i = 0; i < g.length; i += MAX_BUTTONS_PER_ROW) {
      if (rows.length === MAX_ROWS) return rows;
      rows.push({ type: ComponentType.ActionRow, components: g.slice(i, i + MAX_BUTTONS_PER_ROW).map((a) => button(jobId, a)) });
    }
  }
  return rows;
}

function header(job: JobRecord): string {
  return `**${jobTitle(job)}** for <@${job.actor.userId}>`;
}

function content(lines: string[]): string {
  return truncateText(lines.join('\n'), MAX_CONTENT);
}

function extFor(mime: string): string {
  if (mime === 'image/jpeg') return 'jpg';
  if (mime === 'image/webp') return 'webp';
  if (mime === 'image/gif') return 'gif';
  return 'png';
}

/** The live status message: what is happening, a Cancel button, and the newest preview if any. */
export function statusMessage(job: JobRecord, lines: string[], preview?: { image: Buffer; mime: string }): OutgoingMessage {
  const files: RawFile[] = [];
  const attachments: Array<Record<string, unknown>> = [];
  if (preview) {
    const name = `${job.spoiler ? 'SPOILER_' : ''}preview.${extFor(preview.mime)}`;
    files.push({ name, data: preview.image, contentType: preview.mime });
    attachments.push({ id: 0, filename: name, description: 'Live preview' });
  }
  return {
    body: {
      content: content([header(job), ...lines]),
      components: [
        { type: ComponentType.ActionRow, components: [button(job.id, { action: 'cancel', label: 'Cancel' })] },
      ],
      // Without a new preview, leave the attachments alone (the last preview stays).
      ...(preview ? { attachments } : {}),
      allowed_mentions: { parse: [] },
    },
    files,
  };
}

/** A final notice without buttons or files (cancelled, failed, "result posted below"). */
export function noticeMessage(text: string): OutgoingMessage {
  return {
    body: { content: truncateText(text, MAX_CONTENT), components: [], attachments: [], allowed_mentions: { parse: [] } },
    files: [],
  };
}

/**
 * The result: gallery first, then single images, the parameter summary and the rerun buttons.
 * `withoutFiles` leaves the images out (a channel where they cannot be attached); `extraLines` go
 * right under the header, so truncation never cuts them.
 */
export function resultMessage(
  job: JobRecord,
  rendered: RenderedResult,
  opts: { mention?: boolean; extraLines?: string[]; withoutFiles?: boolean } = {},
): OutgoingMessage {
  const files: RawFile[] = [];
  const attachments: Array<Record<string, unknown>> = [];
  (opts.withoutFiles ? [] : rendered.files.slice(0, MAX_FILES)).forEach((f, i) => {
    const name = job.spoiler && !f.name.startsWith('SPOILER_') ? `SPOILER_${f.name}` : f.name;
    files.push({ name, data: f.data, contentType: f.mime });
    attachments.push({ id: i, filename: name, description: truncateText(f.description, 1024) });
  });
  return {
    body: {
      content: content([header(job), ...(opts.extraLines ?? []), ...rendered.summary]),
      components: buttonRows(job.id, rendered.actions),
      attachments,
      allowed_mentions: opts.mention ? { users: [job.actor.userId] } : { parse: [] },
    },
    files,
  };
}
