/**
 * Modal submissions: "edit" on a result (a rerun with the changed fields) and the context-menu modal
 * (a new job on the image picked from a message).
 */
import { ComponentType, type ModalSubmitInteraction } from 'discord.js';
import { UserError } from '../../commands/errors.ts';
import type { CommandName } from '../../commands/types.ts';
import { decodeCustomId } from '../shared/custom-id.ts';
import { downloadAttachment, linkExpiresAt } from './attachment-download.ts';
import { actorOf, deferPublic, followJob, replyError, type BotContext } from './bot-context.ts';
import { loadJobFor } from './button-handler.ts';
import { modalValues } from './modals.ts';

export async function handleModal(ctx: BotContext, interaction: ModalSubmitInteraction): Promise<void> {
  const parts = decodeCustomId(interaction.customId);
  if (!parts) return;
  let messageId: string | undefined;
  try {
    messageId = await deferPublic(interaction);
  } catch (err) {
    ctx.logger.warn({ err: String(err) }, 'discord: could not acknowledge a modal');
    return;
  }
  try {
    if (parts.action === 'edit') {
      const job = await loadJobFor(ctx, parts.id, 'edit', interaction);
      // Every field the modal showed; a field left as it was is not an edit.
      const edits: Record<string, unknown> = {};
      for (const [id, field] of interaction.fields.fields) {
        if (field.type !== ComponentType.TextInput) continue;
        const value = field.value.trim();
        const before = job.params[id] === undefined ? '' : String(job.params[id]);
        if (value !== before) edits[id] = value;
      }
      const next = await ctx.easel.rerun({ jobId: job.id, action: 'edit', actor: actorOf(interaction), edits });
      await followJob(ctx, interaction, next, messageId);
      return;
    }
    if (parts.action.startsWith('ctx-')) {
      const command = parts.action.slice(4) as CommandName;
      const spec = ctx.easel.commands.find((s) => s.name === command);
      if (!spec) throw new UserError('not_found', `/${command} is not available any more.`);
      // Admission before the picked image is (re)fetched and decoded.
      const actor = actorOf(interaction);
      const picked = ctx.pickedImages.take(interaction.user.id, parts.id);
      const ticket = await ctx.easel.admit({ command, actor });
      try {
        const bytes = await (picked ?? downloadPicked(ctx, parts.id));
        const { note: _note, ...options } = modalValues(interaction);
        const job = await ctx.easel.submit({ command, options, images: [bytes], actor, ticket });
        await followJob(ctx, interaction, job, messageId);
      } finally {
        ticket.release(); // a no-op once submit has used it
      }
      return;
    }
    throw new UserError('not_found', 'That form is from an older version of Easel; please start again.');
  } catch (err) {
    await replyError(ctx, interaction, err);
  }
}

/**
 * After a restart the picked image is not in memory: download it from the link the context-menu
 * interaction resolved (kept on disk). The message is not read again: without the MESSAGE_CONTENT
 * intent Discord returns other people's messages without their attachments.
 */
async function downloadPicked(ctx: BotContext, messageId: string): Promise<Buffer> {
  const image = await ctx.pickedAttachments.get(messageId);
  if (!image) throw new UserError('not_found', 'I no longer have the image you picked; please use the menu on the message again.');
  const expires = linkExpiresAt(image.url);
  if (expires !== undefined && ctx.now() >= expires) {
    throw new UserError('bad_image', `Discord's link to "${image.name}" has expired; please use the menu on the message again to pick it afresh.`);
  }
  return downloadAttachment(image, ctx.download);
}
